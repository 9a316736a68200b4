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
import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from capacity.errors import InputError

STAGE_PARAMETERS = ("enrolment_rate", "migrant_share", "local_public_share", "migrant_public_share")

from capacity.distributions import (  # noqa: E402  (re-exported: part of the scenario API)
    _DIST_PARAMS,
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
    ``uncertainty`` multiplies the whole by one draw per replicate.
    """

    scale: YearValue = 1.0
    scale_by_area: tuple[tuple[str, float], ...] = ()
    scale_by_age: tuple[tuple[int, int, float], ...] = ()
    uncertainty: Distribution | None = None

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
    demand_from_plan: bool = False
    travel_limit_km: float | None = None
    source: str = ""

    def replace(self, **changes: Any) -> Scenario:
        """A copy with some fields changed (``dataclasses.replace``).

        The copy no longer stands for the file it was loaded from, so ``source`` is cleared
        unless given: outputs then do not attribute it to (or hash) that file.
        """
        changes.setdefault("source", "")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for ``meta.json``)."""
        return _plain(dataclasses.asdict(self))

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

class _Reader:
    """Walks a merged TOML document, checking types and ranges, naming the key on error."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, expected: str, found: Any = None) -> InputError:
        tail = "" if found is None else f", found {found!r}"
        return InputError.one(self.file, f"key {key}", "", f"expected {expected}{tail}")

    def table(self, data: Any, key: str, allowed: tuple[str, ...]) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, "a table", data)
        for k in data:
            if k not in allowed:
                raise self.fail(f"{key}.{k}" if key else k, f"one of the keys {', '.join(allowed)}", k)
        return data

    def number(self, value: Any, key: str, low: float = -math.inf, high: float = math.inf) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.fail(key, "a number", value)
        if not low <= value <= high:
            raise self.fail(key, f"a number in [{low:g}, {high:g}]", value)
        return float(value)

    def integer(self, value: Any, key: str, low: int, high: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(key, "a whole number", value)
        if not low <= value <= high:
            raise self.fail(key, f"a whole number in {low}..{high}", value)
        return int(value)

    def text(self, value: Any, key: str) -> str:
        if not isinstance(value, str):
            raise self.fail(key, "a text string", value)
        return value

    def year_value(self, value: Any, key: str, low: float, high: float) -> YearValue:
        if isinstance(value, dict):
            if not value:
                raise self.fail(key, "a number or a non-empty table of years")
            out = []
            for y, v in value.items():
                if not (isinstance(y, str) and y.isdigit() and 1900 <= int(y) <= 2200):
                    raise self.fail(f"{key}.{y}", "a year (1900-2200) as key", y)
                out.append((int(y), self.number(v, f"{key}.{y}", low, high)))
            return tuple(sorted(out))
        return self.number(value, key, low, high)

    def distribution(self, value: Any, key: str) -> Distribution:
        if not isinstance(value, dict) or "dist" not in value:
            raise self.fail(key, 'a table like { dist = "normal", mean = 1, sd = 0.1 }', value)
        kind = value["dist"]
        if kind not in _DIST_PARAMS:
            raise self.fail(f"{key}.dist", f"one of {', '.join(_DIST_PARAMS)}", kind)
        names = _DIST_PARAMS[kind]
        self.table(value, key, ("dist",) + names)
        params = []
        for n in names:
            if n not in value:
                raise self.fail(f"{key}.{n}", f"a number (parameter '{n}' of {kind})")
            params.append((n, self.number(value[n], f"{key}.{n}")))
        p = dict(params)
        if kind == "normal" and p["sd"] < 0 or kind == "lognormal" and p["sigma"] < 0:
            raise self.fail(key, "a non-negative spread", value)
        if kind == "lognormal" and p["median"] <= 0:
            raise self.fail(f"{key}.median", "a positive number", p["median"])
        if kind in ("uniform", "triangular") and p["low"] > p["high"]:
            raise self.fail(key, "low <= high", value)
        if kind == "triangular" and not p["low"] <= p["mode"] <= p["high"]:
            raise self.fail(f"{key}.mode", "low <= mode <= high", p["mode"])
        if kind == "poisson" and p["mean"] < 0:
            raise self.fail(f"{key}.mean", "a non-negative number", p["mean"])
        return Distribution(kind, tuple(params))

    def age_band(self, band: str, key: str) -> tuple[int, int]:
        parts = band.split("-")
        if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or int(parts[0]) > int(parts[1]):
            raise self.fail(key, 'an age band like "0-17"', band)
        return int(parts[0]), int(parts[1])


_TOP = ("extend", "name", "description", "horizon", "fertility", "migration", "mortality",
        "enrolment", "projects", "housing", "demand", "gap")


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_toml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    shown = str(path)
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
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise InputError.one(shown, "key extend", "", f"expected a file name, found {parent!r}")
    target = path.parent / parent
    if not target.exists() and len(Path(parent).parts) == 1:
        target = resolve_scenario(parent)  # a shipped scenario, by name
    base = _read_toml(target.resolve(), chain + (path,))
    base.pop("name", None)
    base.pop("description", None)
    return _merge(base, data)


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
    data = _read_toml(path.resolve())
    return scenario_from_dict(data, file=str(path), default_name=path.stem)


def scenario_from_dict(data: Mapping[str, Any], file: str = "<scenario>", default_name: str = "scenario") -> Scenario:
    """Build and validate a :class:`Scenario` from a parsed TOML-like mapping."""
    r = _Reader(file)
    d = r.table(dict(data), "", _TOP)
    kw: dict[str, Any] = {"source": file if file != "<scenario>" else ""}
    kw["name"] = r.text(d.get("name", default_name), "name")
    kw["description"] = r.text(d.get("description", ""), "description")
    kw["horizon"] = r.integer(d.get("horizon", 2035), "horizon", 2000, 2200)

    if "fertility" in d:
        f = r.table(d["fertility"], "fertility", ("multiplier", "tfr", "uncertainty"))
        kw["fertility"] = Fertility(
            multiplier=r.year_value(f.get("multiplier", 1.0), "fertility.multiplier", 0, 10),
            tfr=r.year_value(f["tfr"], "fertility.tfr", 0, 10) if "tfr" in f else None,
            uncertainty=r.distribution(f["uncertainty"], "fertility.uncertainty") if "uncertainty" in f else None,
        )
    if "migration" in d:
        m = r.table(d["migration"], "migration", ("scale", "scale_by_area", "scale_by_age", "uncertainty"))
        by_area = r.table(m.get("scale_by_area", {}), "migration.scale_by_area", tuple(m.get("scale_by_area", {})))
        by_age = m.get("scale_by_age", {})
        r.table(by_age, "migration.scale_by_age", tuple(by_age) if isinstance(by_age, dict) else ())
        kw["migration"] = Migration(
            scale=r.year_value(m.get("scale", 1.0), "migration.scale", -10, 10),
            scale_by_area=tuple((str(k), r.number(v, f"migration.scale_by_area.{k}", -10, 10))
                                for k, v in sorted(by_area.items())),
            scale_by_age=tuple((*r.age_band(k, f"migration.scale_by_age.{k}"),
                                r.number(v, f"migration.scale_by_age.{k}", -10, 10)) for k, v in by_age.items()),
            uncertainty=r.distribution(m["uncertainty"], "migration.uncertainty") if "uncertainty" in m else None,
        )
    if "mortality" in d:
        mo = r.table(d["mortality"], "mortality", ("death_rate_multiplier",))
        kw["mortality"] = Mortality(r.number(mo.get("death_rate_multiplier", 1.0),
                                             "mortality.death_rate_multiplier", 0, 10))
    if "enrolment" in d:
        en = d["enrolment"]
        if not isinstance(en, dict):
            raise r.fail("enrolment", "a table of stages", en)
        rows = []
        for stage, params in en.items():
            p = r.table(params, f"enrolment.{stage}", STAGE_PARAMETERS)
            for name, value in p.items():
                high = 2.0 if name == "enrolment_rate" else 1.0
                rows.append((stage, name, r.year_value(value, f"enrolment.{stage}.{name}", 0, high)))
        kw["enrolment"] = tuple(rows)
    if "projects" in d:
        kw["projects"] = _projects(r, d["projects"])
    if "housing" in d:
        kw["housing"] = _housing(r, d["housing"])
    if "demand" in d:
        dm = r.table(d["demand"], "demand", ("source",))
        src = dm.get("source", "projection")
        if src not in ("projection", "plan"):
            raise r.fail("demand.source", '"projection" or "plan"', src)
        kw["demand_from_plan"] = src == "plan"
    if "gap" in d:
        g = r.table(d["gap"], "gap", ("travel_limit_km",))
        if "travel_limit_km" in g:
            kw["travel_limit_km"] = r.number(g["travel_limit_km"], "gap.travel_limit_km", 0, 100)
    return Scenario(**kw)


_PROJECT_ADD_KEYS = ("project_id", "name_zh", "name_en", "stage", "places", "area_code", "kind",
                     "ownership", "opening_year", "opening_year_basis")


def _projects(r: _Reader, data: Any) -> ProjectChanges:
    p = r.table(data, "projects", ("opening_year", "delay", "cancel", "phases", "add",
                                   "delay_uncertainty", "cancel_probability"))
    kw: dict[str, Any] = {}
    oy = r.table(p.get("opening_year", {}), "projects.opening_year", tuple(p.get("opening_year", {})))
    kw["opening_year"] = tuple((k, r.integer(v, f"projects.opening_year.{k}", 1990, 2100)) for k, v in oy.items())
    dl = r.table(p.get("delay", {}), "projects.delay", tuple(p.get("delay", {})))
    kw["delay"] = tuple((k, r.integer(v, f"projects.delay.{k}", -20, 50)) for k, v in dl.items())
    cancel = p.get("cancel", [])
    if not isinstance(cancel, list) or not all(isinstance(c, str) for c in cancel):
        raise r.fail("projects.cancel", "a list of project ids", cancel)
    kw["cancel"] = tuple(cancel)
    ph = r.table(p.get("phases", {}), "projects.phases", tuple(p.get("phases", {})))
    phases = []
    for k, v in ph.items():
        if not isinstance(v, list) or not v:
            raise r.fail(f"projects.phases.{k}", "a list of shares", v)
        shares = tuple(r.number(x, f"projects.phases.{k}", 0, 1) for x in v)
        if abs(sum(shares) - 1) > 1e-9:
            raise r.fail(f"projects.phases.{k}", "shares summing to 1", list(v))
        phases.append((k, shares))
    kw["phases"] = tuple(phases)
    add = p.get("add", [])
    if not isinstance(add, list):
        raise r.fail("projects.add", "an array of tables [[projects.add]]", add)
    rows = []
    for i, row in enumerate(add):
        key = f"projects.add[{i}]"
        row = r.table(row, key, _PROJECT_ADD_KEYS)
        for need in ("project_id", "stage", "places", "area_code", "opening_year"):
            if need not in row:
                raise r.fail(f"{key}.{need}", "a value (required)")
        clean = {
            "project_id": r.text(row["project_id"], f"{key}.project_id"),
            "name_zh": r.text(row.get("name_zh", ""), f"{key}.name_zh"),
            "name_en": r.text(row.get("name_en", row["project_id"]), f"{key}.name_en"),
            "stage": r.text(row["stage"], f"{key}.stage"),
            "places": r.number(row["places"], f"{key}.places", -1e6, 1e6),
            "area_code": r.text(str(row["area_code"]), f"{key}.area_code"),
            "kind": r.text(row.get("kind", "new"), f"{key}.kind"),
            "ownership": r.text(row.get("ownership", "public"), f"{key}.ownership"),
            "opening_year": r.integer(row["opening_year"], f"{key}.opening_year", 1990, 2100),
            "opening_year_basis": r.text(row.get("opening_year_basis", "scenario"), f"{key}.opening_year_basis"),
        }
        if clean["kind"] not in ("new", "expansion", "conversion", "closure"):
            raise r.fail(f"{key}.kind", "one of new, expansion, conversion, closure", clean["kind"])
        if clean["ownership"] not in ("public", "private"):
            raise r.fail(f"{key}.ownership", "public or private", clean["ownership"])
        if clean["places"] == 0:
            raise r.fail(f"{key}.places", "a non-zero number of places", 0)
        rows.append(tuple(clean.items()))
    kw["add"] = tuple(rows)
    du = r.table(p.get("delay_uncertainty", {}), "projects.delay_uncertainty", tuple(p.get("delay_uncertainty", {})))
    kw["delay_uncertainty"] = tuple((k, r.distribution(v, f"projects.delay_uncertainty.{k}")) for k, v in du.items())
    cp = r.table(p.get("cancel_probability", {}), "projects.cancel_probability", tuple(p.get("cancel_probability", {})))
    kw["cancel_probability"] = tuple((k, r.number(v, f"projects.cancel_probability.{k}", 0, 1)) for k, v in cp.items())
    return ProjectChanges(**kw)


def _housing(r: _Reader, data: Any) -> Housing:
    h = r.table(data, "housing", ("developments", "children_per_dwelling", "uncertainty"))
    devs = h.get("developments", [])
    if not isinstance(devs, list):
        raise r.fail("housing.developments", "an array of tables [[housing.developments]]", devs)
    out = []
    for i, row in enumerate(devs):
        key = f"housing.developments[{i}]"
        row = r.table(row, key, ("area_code", "year", "dwellings"))
        for need in ("area_code", "year", "dwellings"):
            if need not in row:
                raise r.fail(f"{key}.{need}", "a value (required)")
        out.append((r.text(str(row["area_code"]), f"{key}.area_code"),
                    r.integer(row["year"], f"{key}.year", 1990, 2100),
                    r.number(row["dwellings"], f"{key}.dwellings", 0, 1e7)))
    cpd = h.get("children_per_dwelling", {})
    r.table(cpd, "housing.children_per_dwelling", tuple(cpd) if isinstance(cpd, dict) else ())
    yields = []
    for band, values in cpd.items():
        key = f"housing.children_per_dwelling.{band}"
        lo, hi = r.age_band(band, key)
        if not isinstance(values, list) or not values:
            raise r.fail(key, "a list of children per dwelling by years since completion", values)
        yields.append((lo, hi, tuple(r.number(v, key, 0, 10) for v in values)))
    if out and not yields:
        raise r.fail("housing.children_per_dwelling", "a yield table when developments are given")
    unc = r.distribution(h["uncertainty"], "housing.uncertainty") if "uncertainty" in h else None
    return Housing(tuple(out), tuple(yields), unc)


__all__ = [
    "Distribution", "YearValue", "as_year_value", "year_values", "STAGE_PARAMETERS",
    "Fertility", "Migration", "Mortality", "ProjectChanges", "Housing", "Scenario",
    "load_scenario", "scenario_from_dict",
]
