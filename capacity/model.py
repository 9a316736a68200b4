"""From a district and a scenario to demand, places, gap and schedule (the main job).

This module is the adapter between the typed inputs (:class:`~capacity.io.District`,
:class:`~capacity.scenario.Scenario`) and the pure numpy core. It

1. checks that the scenario fits the district (stages, areas, project ids) before any
   work starts, raising :class:`~capacity.errors.InputError`;
2. turns assumptions into arrays in the core's axis order ``(year, area, ..., draw)``,
   drawing random inputs per (draw, component) (see :mod:`capacity.ensemble`);
3. runs the projection (the engine works through the draws in cache-sized blocks, its one
   level of chunking, so memory stays bounded): for an ensemble only the stage totals are
   kept, never every age;
4. derives demand, places, the strict gap, the project schedule and, if asked, the gap
   left after children travel within a limit.

Years: school year ``t`` starts in September of ``t``; the base population stands at the
start of the base school year and each projection step moves one school year on. The
rates of step ``t -> t+1`` use the scenario's values for year ``t+1`` (births of the
step are, to within two months, the births of calendar year ``t+1``).
"""

from __future__ import annotations

import os
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
from capacity.io.district import District
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
    gap : Gap
        Strict gap per area (sectors summed), with the no-offset district sums.
    schedule : ScheduleMatch
        Each project row against the year its places are needed.
    unplaced : ndarray (year, area, stage, draw) or None
        Children left without a place after the transport problem (if a travel limit
        was set).
    draws : int
        Number of Monte Carlo draws (0: one deterministic run).
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
                     factor: NDArray[np.float64]) -> NDArray[np.float64]:
    """Children per stage brought by new housing, (year, area, stage, draw).

    :math:`H_{a,s}(t) = \\sum_{dev \\in a} N_{dev} \\sum_{band} y_{band}(t - c_{dev})
    \\, |band \\cap s|` with :math:`N` dwellings completed in year :math:`c`, :math:`y`
    children per dwelling per single year of age, :math:`|band \\cap s|` the number of ages
    the yield band shares with the stage; zero before completion.
    """
    h = scenario.housing
    st = district.stages
    out = np.zeros((len(years), len(district.area_codes), len(st), len(factor)))
    for code, year, dwellings in h.developments:
        a = district.area_codes.index(code)
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
                  fert_draw: NDArray[np.float64], mig_draw: NDArray[np.float64]) -> CohortInputs:
    """The inputs of :func:`~capacity.core.cohort.project_cohort` for a scenario.

    Projects from ``years[0]`` (the base year) to ``years[-1]``; ``fert_draw`` and
    ``mig_draw`` (one value per draw) multiply fertility and migration draw by draw.
    Net migration stays a :class:`~capacity.core.product.Product` (pattern by area, sex
    and age x scale by year x multiplier by draw): the engine multiplies it out one
    block of draws at a time, so memory does not grow with ``steps x draws``.
    """
    step_years = years[1:]
    fert = (district.fertility_array()[None, None, None, :, None]
            * fertility_multiplier(district, scenario, step_years)[:, None, None, None, None]
            * fert_draw[None, None, None, None, :])
    mig = Product(migration_base(district, scenario)[None, ..., None],
                  year_values(scenario.migration.scale, step_years)[:, None, None, None, None],
                  mig_draw[None, None, None, None, :])
    nlx = nlx_with_mortality(district, scenario.mortality.death_rate_multiplier)
    return CohortInputs(base=district.population_array(), steps=len(years) - 1, nLx=nlx[None, None, :, :, None],
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

def run(district: District, scenario: Scenario, *, draws: int = 0, seed: int = 0,
        progress: Callable[[int], None] | None = None) -> RunResult:
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
        Called with the number of draws finished after each block of the engine.
    """
    if draws < 0:
        raise InputError.one("--draws", "", "", f"expected a number of draws >= 0, found {draws}")
    check_scenario(district, scenario)
    years = np.arange(district.base_year, scenario.horizon + 1)
    steps = len(years) - 1
    n_draw = max(draws, 1)
    st = district.stages
    bands = stage_bands(district, scenario, years)

    fert_draw = sample(scenario.fertility.uncertainty, seed=seed, draws=draws, component="fertility", default=1.0)
    mig_draw = sample(scenario.migration.uncertainty, seed=seed, draws=draws, component="migration", default=1.0)
    house_draw = sample(scenario.housing.uncertainty, seed=seed, draws=draws, component="housing", default=1.0)

    n_area, n_sex, n_age = district.population_array().shape
    age_bands = [(int(a), int(b)) for a, b in zip(st["first_age"], st["last_age"])]

    children = np.empty((steps + 1, n_area, len(st), n_draw))
    if not scenario.demand_from_plan:
        # the engine works through the draws in blocks (its one level of chunking) and
        # keeps only the stage sums; results are bit-identical for any thread count
        threads = min(2, os.cpu_count() or 1) if n_draw >= 256 else 1
        proj = project_cohort(cohort_inputs(district, scenario, years, fert_draw, mig_draw),
                              keep_ages=slice(0, 0), age_bands=age_bands, threads=threads, progress=progress)
        assert proj.bands is not None
        np.sum(proj.bands, axis=2, out=children)
        del proj
        children += housing_children(district, scenario, years, house_draw)
        demand = demand_from_children(children, bands)
    else:
        children[:] = np.nan
        demand = plan_demand(district, years, n_draw)
        if progress is not None:
            progress(n_draw)

    projects = project_table(district, scenario, seed=seed, draws=draws)
    existing = district.places_array()
    places, clipped = places_by_year(existing, projects.arrays, years, n_draw)
    gap = strict_gap(demand, places)
    unplaced = None
    reach = None
    if scenario.travel_limit_km is not None:
        distances = area_distances_km(district)
        reach = distances <= scenario.travel_limit_km
        unplaced = transport_unplaced(gap.demand, gap.places, distances, scenario.travel_limit_km)
    schedule = match_projects(gap.demand, existing.sum(axis=2), projects.arrays, years, reach=reach)
    return RunResult(district, scenario, years, children, demand, places, gap, projects, schedule,
                     unplaced, draws, seed, {"closures_clipped": float(clipped.sum())})
