"""A map of the recommended actions (reuses :mod:`capacity.plot.maps`).

Each street is filled by the places the plan adds there beyond the scenario's projects
(class expansions, temporary classes, conversions' new places and new schools, summed over
stages and years), and labelled with its name and the changes to its projects: ``P2 −2y``
(brought forward two years), ``H1 +1y`` (deferred), ``K2 ×`` (cancelled).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.io.district import District

__all__ = ["actions_map", "street_notes"]


def street_notes(plan: pd.DataFrame, planned: dict[str, int]) -> tuple[pd.Series, dict[str, str]]:
    """Places added by candidate actions per street, and each street's project changes as text."""
    added = plan[(plan["kind"] != "project") & (plan["units"] > 0)].groupby("area_code")["places"].sum()
    notes: dict[str, list[str]] = {}
    projects = plan[plan["kind"] == "project"].drop_duplicates(["action_id", "area_code"])
    records: list[dict[Any, Any]] = projects.to_dict("records")
    for row in records:
        pid, area = str(row["action_id"]), str(row["area_code"])
        if int(row["units"]) == 0:
            notes.setdefault(area, []).append(f"{pid} ×")
        elif pid in planned and int(row["year"]) != planned[pid]:
            notes.setdefault(area, []).append(f"{pid} {int(row['year']) - planned[pid]:+d}y")
    return added, {a: " ".join(v) for a, v in notes.items()}


def actions_map(district: District, plan: pd.DataFrame, planned: dict[str, int], *, title: str = "",
                dpi: float = 150) -> Figure:
    """The map of the recommended actions.

    Parameters
    ----------
    district : District
    plan : DataFrame
        ``plan.csv`` (:func:`capacity.optimise.plan.plan_table`).
    planned : dict
        Project id -> opening year as written.
    title : str
        Subtitle (e.g. the scenario and the draws).
    dpi : float
    """
    from matplotlib.colors import Normalize

    from capacity.plot.layers import _nice, _text, draw_streets
    from capacity.plot.maps import _aspect, _figure, footer, projected_areas

    areas = projected_areas(district)
    added, notes = street_notes(plan, planned)
    values = added.reindex(areas.index).fillna(0.0)
    width = 7.0
    fig = _figure((width, width / max(_aspect(areas), 0.5) * 0.9 + 0.9), dpi)
    ax = fig.add_axes((0.02, 0.12, 0.8, 0.78))
    norm = Normalize(vmin=0.0, vmax=_nice(max(float(values.max()), 1.0)))
    coll = draw_streets(ax, areas, values, norm, "Greens", labels="en", value_fmt="+{:,.0f}", label_size=6.0)
    for code, text in notes.items():
        if code in areas.index:
            point = areas.loc[code, "label_point"]
            _text(ax, point.x, point.y - 0.045 * (ax.get_ylim()[1] - ax.get_ylim()[0]), text, 5.5,
                  ha="center", va="top", zorder=9, color="#8b0000")
    cax = fig.add_axes((0.85, 0.25, 0.025, 0.5))
    bar = fig.colorbar(coll, cax=cax)
    bar.set_label("places added by new actions (all stages)", fontsize=7)
    bar.ax.tick_params(labelsize=6.5)
    fig.text(0.02, 0.965, f"{district.name}: the optimised plan's actions", fontsize=11, weight="bold", va="top")
    sub = "red: projects brought forward (−) or deferred (+) by years, × cancelled"
    fig.text(0.02, 0.925, f"{title}; {sub}" if title else sub, fontsize=7, va="top", color="#333333")
    footer(fig, district, "Candidate actions and their costs are labelled assumptions (candidates.csv, column source).")
    return fig
