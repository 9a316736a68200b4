"""The district's plan: its needs, targets, target year, indicators and the plan comparison.

Everything specific to a plan lives here and is read from the district's plan table
(``district.plan``, ``plan.csv``: columns ``indicator, stage, year, value, source``).
General code (tables, plots, command line) asks this module, never names a year, a stage
or an indicator of its own.

Indicators of the plan table
----------------------------
``need``
    Places the plan says are needed for ``stage`` by ``year``.
``public_places_added``
    Target of new public places (all stages, ``stage`` empty) by ``year``.
``public_affordable_share``
    Target share of the ``stage``'s children in public or affordable places.
``private_affordable_share``
    Share of the ``stage``'s private places that are affordable (普惠) in the base year.

Older plan tables named the two shares ``<stage>_public_affordable_share`` and
``<stage>_private_affordable_share``; validation rejects those names and says the new one.

The target year
---------------
One rule (:func:`target_year`): the year of the plan's need (for a stage, that stage's
need; for the district, the latest need), else the base year + 5; in both cases capped at
the horizon.

The result tables built here take a one-scenario selection of the results' Dataset
(:func:`capacity.results.dataset.select`) and reduce it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from capacity.derived import year_slabs
from capacity.stats import QUANTILES, THRESHOLD, point

INDICATORS = ("need", "public_places_added", "public_affordable_share", "private_affordable_share")
"""The plan table's indicator values."""

DEFAULT_TARGET_OFFSET = 5
"""Without a stated need, the target year is this many years after the base year."""

class PlanSource(Protocol):
    """What this module reads from a district: its plan table, stages and projects."""

    @property
    def plan(self) -> pd.DataFrame | None: ...

    @property
    def stage_names(self) -> tuple[str, ...]: ...

    @property
    def projects(self) -> pd.DataFrame: ...


def plan_table(district: PlanSource) -> pd.DataFrame:
    """The plan table with the indicator names of :data:`INDICATORS`.

    Parameters
    ----------
    district : District
        A district; its ``plan`` may be None (no ``plan.csv``).

    Returns
    -------
    DataFrame
        ``indicator, stage, year, value`` (``stage`` is ``""`` where the indicator has
        none); empty without a plan.
    """
    cols = ["indicator", "stage", "year", "value"]
    if district.plan is None or len(district.plan) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("indicator", "stage") else float) for c in cols})
    t = district.plan[cols].copy()
    t["stage"] = t["stage"].fillna("").astype(str)
    t["indicator"] = t["indicator"].astype(str)
    return t.reset_index(drop=True)


def targets(district: PlanSource) -> dict[str, float]:
    """The plan's targets other than needs, by name.

    Returns
    -------
    dict
        ``indicator`` -> value, or ``<stage>_<indicator>`` -> value for an indicator that
        names a stage (e.g. ``kindergarten_public_affordable_share``).
    """
    t = plan_table(district)
    t = t[t["indicator"] != "need"]
    return {f"{s}_{i}" if s else str(i): float(v) for i, s, v in zip(t["indicator"], t["stage"], t["value"])}


def _row(table: pd.DataFrame, indicator: str, stage: str = "") -> pd.Series | None:
    rows = table[(table["indicator"] == indicator) & (table["stage"] == stage)]
    return None if rows.empty else rows.iloc[0]


def _first_rows(table: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """The first row of every ``(indicator, stage)`` of a plan table (what :func:`_row` finds), looked up at once."""
    first: dict[tuple[str, str], dict[str, Any]] = {}
    for record in table.to_dict("records"):
        first.setdefault((str(record["indicator"]), str(record["stage"])), {str(k): v for k, v in record.items()})
    return first


def _need_years(table: pd.DataFrame) -> dict[str, list[int]]:
    """The years of the plan's needs, by stage."""
    years: dict[str, list[int]] = {}
    for indicator, stage, year in zip(table["indicator"], table["stage"], table["year"]):
        if indicator == "need":
            years.setdefault(str(stage), []).append(int(year))
    return years


def _target_year(need_years: dict[str, list[int]], base_year: int, horizon: int, stage: str | None) -> int:
    """:func:`target_year` from :func:`_need_years`."""
    years = need_years.get(stage, []) if stage is not None else [y for ys in need_years.values() for y in ys]
    return min(max(years) if years else base_year + DEFAULT_TARGET_OFFSET, horizon)


def needs(district: PlanSource) -> pd.DataFrame:
    """The plan's stated needs: ``stage, year, value``, one row per stage with a need."""
    t = plan_table(district)
    return t[t["indicator"] == "need"][["stage", "year", "value"]].reset_index(drop=True)


def need(district: PlanSource, stage: str) -> tuple[float, int] | None:
    """The plan's need for ``stage`` as ``(places, year)``, or None if it states none."""
    row = _row(plan_table(district), "need", stage)
    return None if row is None else (float(row["value"]), int(row["year"]))


def target_year(district: PlanSource, base_year: int, horizon: int, stage: str | None = None) -> int:
    """The year the plan is judged in (the one rule, see the module docstring).

    Parameters
    ----------
    district : District
    base_year, horizon : int
        First and last year of the run.
    stage : str, optional
        A stage: its need's year; default the latest need of any stage.

    Returns
    -------
    int
        The need's year, else ``base_year + 5``; capped at ``horizon``.
    """
    return _target_year(_need_years(plan_table(district)), base_year, horizon, stage)


def target_years(district: PlanSource, base_year: int, horizon: int) -> list[int]:
    """Every stage's target year (sorted, distinct)."""
    need_years = _need_years(plan_table(district))
    return sorted({_target_year(need_years, base_year, horizon, s) for s in district.stage_names})


def _values(ds: xr.Dataset, name: str, dims: tuple[str, ...]) -> NDArray[Any]:
    """A variable of a one-scenario Dataset as a C-ordered array in ``dims`` order."""
    return np.ascontiguousarray(ds[name].transpose(*dims).values)


def _by_year(ds: xr.Dataset, name: str, dims: tuple[str, ...]) -> Iterator[NDArray[Any]]:
    """A variable a few years at a time, each piece a C-ordered array in ``dims`` order (``dims[0]`` the year).

    Reductions that keep the year axis give the same numbers from these pieces as from the
    whole variable, which (demand by sector, places of every draw) is then never held whole
    when it is large (:func:`capacity.derived.year_slabs`).
    """
    var = ds[name]
    for years in year_slabs(var.sizes["year"], var.size // max(var.sizes["year"], 1)):
        yield np.ascontiguousarray(ds[name].isel(year=years).transpose(*dims).values)


def plan_comparison(ds: xr.Dataset, district: PlanSource) -> pd.DataFrame:
    """The plan comparison of one scenario, one row per stage (district totals).

    Parameters
    ----------
    ds : Dataset
        One scenario's selection of the results (no ``scenario`` dimension).
    district : District

    Returns
    -------
    DataFrame
        scenario, stage, target_year, plan_need, appendix_places, projected_need (demand in
        the target year minus places in the base year), gap_after_projects,
        shortfall_after_projects, surplus_after_projects, peak_demand_year, peak_demand,
        demand_horizon, places_horizon, shortfall_horizon, surplus_horizon; with draws
        projected_need_p10/p50/p90 and p_shortfall_target_year.
    """
    draws = int(ds.attrs["draws"])
    years = ds["year"].to_numpy()
    base, horizon = int(years[0]), int(years[-1])
    area_stage = ("year", "area", "stage", "draw")
    sectored = ("year", "area", "stage", "sector", "draw")
    demand = np.concatenate([d.sum(axis=3).sum(axis=1) for d in _by_year(ds, "demand", sectored)])
    places = np.concatenate([p.sum(axis=3).sum(axis=1) for p in _by_year(ds, "places", sectored)])
    shortfall = _values(ds, "shortfall", area_stage).sum(axis=1)
    surplus = _values(ds, "surplus", area_stage).sum(axis=1)
    table = plan_table(district)
    first, need_years = _first_rows(table), _need_years(table)
    rows = []
    for s, stage in enumerate(str(v) for v in ds["stage"].values):
        row_need = first.get(("need", stage))
        stated = None if row_need is None else (float(row_need["value"]), int(row_need["year"]))
        target = _target_year(need_years, base, horizon, stage)
        t = int(np.searchsorted(years, target))
        appendix = float(district.projects.loc[district.projects["stage"] == stage, "places"].sum())
        projected_need = demand[t, s] - places[0, s]
        gap_after = places[t, s] - demand[t, s]
        peak_t = demand[:, s].mean(axis=-1).argmax()
        row: dict[str, Any] = {
            "scenario": str(ds["scenario"].values),
            "stage": stage,
            "target_year": target,
            "plan_need": stated[0] if stated is not None else np.nan,
            "appendix_places": appendix,
            "projected_need": float(point(projected_need, draws)),
            "gap_after_projects": float(point(gap_after, draws)),
            "shortfall_after_projects": float(point(shortfall[t, s], draws)),
            "surplus_after_projects": float(point(surplus[t, s], draws)),
            "peak_demand_year": int(years[peak_t]),
            "peak_demand": float(demand[peak_t, s].mean()),
            "demand_horizon": float(demand[-1, s].mean()),
            "places_horizon": float(places[-1, s].mean()),
            "shortfall_horizon": float(point(shortfall[-1, s], draws)),
            "surplus_horizon": float(point(surplus[-1, s], draws)),
        }
        if draws > 0:
            for q in QUANTILES:
                row[f"projected_need_p{q}"] = float(np.percentile(projected_need, q))
            row["p_shortfall_target_year"] = float((shortfall[t, s] > THRESHOLD).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def indicators(ds: xr.Dataset, district: PlanSource) -> pd.DataFrame:
    """The plan's indicators of one scenario, projected year by year (district).

    * ``public_places_added``: public places added by projects since the base year
      (target: the plan's ``public_places_added``).
    * ``<stage>_public_affordable_share``, for every stage with a
      ``private_affordable_share`` in the plan: share of the stage's children in public or
      affordable places, taking children in public places as :math:`\\min(D^{pub}, S^{pub})`
      per area and the rest in private places, of which the base year's affordable share
      is affordable (target: the plan's ``public_affordable_share`` of the stage).

    Parameters
    ----------
    ds : Dataset
        One scenario's selection of the results.
    district : District

    Returns
    -------
    DataFrame
        scenario, year, indicator, value, target.
    """
    table = plan_table(district)
    draws = int(ds.attrs["draws"])
    name = str(ds["scenario"].values)
    years = [int(y) for y in ds["year"].values]
    dims = ("year", "area", "stage", "sector", "draw")
    stages = [str(s) for s in ds["stage"].values]

    first = _first_rows(table)

    def target(indicator: str, stage: str = "") -> float:
        row = first.get((indicator, stage))
        return float(row["value"]) if row is not None else np.nan

    with_share = {k: row for k, row in ((k, first.get(("private_affordable_share", s))) for k, s in enumerate(stages))
                  if row is not None}
    # (year, draw) sums, a few years at a time: public places; per stage with a share, children in public places
    # and children enrolled
    public_parts: list[NDArray[Any]] = []
    in_public_parts: dict[int, list[NDArray[Any]]] = {k: [] for k in with_share}
    enrolled_parts: dict[int, list[NDArray[Any]]] = {k: [] for k in with_share}
    for places, demand in zip(_by_year(ds, "places", dims), _by_year(ds, "demand", dims)):
        public_parts.append(places[:, :, :, 0].sum(axis=(1, 2)))
        for k in with_share:
            dem = demand[:, :, k]  # (year, area, sector, draw)
            plc = places[:, :, k]
            in_public_parts[k].append(np.minimum(dem[:, :, 0], plc[:, :, 0]).sum(axis=1))
            enrolled_parts[k].append(dem.sum(axis=(1, 2)))
    rows = []
    public_places = np.concatenate(public_parts)  # (year, draw)
    added = public_places - public_places[0]
    goal = target("public_places_added")
    for t, year in enumerate(years):
        rows.append({"scenario": name, "year": year, "indicator": "public_places_added",
                     "value": float(point(added[t], draws)), "target": goal})
    for k, affordable in with_share.items():
        stage = stages[k]
        in_public = np.concatenate(in_public_parts[k])
        enrolled = np.concatenate(enrolled_parts[k])
        a = float(affordable["value"])
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (in_public + a * (enrolled - in_public)) / enrolled
        goal = target("public_affordable_share", stage)
        for t, year in enumerate(years):
            rows.append({"scenario": name, "year": year, "indicator": f"{stage}_public_affordable_share",
                         "value": float(point(share[t], draws)), "target": goal})
    return pd.DataFrame(rows)


__all__ = ["INDICATORS", "PlanSource", "indicators", "need", "needs", "plan_comparison", "plan_table",
           "target_year", "target_years"]
