"""The calculation behind one cell of the gap table (``capacity explain``, :func:`capacity.explain`).

For an area, a stage and a year it shows

* demand: the children of each single age of the stage by sex, the enrolment rate, the
  migrant share and the public shares, and the public and private demand they give;
* supply: the base-year places by sector and every project of that area and stage with
  the share of its places open in that year (and why: opening year, phase, delay,
  cancellation);
* the gap, shortfall and surplus.

The totals, places and projects are a selection of the results' Dataset (of a deterministic
run: every distribution at its centre); the cohorts by single age and the rates come from
the model's inputs, recomputed for the one cell with every age kept (for a stage whose
children a forecasting method projects, the method's projection from the district's
history, :func:`capacity.forecast.driver.project_stages`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.io.district import District
from capacity.results.result import Results as BaseResults
from capacity.scenario import Scenario
from capacity.scenario_check import check_scenario


@dataclass(frozen=True, repr=False)
class Explanation:
    """One cell's calculation: ``cohorts`` (demand side), ``supply`` (places) and totals."""

    area_code: str
    area_name: str
    stage: str
    year: int
    scenario: str
    cohorts: pd.DataFrame
    supply: pd.DataFrame
    totals: dict[str, float]

    def __repr__(self) -> str:
        return self.to_text()

    def _repr_html_(self) -> str:
        return f"<pre>{html.escape(self.to_text())}</pre>"

    def to_text(self) -> str:
        """A plain-text account of the cell."""
        t = self.totals
        lines = [
            f"{self.area_name} ({self.area_code}), {self.stage}, school year {self.year}/{self.year + 1}, "
            f"scenario '{self.scenario}'",
            "",
            "Demand = children of each age x enrolment rate, split public/private by "
            "(1 - migrant share) x local public share + migrant share x migrant public share",
            self.cohorts.to_string(index=False, float_format=lambda v: f"{v:,.2f}"),
            f"  demand: {t['demand']:,.1f} (public {t['demand_public']:,.1f}, private {t['demand_private']:,.1f})"
            + (f", of which {t['housing']:,.1f} children from new housing" if t.get("housing") else ""),
            "",
            "Supply = base-year places + projects open in this year",
            self.supply.to_string(index=False, float_format=lambda v: f"{v:,.1f}"),
            f"  places: {t['places']:,.1f} (public {t['places_public']:,.1f}, private {t['places_private']:,.1f})",
            "",
            f"Gap = places - demand = {t['gap']:,.1f}  (shortfall {t['shortfall']:,.1f}, surplus {t['surplus']:,.1f})",
        ]
        return "\n".join(lines)


def explain(district: District, scenario: Scenario, *, area: str, stage: str, year: int) -> Explanation:
    """Explain one cell of a deterministic run of ``scenario`` (see the module docstring).

    Parameters
    ----------
    district : District
    scenario : Scenario
    area : str
        Area code.
    stage : str
    year : int
        School year, from the base year to the scenario's horizon.

    Returns
    -------
    Explanation
    """
    from capacity import model
    from capacity.results.result import Results, from_runs

    _check(district, area, stage, year, scenario.horizon)
    check_scenario(district, scenario)
    return explain_results(from_runs(Results, [model.run(district, scenario)]), area=area, stage=stage, year=year)


def _check(district: District, area: str, stage: str, year: int, horizon: int) -> None:
    file = "capacity explain"
    if area not in district.area_codes:
        raise InputError.one(file, "option --area", "", f"expected an area code of {district.name} "
                             f"({district.area_codes[0]} ... {district.area_codes[-1]}), found {area!r}")
    stages = district.stage_names
    if stage not in stages:
        raise InputError.one(file, "option --stage", "", f"expected one of {', '.join(stages)}, found {stage!r}")
    if not district.base_year <= year <= horizon:
        raise InputError.one(file, "option --year", "", f"expected a year in {district.base_year}..{horizon}, found {year}")


def explain_results(results: BaseResults, *, area: str, stage: str, year: int, scenario: str | None = None,
                    draw: int = 0) -> Explanation:
    """Explain one cell as a selection of ``results`` (default: the first scenario, draw 0).

    The totals, the places and the projects' opening years, phases and cancellations are
    read from the results' Dataset; the cohorts by single age and sex and the stage's
    rates come from the model's inputs (the Dataset keeps stage totals only).

    Parameters
    ----------
    results : capacity.results.Results
    area, stage : str
    year : int
    scenario : str, optional
    draw : int
        Which draw's figures to show (the cohorts are those of the deterministic run).

    Returns
    -------
    Explanation
    """
    from capacity import inputs
    from capacity.core.cohort import project_cohort

    view = results.view(scenario)
    district, scen = view.district, view.scenario
    _check(district, area, stage, year, view.horizon)
    ds = view.ds
    a = district.area_codes.index(area)
    s = district.stage_names.index(stage)
    years = view.years
    t = int(np.searchsorted(years, year))
    st = district.stages.iloc[s]
    bands = inputs.stage_bands(district, scen, years)

    first, last = int(st["first_age"]), int(st["last_age"])
    rows = []
    if not scen.demand_from_plan:
        from capacity.forecast.driver import project_stages

        chosen, by_method = project_stages(district, scen, years)  # the stages a forecasting method projects
        one = np.ones(1)
        proj = project_cohort(
            inputs.cohort_inputs(district, scen, years[:t + 1], one, one),
            keep_ages=slice(first, last + 1),
        ) if t > 0 and s not in dict(chosen) else None
        pop = (by_method[[k for k, _ in chosen].index(s)][t, a] if s in dict(chosen)
               else proj.population[t, a, :, :, 0] if proj is not None
               else district.population_array()[a, :, first:last + 1])
        rate = float(bands.enrolment_rate[t, 0, s, 0])
        for k, age in enumerate(range(first, last + 1)):
            children = float(pop[:, k].sum())
            rows.append({"age": age, "female": float(pop[0, k]), "male": float(pop[1, k]),
                         "children": children, "enrolment_rate": rate, "enrolled": children * rate})
    cohorts = pd.DataFrame(rows)
    m = float(bands.migrant_share[t, 0, s, 0])
    lp = float(bands.local_public_share[t, 0, s, 0])
    mp = float(bands.migrant_public_share[t, 0, s, 0])
    if len(cohorts):
        cohorts["migrant_share"] = m
        cohorts["public_share"] = (1 - m) * lp + m * mp

    existing = district.places_array()[a, s]
    supply_rows = [{"item": "base-year places", "sector": "public", "places": existing[0], "open_share": 1.0,
                    "counted": existing[0], "why": f"places.csv ({district.base_year})"},
                   {"item": "base-year places", "sector": "private", "places": existing[1], "open_share": 1.0,
                    "counted": existing[1], "why": f"places.csv ({district.base_year})"}]
    cell = ds.isel(draw=draw)
    mine = np.flatnonzero((cell["project_area"].values.astype(str) == area)
                          & (cell["project_stage"].values.astype(str) == stage))
    for i in mine:
        p = cell.isel(project=i)
        opening = int(p["opening_year"].values)
        delay = int(p["delay"].values)
        phases = p["phase_share"].values
        cancelled = bool(p["cancelled"].values)
        share = 0.0 if cancelled else float(sum(ph for k, ph in enumerate(phases) if opening + k <= year))
        why = f"opens {opening}"
        if delay:
            why += f" (delayed {delay} years from {opening - delay})"
        if len(phases) > 1 and (phases[1:] > 0).any():
            why += f", phases {phases.round(2).tolist()}"
        if cancelled:
            why = "cancelled"
        elif share == 0:
            why += ": not yet open"
        places = float(p["project_places"].values)
        supply_rows.append({"item": f"{p['project_id'].values} {p['project_name_en'].values}",
                            "sector": str(p["project_ownership"].values), "places": places, "open_share": share,
                            "counted": places * share, "why": why})
    supply = pd.DataFrame(supply_rows)

    at = cell.sel(year=year, area=area, stage=stage)
    dem = at["demand"].transpose("sector").values
    plc = at["places"].transpose("sector").values
    housing = float(inputs.housing_children(district, scen, years, np.ones(1))[t, a, s, 0])
    totals = {
        "demand": float(dem.sum()), "demand_public": float(dem[0]), "demand_private": float(dem[1]),
        "places": float(plc.sum()), "places_public": float(plc[0]), "places_private": float(plc[1]),
        "gap": float(plc.sum() - dem.sum()), "shortfall": float(max(dem.sum() - plc.sum(), 0)),
        "surplus": float(max(plc.sum() - dem.sum(), 0)), "housing": housing,
    }
    name = dict(zip((str(c) for c in ds["area"].values), (str(n) for n in ds["area_name_en"].values)))
    return Explanation(area, name.get(area, area), stage, year, view.name, cohorts, supply, totals)
