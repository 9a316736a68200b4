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
   left after children travel within a limit.

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
import pandas as pd
from numpy.typing import NDArray

from capacity.core.cohort import CohortInputs, Product, project_cohort
from capacity.core.demand import StageBands, demand_from_children
from capacity.core.gap import Gap, strict_gap, transport_unplaced
from capacity.core.schedule import ScheduleMatch, match_projects
from capacity.core.supply import ProjectArrays, places_by_year
from capacity.ensemble import sample, uniforms
from capacity.errors import InputError
from capacity.execute import Chunk, map_chunks, plan_chunks
from capacity.io.district import SECTORS, District
from capacity.scenario import STAGE_PARAMETERS, Scenario, year_values
from capacity.scenario_check import check_scenario


@dataclass(frozen=True)
class ProjectTable:
    """The projects of a run: a table (one row per project and stage) and its arrays."""

    table: pd.DataFrame
    arrays: ProjectArrays


@dataclass(frozen=True)
class RunResult:
    """Everything one scenario run produced. Arrays use the core's axis order.

    Attributes
    ----------
    years : ndarray (year,)
    children : ndarray (year, area, stage, draw)
        Resident children of each stage's ages (after any housing yield).
    demand, places : ndarray (year, area, stage, sector, draw)
        With draws and no random project input, ``places`` (and ``gap.places``) is one
        draw's array broadcast over the draws: a read-only view.
    gap : Gap
        Strict gap per area (sectors summed), with the no-offset district sums.
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
    demand: NDArray[np.float64]
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


# --- inputs as arrays --------------------------------------------------------------------

@dataclass(frozen=True)
class AreaArrays:
    """The per-area inputs of a run, made once (from the district's tables) and sliced by each chunk.

    Attributes
    ----------
    population : ndarray (area, sex, age)
        Base population, persons.
    migration : ndarray (area, sex, age)
        Net migrants per year after the scenario's area and age scales (:func:`migration_base`).
    places : ndarray (area, stage, sector)
        Base-year places.
    """

    population: NDArray[np.float64]
    migration: NDArray[np.float64]
    places: NDArray[np.float64]

    @classmethod
    def of(cls, district: District, scenario: Scenario) -> AreaArrays:
        return cls(district.population_array(), migration_base(district, scenario), district.places_array())


def stage_bands(district: District, scenario: Scenario, years: NDArray[np.int64]) -> StageBands:
    """Stage parameters as (year, 1, stage, 1) arrays, with the scenario's overrides."""
    st = district.stages
    params = {name: np.repeat(st[name].to_numpy(float)[None, :], len(years), axis=0) for name in STAGE_PARAMETERS}
    names = tuple(st["stage"])
    for stage, name, value in scenario.enrolment:
        params[name][:, names.index(stage)] = year_values(value, years)
    return StageBands(
        names=names,
        first_age=st["first_age"].to_numpy(int),
        last_age=st["last_age"].to_numpy(int),
        **{k: v[:, None, :, None] for k, v in params.items()},
    )


def fertility_multiplier(district: District, scenario: Scenario, step_years: NDArray[np.int64]) -> NDArray[np.float64]:
    """Multiplier of the base-year fertility schedule for each step's year."""
    f = scenario.fertility
    if f.tfr is not None:
        base_tfr = float(district.fertility_array().sum())
        return year_values(f.tfr, step_years) / base_tfr
    return year_values(f.multiplier, step_years)


def nlx_with_mortality(district: District, multiplier: float) -> NDArray[np.float64]:
    """Life-table nLx (sex, age) with every probability of dying scaled by ``multiplier``.

    :math:`q'_x = \\min(1, k q_x)`, :math:`l'_{x+1} = l'_x (1 - q'_x)`, and person-years
    scaled with the survivors: :math:`L'_x = L_x \\, (l'_x + l'_{x+1}) / (l_x + l_{x+1})`;
    the open group :math:`T' = T \\, l'_\\omega / l_\\omega`.
    """
    lx = district.lx_array()
    Lx = district.Lx_array()
    if multiplier == 1.0:
        return Lx
    q = 1.0 - lx[:, 1:] / lx[:, :-1]
    q2 = np.minimum(1.0, multiplier * q)
    l2 = np.concatenate([lx[:, :1], lx[:, :1] * np.cumprod(1.0 - q2, axis=1)], axis=1)
    out = np.empty_like(Lx)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[:, :-1] = np.where(lx[:, :-1] + lx[:, 1:] > 0,
                               Lx[:, :-1] * (l2[:, :-1] + l2[:, 1:]) / (lx[:, :-1] + lx[:, 1:]), 0.0)
        out[:, -1] = np.where(lx[:, -1] > 0, Lx[:, -1] * l2[:, -1] / lx[:, -1], 0.0)
    floored: NDArray[np.float64] = np.maximum(out, 1e-12)
    return floored


def migration_base(district: District, scenario: Scenario) -> NDArray[np.float64]:
    """Net migrants per year (area, sex, age) after the scenario's area and age scales."""
    m = district.migration_array().copy()
    codes = district.area_codes
    for code, factor in scenario.migration.scale_by_area:
        m[codes.index(code)] *= factor
    for lo, hi, factor in scenario.migration.scale_by_age:
        m[:, :, lo:hi + 1] *= factor
    return m


def housing_children(district: District, scenario: Scenario, years: NDArray[np.int64],
                     factor: NDArray[np.float64], areas: slice = slice(None)) -> NDArray[np.float64]:
    """Children per stage brought by new housing, (year, area, stage, draw), for the ``areas`` selected.

    :math:`H_{a,s}(t) = \\sum_{dev \\in a} N_{dev} \\sum_{band} y_{band}(t - c_{dev})
    \\, |band \\cap s|` with :math:`N` dwellings completed in year :math:`c`, :math:`y`
    children per dwelling per single year of age, :math:`|band \\cap s|` the number of ages
    the yield band shares with the stage; zero before completion.
    """
    h = scenario.housing
    st = district.stages
    first_area, stop_area, _ = areas.indices(len(district.area_codes))
    out = np.zeros((len(years), stop_area - first_area, len(st), len(factor)))
    for code, year, dwellings in h.developments:
        a = district.area_codes.index(code) - first_area
        if not 0 <= a < out.shape[1]:
            continue
        since = years - year
        for lo, hi, ys in h.children_per_dwelling:
            ys_arr = np.asarray(ys)
            per_year = np.where(since >= 0, ys_arr[np.clip(since, 0, len(ys_arr) - 1)], 0.0)
            for s, (first, last) in enumerate(zip(st["first_age"], st["last_age"])):
                overlap = max(0, min(hi, int(last)) - max(lo, int(first)) + 1)
                if overlap:
                    out[:, a, s, :] += dwellings * overlap * per_year[:, None] * factor[None, :]
    return out


def project_table(district: District, scenario: Scenario, *, seed: int, draws: int) -> ProjectTable:
    """Projects after the scenario's changes, with per-draw delays and cancellations."""
    table = district.projects.copy()
    if scenario.projects.add:
        added = pd.DataFrame([dict(r) for r in scenario.projects.add])
        table = pd.concat([table, added], ignore_index=True)
    p = scenario.projects
    table["opening_year"] = table["opening_year"].astype(int)
    overrides = dict(p.opening_year)
    table["opening_year"] = [overrides.get(pid, y) for pid, y in zip(table["project_id"], table["opening_year"])]
    delays = dict(p.delay)
    table["delay"] = [delays.get(pid, delays.get("*", 0)) for pid in table["project_id"]]
    table["cancelled"] = table["project_id"].isin(p.cancel)
    n_draw = max(draws, 1)
    ids = list(dict.fromkeys(table["project_id"]))
    # random delays and cancellations are drawn per project (shared by its stages)
    du = dict(p.delay_uncertainty)
    cp = dict(p.cancel_probability)
    extra_delay = {}
    cancel_draw = {}
    for pid in ids:
        dist = du.get(pid, du.get("*"))
        delay = sample(dist, seed=seed, draws=draws, component=f"delay:{pid}", default=0.0)
        extra_delay[pid] = np.maximum(np.rint(delay), 0).astype(np.int64)
        prob = cp.get(pid, cp.get("*", 0.0))
        if draws == 0 or prob in (0.0, 1.0):
            cancel_draw[pid] = np.full(n_draw, prob >= 1.0)
        else:
            cancel_draw[pid] = uniforms(seed=seed, draws=draws, component=f"cancel:{pid}") < prob
    opening = np.stack([table["opening_year"].to_numpy(int)[i] + int(table["delay"].iloc[i]) + extra_delay[pid]
                        for i, pid in enumerate(table["project_id"])]).astype(np.int64)
    cancelled = np.stack([cancel_draw[pid] | bool(table["cancelled"].iloc[i])
                          for i, pid in enumerate(table["project_id"])])
    phases_by_id = dict(p.phases)
    width = max([len(v) for v in phases_by_id.values()] + [1])
    phases = np.zeros((len(table), width))
    for i, pid in enumerate(table["project_id"]):
        shares = phases_by_id.get(pid, (1.0,))
        phases[i, :len(shares)] = shares
    codes = district.area_codes
    stages = district.stage_names
    arrays = ProjectArrays(
        area=np.array([codes.index(c) for c in table["area_code"]], dtype=np.int64),
        stage=np.array([stages.index(s) for s in table["stage"]], dtype=np.int64),
        sector=np.array([0 if o == "public" else 1 for o in table["ownership"]], dtype=np.int64),
        places=table["places"].to_numpy(float),
        opening_year=opening,
        phases=phases,
        cancelled=cancelled,
    )
    return ProjectTable(table.reset_index(drop=True), arrays)


def plan_demand(district: District, years: NDArray[np.int64], n_draw: int) -> NDArray[np.float64]:
    """Demand of "the plan as written": base places plus the plan's needs, reached linearly.

    :math:`D_{a,s,c}(t) = S^0_{a,s,c} \\,(1 + N_s / S^0_s \\cdot \\min(1, (t - t_0)/(T - t_0)))`
    with :math:`N_s` the plan's stated need for stage ``s`` by its target year ``T``,
    shared among areas and sectors in proportion to the base-year places.
    """
    from capacity import plan

    base = district.places_array()  # (area, stage, sector)
    out = np.zeros((len(years), *base.shape, n_draw))
    for s, stage in enumerate(district.stage_names):
        stated = plan.need(district, stage)
        if stated is None:  # no need stated: the base-year places, unchanged
            out[:, :, s, :, :] = base[None, :, s, :, None]
            continue
        need, target = stated
        ramp = np.clip((years - district.base_year) / max(target - district.base_year, 1), 0.0, 1.0)
        total = base[:, s, :].sum()
        growth = 1.0 + (need / total if total > 0 else 0.0) * ramp
        out[:, :, s, :, :] = base[None, :, s, :, None] * growth[:, None, None, None]
    return out


def cohort_inputs(district: District, scenario: Scenario, years: NDArray[np.int64],
                  fert_draw: NDArray[np.float64], mig_draw: NDArray[np.float64],
                  areas: slice = slice(None), arrays: AreaArrays | None = None) -> CohortInputs:
    """The inputs of :func:`~capacity.core.cohort.project_cohort` for a scenario.

    Projects from ``years[0]`` (the base year) to ``years[-1]``; ``fert_draw`` and
    ``mig_draw`` (one value per draw) multiply fertility and migration draw by draw.
    Net migration stays a :class:`~capacity.core.product.Product` (pattern by area, sex
    and age x scale by year x multiplier by draw): the engine multiplies it out one
    block of draws at a time, so memory does not grow with ``steps x draws``. ``areas``
    selects the areas projected (areas are independent in the projection); ``arrays``, if
    given, are the per-area inputs already made (:class:`AreaArrays`).
    """
    arrays = arrays if arrays is not None else AreaArrays.of(district, scenario)
    step_years = years[1:]
    fert = (district.fertility_array()[None, None, None, :, None]
            * fertility_multiplier(district, scenario, step_years)[:, None, None, None, None]
            * fert_draw[None, None, None, None, :])
    mig = Product(arrays.migration[None, areas, ..., None],
                  year_values(scenario.migration.scale, step_years)[:, None, None, None, None],
                  mig_draw[None, None, None, None, :])
    nlx = nlx_with_mortality(district, scenario.mortality.death_rate_multiplier)
    return CohortInputs(base=arrays.population[areas], steps=len(years) - 1, nLx=nlx[None, None, :, :, None],
                        fertility=fert, fertility_first_age=district.fertility_first_age,
                        sex_ratio_at_birth=district.sex_ratio_at_birth, net_migration=mig,
                        migration_timing=scenario.migration.timing)


def area_distances_km(district: District) -> NDArray[np.float64]:
    """Distances between area centroids in km (UTM zone of the district's centre)."""
    areas = district.areas
    centre = areas.to_crs(4326).union_all().centroid
    zone = int((centre.x + 180) // 6) + 1
    epsg = (32600 if centre.y >= 0 else 32700) + zone
    pts = areas.to_crs(epsg).geometry.centroid
    xy = np.column_stack([pts.x.to_numpy(), pts.y.to_numpy()])
    km: NDArray[np.float64] = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2)) / 1000.0
    return km


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
    proj = project_cohort(cohort_inputs(district, scenario, years, fert, mig, areas=areas, arrays=arrays),
                          keep_ages=slice(0, 0), age_bands=age_bands, accounting=True)
    assert proj.bands is not None and proj.total is not None and proj.births is not None
    children: NDArray[np.float64] = np.sum(proj.bands, axis=2)
    population: NDArray[np.float64] = proj.total.sum(axis=2)
    births = np.full_like(population, np.nan)
    births[1:] = proj.births.sum(axis=2)  # births of the step ending in that year
    del proj
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
    demand = np.empty((len(years), n_area, n_stage, n_sector, n_draw))
    population = np.empty((len(years), n_area, n_draw))
    births = np.empty_like(population)
    finished = [0]

    def done(chunk: Chunk) -> None:
        finished[0] += chunk.cells
        if progress is not None:
            progress(finished[0] // n_area)

    parts = plan_chunks(n_area, n_draw, area_chunk=chunks[0], draw_chunk=chunks[1])
    shared = (district, scenario, years, seed, draws, AreaArrays.of(district, scenario))
    if n_draw > 1 and same_in_every_draw(projects.arrays):
        # places are the same in every draw: computed once and viewed (read-only) for all draws
        gap = Gap(np.empty_like(children), np.empty_like(children))
        map_chunks(chunk_demand, parts, shared, (children, demand, gap.demand, population, births), scheduler=scheduler,
                   done=done)
        one, clipped = places_by_year(district.places_array(), projects_chunk(projects.arrays, Chunk(0, n_area, 0, 1)),
                                      years, 1)
        places = np.broadcast_to(one, demand.shape)
        gap = Gap(gap.demand, np.broadcast_to(one.sum(axis=3), children.shape))
        clipped = clipped * n_draw
    else:
        places = np.empty_like(demand)
        gap = Gap(np.empty_like(children), np.empty_like(children))
        clipped = np.empty((1, n_area, n_draw))
        map_chunks(chunk_outputs, parts, (*shared, projects.arrays),
                   (children, demand, places, gap.demand, gap.places, clipped, population, births), scheduler=scheduler,
                   done=done)
    existing = district.places_array()
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
