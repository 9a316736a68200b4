"""The calculation behind one cell of the gap table (``capacity explain``).

For an area, a stage and a year it shows

* demand: the children of each single age of the stage by sex, the enrolment rate, the
  migrant share and the public shares, and the public and private demand they give;
* supply: the base-year places by sector and every project of that area and stage with
  the share of its places open in that year (and why: opening year, phase, delay,
  cancellation);
* the gap, shortfall and surplus.

The numbers come from the same functions as ``capacity run`` (a deterministic run: every
distribution at its centre), recomputed for the one cell with every age kept.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.io.district import District
from capacity.scenario import Scenario


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
    """Explain one cell (see the module docstring)."""
    from capacity import model
    from capacity.core.cohort import project_cohort

    file = "capacity explain"
    if area not in district.area_codes:
        raise InputError.one(file, "option --area", "", f"expected an area code of {district.name} "
                             f"({district.area_codes[0]} ... {district.area_codes[-1]}), found {area!r}")
    stages = district.stage_names
    if stage not in stages:
        raise InputError.one(file, "option --stage", "", f"expected one of {', '.join(stages)}, found {stage!r}")
    if not district.base_year <= year <= scenario.horizon:
        raise InputError.one(file, "option --year", "", f"expected a year in {district.base_year}..{scenario.horizon}, found {year}")
    model.check_scenario(district, scenario)
    result = model.run(district, scenario)
    a = district.area_codes.index(area)
    s = stages.index(stage)
    t = year - district.base_year
    st = district.stages.iloc[s]
    bands = model.stage_bands(district, scenario, result.years)

    first, last = int(st["first_age"]), int(st["last_age"])
    rows = []
    if not scenario.demand_from_plan:
        one = np.ones(1)
        proj = project_cohort(
            model.cohort_inputs(district, scenario, result.years[:t + 1], one, one),
            keep_ages=slice(first, last + 1),
        ) if t > 0 else None
        pop = (proj.population[t, a, :, :, 0] if proj is not None
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

    proj_tab = result.projects.table
    arrays = result.projects.arrays
    frac = arrays.open_fraction(result.years, 1)[:, t, 0]
    existing = district.places_array()[a, s]
    supply_rows = [{"item": "base-year places", "sector": "public", "places": existing[0], "open_share": 1.0,
                    "counted": existing[0], "why": f"places.csv ({district.base_year})"},
                   {"item": "base-year places", "sector": "private", "places": existing[1], "open_share": 1.0,
                    "counted": existing[1], "why": f"places.csv ({district.base_year})"}]
    for i, r in proj_tab.iterrows():
        if arrays.area[i] != a or arrays.stage[i] != s:
            continue
        opening = int(arrays.opening_year[i, 0])
        why = f"opens {opening}"
        if int(r.get("delay", 0)):
            why += f" (delayed {int(r['delay'])} years from {opening - int(r['delay'])})"
        if arrays.phases.shape[1] > 1 and (arrays.phases[i, 1:] > 0).any():
            why += f", phases {arrays.phases[i].round(2).tolist()}"
        if bool(arrays.cancelled[i, 0]):
            why = "cancelled"
        elif frac[i] == 0:
            why += ": not yet open"
        supply_rows.append({"item": f"{r['project_id']} {r.get('name_en', '')}", "sector": r["ownership"],
                            "places": float(r["places"]), "open_share": float(frac[i]),
                            "counted": float(r["places"]) * float(frac[i]), "why": why})
    supply = pd.DataFrame(supply_rows)

    dem = result.demand[t, a, s, :, 0]
    plc = result.places[t, a, s, :, 0]
    housing = float(model.housing_children(district, scenario, result.years, np.ones(1))[t, a, s, 0])
    totals = {
        "demand": float(dem.sum()), "demand_public": float(dem[0]), "demand_private": float(dem[1]),
        "places": float(plc.sum()), "places_public": float(plc[0]), "places_private": float(plc[1]),
        "gap": float(plc.sum() - dem.sum()), "shortfall": float(max(dem.sum() - plc.sum(), 0)),
        "surplus": float(max(plc.sum() - dem.sum(), 0)), "housing": housing,
    }
    names = dict(zip(district.areas["area_code"], district.areas["name_en"]))
    return Explanation(area, names.get(area, area), stage, year, scenario.name, cohorts, supply, totals)
