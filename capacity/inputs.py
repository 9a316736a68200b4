"""A scenario on a district as the arrays of the numpy core.

Every assumption of a :class:`~capacity.scenario.Scenario` becomes an array in the core's
axis order ``(year, area, ..., draw)`` here, and nothing else happens here: the stage
parameters with the scenario's overrides (:func:`stage_bands`), fertility, mortality and
migration as the projection's inputs (:func:`cohort_inputs`), the children of new housing,
the projects after the scenario's changes with their random delays and cancellations
(:func:`project_table`), the demand of the plan as written (:func:`plan_demand`) and the
distances between areas. :mod:`capacity.model` runs them chunk by chunk.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from capacity.core.cohort import CohortInputs, Product
from capacity.core.demand import StageBands
from capacity.core.supply import ProjectArrays
from capacity.ensemble import sample, uniforms
from capacity.io.district import District
from capacity.scenario import STAGE_PARAMETERS, Scenario, year_values

if TYPE_CHECKING:
    from capacity.forecast.driver import MethodChildren

__all__ = ["AreaArrays", "ProjectTable", "area_distances_km", "cohort_inputs", "fertility_multiplier",
           "housing_children", "migration_base", "nlx_with_mortality", "plan_demand", "project_table", "stage_bands"]


@dataclass(frozen=True)
class ProjectTable:
    """The projects of a run: a table (one row per project and stage) and its arrays."""

    table: pd.DataFrame
    arrays: ProjectArrays


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
    method : MethodChildren or None
        The children of the stages the scenario's ``method`` projects from the district's
        history, with their past errors (:func:`capacity.forecast.driver.method_children`);
        None when every stage uses the engine.
    """

    population: NDArray[np.float64]
    migration: NDArray[np.float64]
    places: NDArray[np.float64]
    method: MethodChildren | None = None

    @classmethod
    def of(cls, district: District, scenario: Scenario, with_method: bool = True) -> AreaArrays:
        """The arrays of a run (``with_method=False``: without the method's children, for the engine's inputs alone)."""
        method = None
        if with_method:
            from capacity.forecast.driver import method_children, uses_method

            method = method_children(district, scenario) if uses_method(scenario, district.stage_names) else None
        return cls(district.population_array(), migration_base(district, scenario), district.places_array(), method)


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
    arrays = arrays if arrays is not None else AreaArrays.of(district, scenario, with_method=False)
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
