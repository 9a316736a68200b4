"""Scenarios: what-if assumptions as frozen dataclasses, loaded from TOML files.

A scenario file may ``extend`` another (a path relative to itself): the parent is loaded
first and the child's tables are merged into it key by key; arrays and values are
replaced, not appended. Every key is checked before any work starts; an unknown key, a
wrong type or an impossible value raises :class:`~capacity.errors.InputError` naming the
file and the key. The keys are documented in ``docs/scenarios.md``.

Year tables
-----------
Many assumptions take either one number or a table of years, e.g.
``multiplier = { 2020 = 1.0, 2024 = 0.65, 2030 = 0.6 }``. Between the years given the value
is interpolated linearly; before the first and after the last it is held constant.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.core.step import MigrationTiming
from capacity.errors import InputError

STAGE_PARAMETERS = ("enrolment_rate", "migrant_share", "local_public_share", "migrant_public_share")

from capacity.distributions import (  # noqa: E402  (re-exported: part of the scenario API)
    Distribution,
    YearValue,
    as_year_value,
    year_values,
)

# --- the scenario ---------------------------------------------------------------------

@dataclass(frozen=True)
class Fertility:
    """Fertility relative to the district's base-year schedule.

    ``multiplier`` scales every age-specific rate (a number or a year table); ``tfr``
    gives total fertility by year instead (converted to a multiplier of the base TFR).
    ``uncertainty`` multiplies the whole trajectory by one draw per replicate.
    """

    multiplier: YearValue = 1.0
    tfr: YearValue | None = None
    uncertainty: Distribution | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "multiplier", as_year_value(self.multiplier))
        if self.tfr is not None:
            object.__setattr__(self, "tfr", as_year_value(self.tfr))


@dataclass(frozen=True)
class Migration:
    """Net migration relative to the district's ``migration.csv``.

    ``scale`` (number or year table) multiplies all of it; ``scale_by_area`` and
    ``scale_by_age`` (keys ``"a-b"``, inclusive ages) multiply parts of it;
    ``uncertainty`` multiplies the whole by one draw per replicate; ``timing`` is the
    engine's migration convention (:attr:`capacity.core.cohort.CohortInputs.migration_timing`):
    ``"end"`` (default, ages at the end of the step, as in ``migration.csv``) or ``"phg"``
    (ages during the step, half at the start and half at the end: Preston, Heuveline &
    Guillot and the UN's World Population Prospects).
    """

    scale: YearValue = 1.0
    scale_by_area: tuple[tuple[str, float], ...] = ()
    scale_by_age: tuple[tuple[int, int, float], ...] = ()
    uncertainty: Distribution | None = None
    timing: MigrationTiming = "end"

    def __post_init__(self) -> None:
        object.__setattr__(self, "scale", as_year_value(self.scale))
        if isinstance(self.scale_by_area, Mapping):
            object.__setattr__(self, "scale_by_area", tuple(sorted(self.scale_by_area.items())))


@dataclass(frozen=True)
class Mortality:
    """``death_rate_multiplier`` scales every probability of dying (1 = as the life table)."""

    death_rate_multiplier: float = 1.0


@dataclass(frozen=True)
class ProjectChanges:
    """Changes to the district's construction projects.

    ``opening_year`` replaces opening years; ``delay`` adds years (key ``"*"`` for every
    project); ``cancel`` drops projects; ``phases`` opens a project in shares over
    consecutive years; ``add`` adds project rows (columns of ``projects.csv``; ``places``
    may be negative for a closure, a conversion is two rows of one project);
    ``delay_uncertainty`` and ``cancel_probability`` make delays and cancellations
    random (key ``"*"`` for every project).
    """

    opening_year: tuple[tuple[str, int], ...] = ()
    delay: tuple[tuple[str, int], ...] = ()
    cancel: tuple[str, ...] = ()
    phases: tuple[tuple[str, tuple[float, ...]], ...] = ()
    add: tuple[tuple[tuple[str, Any], ...], ...] = ()
    delay_uncertainty: tuple[tuple[str, Distribution], ...] = ()
    cancel_probability: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Housing:
    """New housing and the children it brings.

    ``developments``: (area_code, completion year, dwellings). ``children_per_dwelling``:
    per age band ``"a-b"``, children per dwelling (per single year of age in the band)
    by years since completion (a list; the last value holds afterwards). ``uncertainty``
    multiplies the yield by one draw per replicate.
    """

    developments: tuple[tuple[str, int, float], ...] = ()
    children_per_dwelling: tuple[tuple[int, int, tuple[float, ...]], ...] = ()
    uncertainty: Distribution | None = None


@dataclass(frozen=True)
class Scenario:
    """A complete set of assumptions for one run.

    Parameters
    ----------
    name : str
        Short name, used as the ``scenario`` column of every output.
    description : str
        What it represents.
    horizon : int
        Last school year projected.
    fertility, migration, mortality, projects, housing
        See the classes of the same names.
    enrolment : tuple of (stage, parameter, value)
        Overrides of ``stages.csv`` parameters, numbers or year tables.
    method : str or tuple of (stage, str)
        How the children are projected: ``"cohort-component"`` (default), the engine with the
        district's rates; or a forecasting method's spec (``"progression:geometric:5"``,
        :func:`capacity.forecast.methods.parse_method`) fitted on the district's history, for
        every stage, or per stage as ``(stage, spec)`` pairs (stages not named: the engine).
        See :mod:`capacity.forecast.driver`.
    demand_from_plan : bool
        If true, demand is not projected: it is the base-year places plus the plan's stated
        needs, reached linearly by the plan's target year and held after ("the plan as
        written").
    travel_limit_km : float or None
        If set, also solve the transport problem with this travel limit.
    source : str
        File the scenario was loaded from (empty when built in code).
    """

    name: str = "baseline"
    description: str = ""
    horizon: int = 2035
    fertility: Fertility = field(default_factory=Fertility)
    migration: Migration = field(default_factory=Migration)
    mortality: Mortality = field(default_factory=Mortality)
    enrolment: tuple[tuple[str, str, YearValue], ...] = ()
    projects: ProjectChanges = field(default_factory=ProjectChanges)
    housing: Housing = field(default_factory=Housing)
    method: str | tuple[tuple[str, str], ...] = "cohort-component"
    demand_from_plan: bool = False
    travel_limit_km: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.method, Mapping):  # a table of stages, as written
            object.__setattr__(self, "method", tuple((str(k), str(v)) for k, v in self.method.items()))

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (``dataclasses.replace``).

        The copy no longer stands for the file it was loaded from, so ``source`` is cleared
        unless given: outputs then do not attribute it to (or hash) that file.
        """
        changes.setdefault("source", "")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for ``meta.json``).

        ``source`` is shown as :func:`capacity.resources.display_path` gives it, so that a
        shipped scenario is recorded by its place in the package, not on this machine.
        """
        from capacity.resources import display_path

        plain: dict[str, Any] = _plain(dataclasses.asdict(self))
        if not isinstance(self.method, str):
            plain["method"] = dict(self.method)
        if self.source:
            plain["source"] = display_path(self.source)
        return plain

    @property
    def is_random(self) -> bool:
        """True if any assumption is a non-degenerate distribution."""
        dists = [self.fertility.uncertainty, self.migration.uncertainty, self.housing.uncertainty]
        dists += [d for _, d in self.projects.delay_uncertainty]
        return any(d is not None and not d.is_degenerate for d in dists) or any(
            0 < p < 1 for _, p in self.projects.cancel_probability
        )


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# --- loading --------------------------------------------------------------------------

def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_toml(path: Path, shown: str, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """One scenario file merged over the files it extends, each file's own keys checked.

    ``path`` is resolved; ``shown`` is the file as the user named it (for messages). A
    problem in a parent is reported against the parent, a bad ``extend`` against the file
    and key that refer to it.
    """
    if path in chain:
        raise InputError.one(shown, "key extend", "", f"expected no cycle, found {' -> '.join(map(str, chain + (path,)))}")
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InputError.one(shown, "", "", "expected a scenario file, found none") from None
    except UnicodeDecodeError as exc:
        raise InputError.one(shown, f"byte {exc.start}", "", "expected UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError.one(shown, "", "", f"expected valid TOML: {exc}") from None
    parent = data.pop("extend", None)
    from capacity.scenario_file import validate_document

    validate_document(data, shown)  # this file's own keys, blamed on this file
    if parent is None:
        return data
    if not isinstance(parent, str) or not parent.strip():
        raise InputError.one(shown, "key extend", "", f"expected the name of a scenario file, found {parent!r}")
    target = _extended(path, shown, parent)
    if target.is_relative_to(path.parent):
        parent_shown = os.path.normpath(os.path.join(os.path.dirname(shown), parent))
    else:
        from capacity.resources import display_path

        parent_shown = display_path(target)
    base = _read_toml(target, parent_shown, chain + (path,))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, data)


def _extended(path: Path, shown: str, parent: str) -> Path:
    """The file ``extend = parent`` names: inside the folder of ``path``, or a shipped scenario."""
    given = Path(parent)
    target = (path.parent / given).resolve()
    if given.is_absolute() or not target.is_relative_to(path.parent):
        raise InputError.one(shown, "key extend", "",
                             f"expected a scenario file in the folder of {os.path.basename(shown)} or below it "
                             f"(or a shipped scenario's name), found '{parent}'")
    if target.is_file():
        return target
    if len(given.parts) == 1:
        shipped = resolve_scenario(parent)
        if shipped.is_file():
            return shipped.resolve()
    raise InputError.one(shown, "key extend", "",
                         f"expected an existing scenario file (or a shipped scenario's name), found '{parent}'")


def resolve_scenario(path: str | Path) -> Path:
    """The file a scenario argument names.

    An existing file is taken as it is; a bare name without a folder (``low_fertility``,
    ``baseline.toml``) that is not a file in the current folder names a scenario shipped
    with the package (:func:`capacity.resources.scenario_names`).

    Parameters
    ----------
    path : str or Path
        A scenario file or the name of a shipped scenario.

    Returns
    -------
    Path
        The file to read (it may not exist; :func:`load_scenario` reports that).
    """
    path = Path(path)
    if path.exists() or len(path.parts) != 1:
        return path
    from capacity.resources import scenario_names, scenario_path

    if path.name.removesuffix(".toml") in scenario_names():
        return scenario_path(path.name)
    return path


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (following ``extend``).

    Parameters
    ----------
    path : str or Path
        A scenario TOML file, or the name of a shipped scenario (see
        :func:`resolve_scenario`).

    Returns
    -------
    Scenario
    """
    path = resolve_scenario(path)
    data = _read_toml(path.resolve(), str(path))
    return scenario_from_dict(data, file=str(path), default_name=path.stem)


def scenario_from_dict(data: Mapping[str, Any], file: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Build and validate a :class:`Scenario` from a parsed TOML-like mapping.

    Parameters
    ----------
    data : mapping
        The document, ``extend`` already resolved (see :func:`load_scenario`).
    file : str
        The file it came from, named in errors and recorded as ``source``.
    default_name : str
        The name if the document gives none.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Naming the file and the key (see :mod:`capacity.scenario_file`).
    """
    from capacity import scenario_file as sf

    doc = sf.validate_document(dict(data), file)

    def fail(key: str, expected: str) -> InputError:
        return InputError.one(file, f"key {key}", "", f"expected {expected}")

    f, m, p, h = doc.fertility, doc.migration, doc.projects, doc.housing
    added = []
    for i, row in enumerate(p.add):
        if row.places == 0:
            raise fail(f"projects.add[{i}].places", "a non-zero number of places, found 0")
        values = row.model_dump()
        values["name_en"] = row.name_en if row.name_en is not None else row.project_id
        values["places"] = float(row.places)
        added.append(tuple(values.items()))
    if h.developments and not h.children_per_dwelling:
        raise fail("housing.children_per_dwelling", "a yield table when developments are given")
    return Scenario(
        name=doc.name if doc.name is not None else default_name,
        description=doc.description,
        horizon=doc.horizon,
        fertility=Fertility(
            multiplier=sf.year_value(f.multiplier),
            tfr=None if f.tfr is None else sf.year_value(f.tfr),
            uncertainty=None if f.uncertainty is None else sf.distribution(f.uncertainty),
        ),
        migration=Migration(
            scale=sf.year_value(m.scale),
            scale_by_area=tuple(sorted((k, float(v)) for k, v in m.scale_by_area.items())),
            scale_by_age=tuple((*sf.band(k), float(v)) for k, v in m.scale_by_age.items()),
            uncertainty=None if m.uncertainty is None else sf.distribution(m.uncertainty),
            timing=m.timing,
        ),
        mortality=Mortality(float(doc.mortality.death_rate_multiplier)),
        enrolment=tuple(
            (stage, name, sf.year_value(value))
            for stage, params in doc.enrolment.items()
            for name, value in params.model_dump(exclude_none=True).items()
        ),
        projects=ProjectChanges(
            opening_year=tuple(p.opening_year.items()),
            delay=tuple(p.delay.items()),
            cancel=tuple(p.cancel),
            phases=tuple((k, tuple(float(x) for x in v)) for k, v in p.phases.items()),
            add=tuple(added),
            delay_uncertainty=tuple((k, sf.distribution(v)) for k, v in p.delay_uncertainty.items()),
            cancel_probability=tuple((k, float(v)) for k, v in p.cancel_probability.items()),
        ),
        method=doc.method if isinstance(doc.method, str) else tuple(doc.method.items()),
        housing=Housing(
            developments=tuple((d.area_code, d.year, float(d.dwellings)) for d in h.developments),
            children_per_dwelling=tuple((*sf.band(k), tuple(float(x) for x in v)) for k, v in h.children_per_dwelling.items()),
            uncertainty=None if h.uncertainty is None else sf.distribution(h.uncertainty),
        ),
        demand_from_plan=doc.demand.source == "plan",
        travel_limit_km=doc.gap.travel_limit_km,
        source=file if file != "<scenario>" else "",
    )


__all__ = [
    "Distribution", "YearValue", "as_year_value", "year_values", "STAGE_PARAMETERS",
    "Fertility", "Migration", "Mortality", "ProjectChanges", "Housing", "Scenario",
    "load_scenario", "scenario_from_dict",
]
