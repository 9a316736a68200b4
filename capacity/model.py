"""From a district and a scenario to demand, places, gap and schedule (the main job).

This module is the adapter between the typed inputs (:class:`~capacity.io.District`,
:class:`~capacity.scenario.Scenario`) and the pure numpy core. It

1. checks that the scenario fits the district (stages, areas, project ids) before any
   work starts, raising :class:`~capacity.errors.InputError`;
2. turns assumptions into arrays in the core's axis order ``(year, area, ..., draw)``,
   drawing random inputs per (draw, component) (see :mod:`capacity.ensemble`);
3. runs the projection in chunks of areas x draws on a Dask scheduler
   (:mod:`capacity.execute`; inside a chunk the engine works through the draws in
   cache-sized blocks): only the stage totals are kept, never every age;
4. derives demand, places, the strict gap, the project schedule and, if asked, the gap
   left after children travel within a limit. Per draw, a run keeps the children and
   demand summed over sectors; demand by sector, the gap, shortfall and surplus are
   computed from them when read (:mod:`capacity.derived`).

Years: school year ``t`` starts in September of ``t``; the base population stands at the
start of the base school year and each projection step moves one school year on. The
rates of step ``t -> t+1`` use the scenario's values for year ``t+1`` (births of the
step are, to within two months, the births of calendar year ``t+1``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from capacity.core.cohort import project_cohort
from capacity.core.demand import demand_from_children
from capacity.core.gap import Gap, strict_gap, transport_unplaced
from capacity.core.schedule import ScheduleMatch, match_projects
from capacity.core.supply import ProjectArrays, places_by_year
from capacity.derived import SectorDemand
from capacity.ensemble import sample
from capacity.errors import InputError
from capacity.execute import Chunk, map_chunks, plan_chunks
from capacity.inputs import (
    AreaArrays,
    ProjectTable,
    area_distances_km,
    cohort_inputs,
    housing_children,
    plan_demand,
    project_table,
    stage_bands,
)
from capacity.io.district import SECTORS, District
from capacity.scenario import Scenario
from capacity.scenario_check import check_scenario


@dataclass(frozen=True)
class RunResult:
    """Everything one scenario run produced. Arrays use the core's axis order.

    Attributes
    ----------
    years : ndarray (year,)
    children : ndarray (year, area, stage, draw)
        Resident children of each stage's ages (after any housing yield).
    sector_demand : SectorDemand
        Demand by sector, computed from ``children`` when read (:mod:`capacity.derived`):
        a run keeps no per-draw array of it.
    places : ndarray (year, area, stage, sector, draw)
        With draws and no random project input, ``places`` (and ``gap.places``) is one
        draw's array broadcast over the draws: a read-only view.
    gap : Gap
        Strict gap per area (sectors summed), with the no-offset district sums; its
        ``demand`` is stored (the schedule and the gap read it), ``gap``, ``shortfall`` and
        ``surplus`` are computed when read.
    schedule : ScheduleMatch
        Each project row against the year its places are needed.
    unplaced : ndarray (year, area, stage, draw) or None
        Children left without a place after the transport problem (if a travel limit
        was set).
    draws : int
        Number of Monte Carlo draws (0: one deterministic run).
    extra : dict
        ``closures_clipped``; with ``observed.csv``, ``population`` (year, area, draw), all
        ages, and ``births`` (year, area, draw), live births of the step ending in the year
        (NaN in the base year).
    """

    district: District
    scenario: Scenario
    years: NDArray[np.int64]
    children: NDArray[np.float64]
    sector_demand: SectorDemand
    places: NDArray[np.float64]
    gap: Gap
    projects: ProjectTable
    schedule: ScheduleMatch
    unplaced: NDArray[np.float64] | None
    draws: int
    seed: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def stage_names(self) -> tuple[str, ...]:
        return self.district.stage_names

    @property
    def demand(self) -> NDArray[np.float64]:
        """Demand ``(year, area, stage, sector, draw)``, computed on every access (a new array)."""
        return self.sector_demand[()]


# --- the run ---------------------------------------------------------------------------------

def projects_chunk(projects: ProjectArrays, chunk: Chunk) -> ProjectArrays:
    """The project rows of areas ``a0:a1`` (area indices from ``a0``) and their draws ``d0:d1``."""
    rows = np.flatnonzero((projects.area >= chunk.a0) & (projects.area < chunk.a1))

    def draws_of(arr: NDArray[Any]) -> NDArray[Any]:
        arr = np.asarray(arr).reshape(len(projects), -1)[rows]
        return arr if arr.shape[1] == 1 else arr[:, chunk.d0:chunk.d1]

    return ProjectArrays(area=projects.area[rows] - chunk.a0, stage=projects.stage[rows],
                         sector=projects.sector[rows], places=projects.places[rows],
                         opening_year=draws_of(projects.opening_year), phases=projects.phases[rows],
                         cancelled=draws_of(projects.cancelled))


def children_chunk(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                   arrays: AreaArrays, chunk: Chunk) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Resident children per stage of one chunk of areas x draws, ``(year, a1 - a0, stage, d1 - d0)``.

    The projection of areas ``a0:a1`` for draws ``d0:d1`` with those draws' random inputs
    (:func:`capacity.ensemble.sample` with ``block``), plus the children of new housing:
    :math:`C_{t,a,s,d} = \\sum_{x \\in s} P_{t,a,x,d} + H_{t,a,s,d}`, persons. Also the
    population of all ages and the births of the step ending in each year (NaN in the base
    year), ``(year, a1 - a0, d1 - d0)``, for the check against ``observed.csv``.
    """
    block = (chunk.d0, chunk.d1)
    fert = sample(scenario.fertility.uncertainty, seed=seed, draws=draws, component="fertility", default=1.0,
                  block=block)
    mig = sample(scenario.migration.uncertainty, seed=seed, draws=draws, component="migration", default=1.0,
                 block=block)
    st = district.stages
    age_bands = [(int(a), int(b)) for a, b in zip(st["first_age"], st["last_age"])]
    areas = slice(chunk.a0, chunk.a1)
    # one more band, every age, for the population total; births without the rest of the accounting
    proj = project_cohort(cohort_inputs(district, scenario, years, fert, mig, areas=areas, arrays=arrays),
                          keep_ages=slice(0, 0), age_bands=[*age_bands, (0, district.open_age)], births=True)
    assert proj.bands is not None and proj.births is not None
    children: NDArray[np.float64] = np.sum(proj.bands[:, :, :, :-1], axis=2)
    population: NDArray[np.float64] = proj.bands[:, :, :, -1].sum(axis=2)
    births = np.full_like(population, np.nan)
    births[1:] = proj.births.sum(axis=2)  # births of the step ending in that year
    del proj
    if arrays.method is not None:  # the stages a forecasting method projects (capacity.forecast.driver)
        children = arrays.method.replace(children, areas, block, seed, draws)
    if scenario.housing.developments:
        house = sample(scenario.housing.uncertainty, seed=seed, draws=draws, component="housing", default=1.0,
                       block=block)
        children += housing_children(district, scenario, years, house, areas)
    return children, population, births


def chunk_demand(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                 arrays: AreaArrays, chunk: Chunk) -> tuple[NDArray[np.float64], ...]:
    """Children, demand, its sector sums, population and births of one chunk of areas x draws (as in
    :func:`chunk_outputs`)."""
    areas = slice(chunk.a0, chunk.a1)
    if scenario.demand_from_plan:
        demand = plan_demand(district, years, chunk.d1 - chunk.d0)[:, areas]
        children = np.full((len(years), chunk.a1 - chunk.a0, len(district.stage_names), chunk.d1 - chunk.d0),
                           np.nan)
        population = births = np.full((len(years), chunk.a1 - chunk.a0, chunk.d1 - chunk.d0), np.nan)
    else:
        children, population, births = children_chunk(district, scenario, years, seed, draws, arrays, chunk)
        demand = demand_from_children(children, stage_bands(district, scenario, years))
    return children, demand, demand.sum(axis=3), population, births


def same_in_every_draw(projects: ProjectArrays) -> bool:
    """True if no project's opening year or cancellation differs between draws (places then do not)."""
    n = len(projects)
    opening = np.asarray(projects.opening_year).reshape(n, -1)
    cancelled = np.asarray(projects.cancelled).reshape(n, -1)
    return bool((opening == opening[:, :1]).all() and (cancelled == cancelled[:, :1]).all())


def chunk_outputs(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                  arrays: AreaArrays, projects: ProjectArrays, chunk: Chunk) -> tuple[NDArray[np.float64], ...]:
    """Children, demand, places and the gap's sums of one chunk of areas x draws.

    Returns ``children (year, a, stage, d)`` (:func:`children_chunk`, or NaN when demand
    comes from the plan), ``demand`` and ``places (year, a, stage, sector, d)``, the sector
    sums of demand and places ``(year, a, stage, d)`` (the :class:`~capacity.core.gap.Gap`)
    and the places closures would have taken below zero ``(1, a, d)``, summed over years,
    stages and sectors, then the population and births ``(year, a, d)``; ``a = a1 - a0``, ``d = d1 - d0``. Every cell is computed as in one
    piece (elementwise over areas and draws), so chunks can run anywhere.
    """
    areas = slice(chunk.a0, chunk.a1)
    children, demand, _, population, births = chunk_demand(district, scenario, years, seed, draws, arrays, chunk)
    places, clipped = places_by_year(arrays.places[areas], projects_chunk(projects, chunk), years,
                                     chunk.d1 - chunk.d0)
    gap = strict_gap(demand, places)
    return children, demand, places, gap.demand, gap.places, clipped.sum(axis=(0, 2, 3))[None], population, births


def chunk_kept(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
               arrays: AreaArrays, chunk: Chunk) -> tuple[NDArray[np.float64], ...]:
    """What :func:`run` keeps of a chunk when places are the same in every draw: :func:`chunk_demand`
    without demand by sector (computed again when read, :class:`capacity.derived.SectorDemand`).

    Returns ``children``, the sector sums of demand ``(year, a, stage, d)``, ``population`` and
    ``births`` ``(year, a, d)``.
    """
    children, _, total, population, births = chunk_demand(district, scenario, years, seed, draws, arrays, chunk)
    return children, total, population, births


def chunk_kept_places(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                      arrays: AreaArrays, projects: ProjectArrays, chunk: Chunk) -> tuple[NDArray[np.float64], ...]:
    """What :func:`run` keeps of a chunk when places differ between draws: :func:`chunk_outputs` without
    demand by sector (``children, places``, the sector sums of demand and places, the clipped places,
    ``population, births``)."""
    children, _, *rest = chunk_outputs(district, scenario, years, seed, draws, arrays, projects, chunk)
    return (children, *rest)


def run(district: District, scenario: Scenario, *, draws: int = 0, seed: int = 0,
        progress: Callable[[int], None] | None = None, scheduler: str = "threads",
        chunks: tuple[int | None, int | None] = (None, None)) -> RunResult:
    """Run one scenario on one district.

    Parameters
    ----------
    district : District
    scenario : Scenario
    draws : int
        0 for one deterministic run (every distribution at its centre), else the number
        of Monte Carlo draws.
    seed : int
        Root seed; draw ``k`` of every scenario uses the same random inputs.
    progress : callable, optional
        Called with the number of draws finished (all areas) as chunks finish.
    scheduler : str
        Where the chunks of the projection run (:func:`capacity.execute.map_chunks`):
        ``synchronous``, ``threads`` (default), ``processes`` or a scheduler address.
        The result does not depend on it.
    chunks : (int or None, int or None)
        Areas and draws per chunk (default: :func:`capacity.execute.plan_chunks`). The
        result does not depend on them.
    """
    if draws < 0:
        raise InputError.one("--draws", "", "", f"expected a number of draws >= 0, found {draws}")
    check_scenario(district, scenario)
    years = np.arange(district.base_year, scenario.horizon + 1)
    n_draw = max(draws, 1)
    n_area = len(district.area_codes)

    projects = project_table(district, scenario, seed=seed, draws=draws)
    n_stage, n_sector = len(district.stage_names), len(SECTORS)
    children = np.empty((len(years), n_area, n_stage, n_draw))
    population = np.empty((len(years), n_area, n_draw))
    births = np.empty_like(population)
    finished = [0]

    def done(chunk: Chunk) -> None:
        finished[0] += chunk.cells
        if progress is not None:
            progress(finished[0] // n_area)

    parts = plan_chunks(n_area, n_draw, area_chunk=chunks[0], draw_chunk=chunks[1])
    arrays = AreaArrays.of(district, scenario)
    existing = arrays.places  # (area, stage, sector), base-year places
    shared = (district, scenario, years, seed, draws, arrays)
    if n_draw > 1 and same_in_every_draw(projects.arrays):
        # places are the same in every draw: computed once and viewed (read-only) for all draws
        gap = Gap(np.empty_like(children), np.empty_like(children))
        map_chunks(chunk_kept, parts, shared, (children, gap.demand, population, births), scheduler=scheduler, done=done)
        one, clipped = places_by_year(existing, projects_chunk(projects.arrays, Chunk(0, n_area, 0, 1)), years, 1)
        places = np.broadcast_to(one, (*children.shape[:3], n_sector, n_draw))
        gap = Gap(gap.demand, np.broadcast_to(one.sum(axis=3), children.shape))
        clipped = clipped * n_draw
    else:
        places = np.empty((*children.shape[:3], n_sector, n_draw))
        gap = Gap(np.empty_like(children), np.empty_like(children))
        clipped = np.empty((1, n_area, n_draw))
        map_chunks(chunk_kept_places, parts, (*shared, projects.arrays),
                   (children, places, gap.demand, gap.places, clipped, population, births), scheduler=scheduler,
                   done=done)
    demand = (SectorDemand(None, None, plan_demand(district, years, 1), n_draw) if scenario.demand_from_plan
              else SectorDemand(children, stage_bands(district, scenario, years), None, n_draw))
    unplaced = None
    reach = None
    if scenario.travel_limit_km is not None:
        distances = area_distances_km(district)
        reach = distances <= scenario.travel_limit_km
        unplaced = transport_unplaced(gap.demand, gap.places, distances, scenario.travel_limit_km)
    schedule = match_projects(gap.demand, existing.sum(axis=2), projects.arrays, years, reach=reach)
    # population and births are kept only to check against observed.csv (outputs without it unchanged)
    totals = ({"population": population, "births": births}
              if district.observed is not None and not scenario.demand_from_plan else {})
    return RunResult(district, scenario, years, children, demand, places, gap, projects, schedule,
                     unplaced, draws, seed, {"closures_clipped": float(clipped.sum()), **totals})
