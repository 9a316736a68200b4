"""From the labelled result and the candidates table to the programme's :class:`Inputs`.

The demand comes from the result's ``demand`` (sectors summed), the base places from the
district's ``places.csv`` (sectors summed) plus the scenario's project rows that are not
decided (closures, and rows planned before the first decision year). Every project row
of one ``project_id`` with positive places is one decision: all its stages open together,
whole, in one year of its window (its phases are not kept).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from capacity.io.district import District
from capacity.optimise.model import Action, Inputs
from capacity.scenario_file import OptimiseTable

__all__ = ["first_year", "make_inputs", "project_cost_per_place", "requirement_year"]


def first_year(settings: OptimiseTable, base_year: int) -> int:
    """The first year an action may start (``optimise.first_year``, default base year + 1)."""
    return settings.first_year if settings.first_year is not None else base_year + 1


def requirement_year(settings: OptimiseTable, base_year: int) -> int:
    """First year of the chance constraint and of the reported P(shortfall)."""
    if settings.requirement_from_year is not None:
        return settings.requirement_from_year
    return first_year(settings, base_year) + 2


def project_cost_per_place(settings: OptimiseTable, stage: str) -> float:
    """10,000 CNY per place of a scenario project of ``stage``."""
    cost = settings.project_cost_per_place
    if isinstance(cost, dict):
        return float(cost.get(stage, 5.0))
    return float(cost)


def _budget(settings: OptimiseTable, years: NDArray[np.int64]) -> NDArray[np.float64] | None:
    b = settings.budget_per_year
    if b is None:
        return None
    if isinstance(b, dict):
        return np.array([float(b.get(str(int(y)), np.inf)) for y in years])
    return np.full(len(years), float(b))


def make_inputs(ds: xr.Dataset, district: District, settings: OptimiseTable, candidates: pd.DataFrame,
                distance_km: NDArray[np.float64] | None = None, travel_limit_km: float | None = None) -> Inputs:
    """The programme's inputs for the first scenario of a labelled result.

    Parameters
    ----------
    ds : xarray.Dataset
        :meth:`capacity.Results.to_xarray` of one scenario.
    district : District
    settings : OptimiseTable
        The scenario's ``[optimise]`` table.
    candidates : DataFrame
        :func:`capacity.optimise.candidates.read_candidates`.
    distance_km, travel_limit_km
        Street distances and the travel limit, or None for no assignment across streets.

    Returns
    -------
    Inputs
    """
    sc = ds.isel(scenario=0)
    all_years = sc["year"].to_numpy().astype(np.int64)
    t0 = first_year(settings, int(all_years[0]))
    keep = all_years >= t0
    years = all_years[keep]
    areas = [str(a) for a in sc["area"].to_numpy()]
    stages = [str(s) for s in sc["stage"].to_numpy()]
    a_idx = {a: i for i, a in enumerate(areas)}
    s_idx = {s: i for i, s in enumerate(stages)}
    demand = sc["demand"].sum("sector").transpose("year", "area", "stage", "draw").to_numpy()[keep]
    base_places = district.places_array().sum(axis=2)  # (area, stage)
    base = np.broadcast_to(base_places, (len(years), *base_places.shape)).astype(np.float64).copy()

    rows = pd.DataFrame({
        "project_id": sc["project_id"].to_numpy().astype(str),
        "stage": sc["project_stage"].to_numpy().astype(str),
        "area": sc["project_area"].to_numpy().astype(str),
        "places": sc["project_places"].to_numpy().astype(float),
        "year": sc["planned_opening_year"].to_numpy().astype(int),
        "row": sc["project_row"].to_numpy().astype(int),
    })
    rows = rows[rows["row"] >= 0]
    cancelled = set()
    if "cancelled" in sc:
        flags = np.asarray(sc["cancelled"].to_numpy(), dtype=bool)
        always = [bool(flags[i].all()) for i in range(flags.shape[0])]
        cancelled = {str(p) for p, f in zip(sc["project_id"].to_numpy().tolist(), always) if f}
    actions: list[Action] = []
    for pid, group in rows.groupby("project_id", sort=False):
        if pid in cancelled:
            continue
        members: list[dict[Any, Any]] = group.to_dict("records")
        planned = int(group["year"].min())
        decided = bool((group["places"] > 0).all()) and planned >= t0
        if not decided:
            for m in members:
                base[years >= int(m["year"]), a_idx[str(m["area"])], s_idx[str(m["stage"])]] += float(m["places"])
            continue
        window = tuple(int(y) for y in years
                       if planned - settings.window_before <= y <= planned + settings.window_after)
        cost = sum(project_cost_per_place(settings, str(m["stage"])) * float(m["places"]) for m in members)
        actions.append(Action(
            action_id=str(pid), kind="project",
            effects=tuple((a_idx[str(m["area"])], s_idx[str(m["stage"])], float(m["places"])) for m in members),
            years=window, cost=float(cost), required=not settings.allow_cancel, planned_year=planned))
    candidate_rows: list[dict[Any, Any]] = candidates.to_dict("records")
    for r in candidate_rows:
        effects = [(a_idx[str(r["area_code"])], s_idx[str(r["stage"])], float(r["places_per_unit"]))]
        if r["kind"] == "conversion":
            effects.append((a_idx[str(r["area_code"])], s_idx[str(r["from_stage"])], -float(r["from_places_per_unit"])))
        actions.append(Action(
            action_id=str(r["action_id"]), kind=str(r["kind"]), effects=tuple(effects),
            years=tuple(int(y) for y in years if y >= int(r["earliest_year"])), cost=float(r["cost_per_unit"]),
            max_units=int(r["max_units"]), max_per_year=int(r["max_units_per_year"]),
            duration=int(r["duration_years"]), site=str(r["site"])))
    budget_total: float | None = None
    if settings.budget_total == "as_written":  # no more than the scenario's projects as written
        budget_total = float(sum(a.cost for a in actions if a.kind == "project"))
    elif settings.budget_total is not None:
        budget_total = float(settings.budget_total)
    return Inputs(
        years=years, demand=demand, base=base, actions=tuple(actions),
        shortfall_penalty=settings.shortfall_penalty, idle_cost=settings.idle_cost,
        budget_per_year=_budget(settings, years), budget_total=budget_total,
        build_capacity_per_year=settings.build_capacity_per_year, max_p_shortfall=settings.max_p_shortfall,
        requirement_from_year=requirement_year(settings, int(all_years[0])),
        distance_km=distance_km, travel_limit_km=travel_limit_km, areas=tuple(areas), stages=tuple(stages))
