"""The one labelled result: an :class:`xarray.Dataset` built from the model's runs.

This is the only place that reads the arrays of :class:`capacity.model.RunResult`; every
output (tables, plots, GIS export, report, explain, compare, the command line's summaries)
is a selection or reduction of the Dataset built here.

Dimensions
----------
``scenario, year, area, stage, sector, draw`` (``draw`` has length ``max(draws, 1)`` and
is the last dimension of every variable that has it), ``project`` (one row per project
and stage, the union over scenarios) and ``phase`` (a project's opening phases).

Variables
---------
``children (scenario, year, area, stage, draw)``
    Resident children of each stage's ages (NaN when demand comes from the plan).
``demand``, ``places (scenario, year, area, stage, sector, draw)``
``gap``, ``shortfall``, ``surplus (scenario, year, area, stage, draw)``
    The strict gap per area, sectors summed: ``places - demand`` and its negative and
    positive parts (a surplus never offsets another area's shortfall).
``population``, ``births (scenario, year, area, draw)``
    Only if the district has ``observed.csv``: persons of all ages, and live births of the
    step ending in the year (NaN in the base year).
``shortfall_after_transport (scenario, year, area, stage, draw)``
    Only if a scenario has a travel limit (NaN for the scenarios without one).
``demand``, ``gap``, ``shortfall`` and ``surplus`` are computed when read
(:mod:`capacity.results.lazy`): a run keeps, per draw, the children and the demand summed
over sectors, and these are elementwise functions of them (:mod:`capacity.derived`), the
same numbers to the last bit; ``ds.load()`` keeps them in memory.
``opening_year``, ``needed_year``, ``status``, ``years_late``, ``place_years_short``, ``place_years_idle``, ``cancelled`` ``(scenario, project, draw)``
    The schedule (:func:`capacity.core.schedule.match_projects`): ``status`` indexes
    :data:`STATUS`; ``needed_year`` is -1 where places are never needed; a project row
    a scenario lacks has ``status`` -1.
``project_row (scenario, project)``
    The row's position in the scenario's own project table (-1: not in that scenario).
``planned_opening_year``, ``delay (scenario, project)``, ``phase_share (scenario, project, phase)``
    The opening year after the scenario's overrides, its fixed delay and phase shares.

Coordinates
-----------
``area_name_en``, ``area_name_zh`` (area); ``stage_label`` (stage); ``horizon``,
``travel_limit_km`` (scenario); ``project_id``, ``project_stage``, ``project_area``,
``project_ownership``, ``project_name_en``, ``project_name_zh``, ``project_places``
(project); scalar ``district_code`` and ``district_name``.

Attributes
----------
``capacity_version``, ``district``, ``district_code``, ``district_name_zh``, ``base_year``,
``seed``, ``draws``, ``plan_target_years``, ``conventions``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from capacity import __version__
from capacity.core.schedule import STATUS
from capacity.derived import GapPart, year_slabs
from capacity.io.district import SECTORS, District
from capacity.plan import target_years
from capacity.results.lazy import derived_variable

if TYPE_CHECKING:  # pragma: no cover
    from capacity.model import RunResult

AREA_STAGE = ("year", "area", "stage", "draw")
SECTORED = ("year", "area", "stage", "sector", "draw")
PROJECT_LABELS = ("project_id", "stage", "area_code", "ownership", "name_en", "name_zh", "places")


def stage_labels(district: District) -> list[str]:
    """Display names of the district's stages: a ``label`` column of ``stages.csv`` if present, else the name title-cased."""
    st = district.stages
    out = []
    for i, name in enumerate(district.stage_names):
        label = st["label"].iloc[i] if "label" in st else None
        out.append(str(label) if isinstance(label, str) and label.strip() else name.replace("_", " ").title())
    return out


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def _project_key(row: pd.Series) -> tuple[Any, ...]:
    return tuple(float(row[c]) if c == "places" else _text(row.get(c, "")) for c in PROJECT_LABELS)


def build_dataset(runs: Sequence[RunResult]) -> xr.Dataset:
    """The labelled result of one or more runs of one district (see the module docstring).

    Parameters
    ----------
    runs : sequence of RunResult
        One per scenario, same district, draws and seed; horizons may differ (the years
        are the union, later years NaN for shorter scenarios).

    Returns
    -------
    xarray.Dataset
    """
    first = runs[0]
    d = first.district
    n_draw = max(first.draws, 1)
    years = np.array(sorted({int(y) for r in runs for y in r.years}), dtype=np.int64)
    n_year = len(years)

    def by_year(arr: NDArray[Any], run: RunResult) -> NDArray[Any]:
        if len(run.years) == n_year:
            return arr
        out = np.full((n_year, *arr.shape[1:]), np.nan)
        out[np.searchsorted(years, run.years)] = arr
        return out

    def stack(get: Any) -> NDArray[Any]:
        if len(runs) == 1:  # a view: no copy of a large ensemble
            return by_year(get(runs[0]), runs[0])[None]
        return np.stack([by_year(get(r), r) for r in runs])

    def derived(dims: tuple[str, ...], part: Any) -> xr.Variable:
        """A variable computed when read from each run's kept arrays (:mod:`capacity.results.lazy`)."""
        shape = (len(runs), n_year, *(first.sector_demand.shape[1:] if "sector" in dims else first.children.shape[1:]))
        return derived_variable(("scenario", *dims), [part(r) for r in runs], [len(r.years) for r in runs], shape)

    lazy: dict[str, xr.Variable] = {
        "demand": derived(SECTORED, lambda r: r.sector_demand.__getitem__),  # first: sets the order of the dims
    }
    data: dict[str, tuple[tuple[str, ...], NDArray[Any]]] = {
        "places": (("scenario", *SECTORED), stack(lambda r: r.places)),
        "children": (("scenario", *AREA_STAGE), stack(lambda r: r.children)),
    }
    for name in ("gap", "shortfall", "surplus"):
        lazy[name] = derived(AREA_STAGE, lambda r, n=name: GapPart(r.gap, n).__getitem__)
    if all("population" in r.extra for r in runs):  # only with observed.csv: outputs without it unchanged
        for name in ("population", "births"):
            data[name] = (("scenario", "year", "area", "draw"), stack(lambda r, n=name: r.extra[n]))
    if any(r.unplaced is not None for r in runs):
        data["shortfall_after_transport"] = (("scenario", *AREA_STAGE), stack(
            lambda r: r.unplaced if r.unplaced is not None else np.full(r.gap.demand.shape, np.nan)))

    # project rows: the union of the scenarios' tables, in order of first appearance
    keys: dict[tuple[Any, ...], int] = {}
    for r in runs:
        for _, row in r.projects.table.iterrows():
            keys.setdefault(_project_key(row), len(keys))
    n_proj, n_scen = len(keys), len(runs)
    width = max([r.projects.arrays.phases.shape[1] for r in runs] + [1])
    sched: dict[str, NDArray[Any]] = {
        "opening_year": np.full((n_scen, n_proj, n_draw), -1, dtype=np.int64),
        "needed_year": np.full((n_scen, n_proj, n_draw), -1, dtype=np.int64),
        "status": np.full((n_scen, n_proj, n_draw), -1, dtype=np.int8),
        "years_late": np.full((n_scen, n_proj, n_draw), -1, dtype=np.int64),
        "place_years_short": np.full((n_scen, n_proj, n_draw), np.nan),
        "place_years_idle": np.full((n_scen, n_proj, n_draw), np.nan),
        "cancelled": np.zeros((n_scen, n_proj, n_draw), dtype=bool),
    }
    row_of = np.full((n_scen, n_proj), -1, dtype=np.int64)
    planned = np.full((n_scen, n_proj), -1, dtype=np.int64)
    delay = np.zeros((n_scen, n_proj), dtype=np.int64)
    phases = np.zeros((n_scen, n_proj, width))
    for k, r in enumerate(runs):
        table = r.projects.table
        m = r.schedule
        cancelled = np.broadcast_to(np.asarray(r.projects.arrays.cancelled).reshape(len(table), -1), (len(table), n_draw))
        for i, (_, row) in enumerate(table.iterrows()):
            j = keys[_project_key(row)]
            row_of[k, j] = i
            for name, arr in (("opening_year", m.opening_year), ("needed_year", m.needed_year), ("status", m.status),
                              ("years_late", m.years_late), ("place_years_short", m.place_years_short),
                              ("place_years_idle", m.place_years_idle)):
                sched[name][k, j] = arr[i]
            sched["cancelled"][k, j] = cancelled[i]
            planned[k, j] = int(row["opening_year"])
            delay[k, j] = int(row.get("delay", 0))
            ph = r.projects.arrays.phases[i]
            phases[k, j, :len(ph)] = ph
    for name, arr in sched.items():
        data[name] = (("scenario", "project", "draw"), arr)
    data["project_row"] = (("scenario", "project"), row_of)
    data["planned_opening_year"] = (("scenario", "project"), planned)
    data["delay"] = (("scenario", "project"), delay)
    data["phase_share"] = (("scenario", "project", "phase"), phases)

    labels = list(keys)
    names_en = dict(zip(d.areas["area_code"], d.areas["name_en"]))
    names_zh = dict(zip(d.areas["area_code"], d.areas["name_zh"]))
    coords: dict[str, Any] = {
        "scenario": [r.scenario.name for r in runs],
        "year": years,
        "area": list(d.area_codes),
        "stage": list(d.stage_names),
        "sector": list(SECTORS),
        "draw": np.arange(n_draw),
        "project": np.arange(n_proj),
        "phase": np.arange(width),
        "horizon": ("scenario", np.array([int(r.years[-1]) for r in runs], dtype=np.int64)),
        "travel_limit_km": ("scenario", np.array([np.nan if r.scenario.travel_limit_km is None
                                                  else float(r.scenario.travel_limit_km) for r in runs])),
        "area_name_en": ("area", [_text(names_en.get(c, "")) for c in d.area_codes]),
        "area_name_zh": ("area", [_text(names_zh.get(c, "")) for c in d.area_codes]),
        "stage_label": ("stage", stage_labels(d)),
        "district_code": d.code,
        "district_name": d.name,
    }
    for c, label in zip(PROJECT_LABELS, zip(*labels) if labels else [()] * len(PROJECT_LABELS)):
        values = np.array(label, dtype=float) if c == "places" else np.array(label, dtype=object).astype(str)
        coords["project_id" if c == "project_id" else f"project_{'area' if c == 'area_code' else c}"] = ("project", values)
    attrs: dict[str, Any] = {
        "title": f"School places in {d.name}: children, demand, places, gap and the construction schedule",
        "capacity_version": __version__,
        "district": d.name,
        "district_code": d.code,
        "district_name_zh": _text(d.name_zh),
        "base_year": int(d.base_year),
        "seed": int(first.seed),
        "draws": int(first.draws),
        "plan_target_years": np.array(target_years(d, int(d.base_year), int(years[-1])), dtype=np.int64),
        "status_codes": ", ".join(f"{i}={s}" for i, s in enumerate(STATUS)),
        "conventions": "gap = places - demand (negative: shortfall); school year t starts in September of t; "
                       "draw 0 of a deterministic run is the run itself",
    }
    variables = {**lazy, **{k: xr.Variable(dims, v) for k, (dims, v) in data.items()}}
    order = ["demand", "places", "children", "gap", "shortfall", "surplus"]
    return xr.Dataset({k: variables[k] for k in [*order, *(k for k in variables if k not in order)]}, coords=coords,
                      attrs=attrs)


#: Variables that must be finite in every year up to a scenario's horizon (``children`` is
#: NaN by design when demand comes from the plan), and the step of the model making each.
FINITE_STEPS = {"demand": "demand", "places": "supply", "gap": "gap", "shortfall": "gap", "surplus": "gap",
                "shortfall_after_transport": "transport"}


def check_finite(ds: xr.Dataset) -> None:
    """Every output number of the result finite; else a :class:`~capacity.errors.DefectError`.

    Numbers after a scenario's horizon are NaN when scenarios of different horizons run
    together, and are not checked, nor the shortfall after transport of a scenario without
    a travel limit (run with one that has); nothing anywhere may be infinite.

    Raises
    ------
    DefectError
        Naming the variable, the step that made it and the first cell.
    """
    from capacity.errors import DefectError

    for key in ds.data_vars:
        name = str(key)
        var = ds[name]
        if var.dtype.kind != "f":
            continue
        for part in _slabs(var):
            values = part.values
            if np.isfinite(values).all():  # the common case, in one pass
                continue
            bad = np.isinf(values)
            if name in FINITE_STEPS:
                within = part["year"] <= part["horizon"]
                if name == "shortfall_after_transport":  # not computed (NaN) for a scenario without a travel limit
                    within = within & np.isfinite(ds["travel_limit_km"].sel(scenario=part["scenario"]))
                bad |= np.isnan(values) & within.broadcast_like(part).transpose(*part.dims).values
            if bool(bad.any()):
                first = {str(dim): part[dim].values[i].item() for dim, i in zip(part.dims, np.argwhere(bad)[0])
                         if dim in part.coords}
                cell = ", ".join(f"{k}={v}" for k, v in first.items())
                raise DefectError(f"defect: {name} is not finite at {cell} (step: {FINITE_STEPS.get(name, name)}); "
                                  "nothing was written")


def _slabs(var: xr.DataArray) -> Iterator[xr.DataArray]:
    """A ``(scenario, year, ...)`` variable a scenario and some years at a time, in order (else whole).

    Variables computed when read (:mod:`capacity.results.lazy`) are then computed a piece at
    a time; the first cell of the first piece with a problem is the first cell of the whole.
    """
    if var.dims[:2] != ("scenario", "year"):
        yield var
        return
    per_year = int(np.prod(var.shape[2:]))
    for k in range(var.sizes["scenario"]):
        for years in year_slabs(var.sizes["year"], per_year):
            yield var.isel(scenario=slice(k, k + 1), year=years)


def year_pieces(ds: xr.Dataset, name: str) -> list[slice]:
    """Consecutive pieces of the years of ``ds`` (one scenario's selection) in which to read variable ``name``.

    Every year at once when the variable is small; else pieces of
    :data:`capacity.derived.READ_CELLS` cells, so that a variable computed when read is
    never whole.
    """
    var = ds[name]
    return year_slabs(var.sizes["year"], var.size // max(var.sizes["year"], 1))


def select(ds: xr.Dataset, scenario: str) -> xr.Dataset:
    """One scenario of the Dataset: its years (up to its horizon) and its own project rows, in its order.

    Parameters
    ----------
    ds : Dataset
        As built by :func:`build_dataset`.
    scenario : str

    Returns
    -------
    Dataset
        Without the ``scenario`` dimension (``scenario`` stays a scalar coordinate).
    """
    one = ds.sel(scenario=scenario)
    one = one.sel(year=slice(None, int(one["horizon"].values)))
    rows = one["project_row"].values
    order = np.flatnonzero(rows >= 0)
    order = order[np.argsort(rows[order], kind="stable")]
    return one.isel(project=order)


def values(ds: xr.Dataset, name: str, dims: Sequence[str]) -> NDArray[Any]:
    """A variable as a C-ordered numpy array with its dimensions in ``dims`` order."""
    return np.ascontiguousarray(ds[name].transpose(*dims).values)


def status_names(codes: NDArray[np.integer[Any]]) -> list[str]:
    """Status codes as their names (:data:`capacity.core.schedule.STATUS`)."""
    return [STATUS[int(c)] for c in codes]


__all__ = ["AREA_STAGE", "SECTORED", "STATUS", "build_dataset", "select", "stage_labels", "status_names", "values",
           "year_pieces"]
