"""The written findings of a run and the scenario comparison, from the results' tables.

:func:`findings` says, per stage, in the language in force (:mod:`capacity.i18n`): how
many streets fall short in the plan's target year and by how much in all (the sum of the
streets' shortfalls, no offsetting between streets), which street most, from which year the
district as a whole falls short (net gap below zero), with draws the probability of a
net shortfall in the target year, what the projects that open by then add (places in the
target year minus places in the base year) and what the net gap would be without them
(``gap - added``, exact because places add up), and the plan's stated need against the
projected need. :func:`comparison` is the table of the scenario comparison page.

Everything comes from ``results.gap`` and ``results.plan_comparison``; nothing is rerun.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capacity.i18n import area_label, stage_name, tr

if TYPE_CHECKING:  # pragma: no cover
    from capacity.results.result import Results, ScenarioView

#: A shortfall smaller than this (places) is rounding, not a shortfall.
THRESHOLD = 0.5


def _street(run: ScenarioView, code: str) -> str:
    areas = run.district.areas
    row = areas[areas["area_code"] == code]
    if row.empty:
        return code
    return area_label(str(row["name_zh"].iloc[0]), str(row["name_en"].iloc[0]), code)


def stage_finding(results: Results, run: ScenarioView, stage: str, year: int) -> str:
    """One paragraph on one stage of one scenario in ``year`` (see the module's docstring)."""
    g = results.gap
    g = g[(g["scenario"] == run.name) & (g["stage"] == stage)]
    code = run.district.code
    streets = g[(g["year"] == year) & (g["level"] == "area")]
    district = g[g["area_code"] == code].sort_values("year")
    years = district["year"].to_numpy(int)

    def at(col: str, y: int) -> float:
        return float(district[col].to_numpy(float)[years == y][0])

    label = stage_name(run.stage_label(stage), stage)
    codes = streets["area_code"].to_numpy(str)
    gaps = streets["gap"].to_numpy(float)
    shorts = streets["shortfall"].to_numpy(float)
    short = shorts > THRESHOLD
    if not short.any():
        k = int(np.argmin(gaps))
        return tr("rep.no_short", stage=label, year=year, margin=float(gaps[k]), street=_street(run, str(codes[k])))
    k = int(np.argmax(shorts))
    net_short = years[district["gap"].to_numpy(float) < -THRESHOLD]
    fields = dict(stage=label, year=year, k=int(short.sum()), n=len(codes), short=float(shorts[short].sum()),
                  street=_street(run, str(codes[k])), worst=float(shorts[k]))
    text = (tr("rep.short", first=int(net_short[0]), **fields) if len(net_short)
            else tr("rep.short_never_total", **fields))
    if "p_shortfall" in district and run.draws:
        text += tr("rep.prob", p=at("p_shortfall", year))
    added = at("places", year) - at("places", int(years[0]))
    if added > THRESHOLD:
        without = -min(0.0, at("gap", year) - added)
        text += tr("rep.projects", added=added, year=year, without=without)
    pc = results.plan_comparison
    row = pc[(pc["scenario"] == run.name) & (pc["stage"] == stage)]
    need = row["plan_need"].to_numpy(float)
    if len(need) and np.isfinite(need[0]):
        text += tr("rep.plan_need", need=float(need[0]), year=int(row["target_year"].to_numpy(int)[0]),
                   projected=float(row["projected_need"].to_numpy(float)[0]))
    return text


def findings(results: Results, year: int | None = None, scenario: str | None = None) -> list[str]:
    """One paragraph per stage for ``scenario`` (default the first) in ``year`` (default the target year)."""
    run = results.view(scenario)
    y = int(year) if year is not None else run.target_year()
    return [stage_finding(results, run, s, y) for s in run.district.stage_names]


def comparison(results: Results, years: list[int]) -> pd.DataFrame:
    """Per scenario (rows) and stage x year (columns): the streets' shortfall summed (places)."""
    g = results.gap
    sel = g[(g["level"] == "area") & (g["year"].isin(years))]
    table = sel.pivot_table(index="scenario", columns=["stage", "year"], values="shortfall", aggfunc="sum",
                            sort=False)
    run = results.view()
    order = [(s, y) for s in run.district.stage_names for y in years if (s, y) in table.columns]
    return table[order].reindex(results.scenarios)


__all__ = ["THRESHOLD", "comparison", "findings", "stage_finding"]
