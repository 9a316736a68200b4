"""Maps of the gap per street (the layers they stack are in :mod:`capacity.plot.layers`).

* :func:`gap_map` -- choropleth of ``places - demand`` for one stage and year, on a
  diverging colour map centred on zero (shortfall red, surplus blue), with the
  construction projects of that stage as circles sized by places and labelled with their
  opening year (filled: open by that year; hollow: opening later).
* :func:`small_multiples` -- the same map for every stage in one year, or for one stage
  over several years. With several maps, each has its own colour scale and colour bar,
  centred on zero, so a shortfall of 500 junior places is not washed out by a surplus of
  5,000 kindergarten places; probabilities share one 0-1 scale.
* :func:`shortfall_probability_map` -- share of Monte Carlo draws with a shortfall
  (``p_shortfall`` of the gap table), on a sequential 0-1 scale.

Street labels are moved off each other and off the project circles and their opening
years (:func:`capacity.plot.layers.declutter`, adjustText). Every text is in the language
asked for (``lang="zh"`` or ``"en"``, default the district's; :mod:`capacity.i18n`);
streets are labelled in that language unless ``labels`` says otherwise. Streets are drawn
in the UTM zone of the district's centre so distances and shapes are true. Project
locations are not known to the street: each project is drawn at its street's centroid,
several in one street in a row under its label (in project order, so always the same).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capacity.i18n import current, tr
from capacity.plot.common import check_stage, check_year, in_language, pick_run, stage_label, target_year
from capacity.plot.fonts import cjk_font, has_cjk
from capacity.plot.layers import (
    GAP_CMAP,
    PROB_CMAP,
    declutter,
    district_areas,
    draw_projects,
    draw_streets,
    gap_norm,
    label_points,
    project_legend,
    project_points,
    projected_areas,
    resolve_labels,
)

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from capacity.io.district import District
    from capacity.results.result import Results, ScenarioView

def footer(fig: Figure, district: District, extra: str = "") -> None:
    """Attribution and data note at the bottom of a figure."""
    lines = [district.attribution, tr("data_note")]
    if extra:
        lines.append(extra)
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=5.5, color="#444444", ha="left", va="bottom",
             linespacing=1.4)


def _values(results: Results, run: ScenarioView, stage: str, year: int, column: str,
            level: str = "area") -> pd.Series:
    g = results.gap
    sel = g[(g["scenario"] == run.scenario.name) & (g["stage"] == stage) & (g["year"] == year)
            & (g["level"] == level)]
    if column not in sel:
        raise ValueError(f"expected a column {column!r} in the gap table"
                         + (" (run with draws > 0)" if column.startswith("p_") or column.endswith(("_p10", "_p90")) else ""))
    return sel.set_index("area_code")[column]


def _district_total(results: Results, run: ScenarioView, stage: str, year: int) -> pd.Series:
    g = results.gap
    row = g[(g["scenario"] == run.scenario.name) & (g["stage"] == stage) & (g["year"] == year)
            & (g["area_code"] == run.district.code)]
    return row.iloc[0]


def _level_areas(district: District, level: str) -> gpd.GeoDataFrame:
    """The polygons of a map's level: the streets, or the districts of a region."""
    if level == "area":
        return projected_areas(district)
    if level != "district":
        raise ValueError(f"expected level 'area' or 'district', found {level!r}")
    areas = district_areas(district)
    if areas.empty:
        raise ValueError(f"expected a region of several districts for level='district' (area codes whose first six "
                         f"digits differ from {district.code}), found one district")
    return areas


def _figure(figsize: tuple[float, float], dpi: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def _title(district: District, labels: str = "zh") -> str:
    if current() == "zh":
        return district.name_zh or district.name
    if labels == "zh" and district.name_zh:
        return f"{district.name} ({district.name_zh})"
    return district.name


def _draws(run: ScenarioView) -> str:
    sep = "，" if current() == "zh" else ", "
    return sep + tr("mean_of_draws", n=run.draws) if run.draws else ""


def _aspect(areas: gpd.GeoDataFrame) -> float:
    minx, miny, maxx, maxy = areas.total_bounds
    return float((maxx - minx) / max(maxy - miny, 1e-9))


class _Layout:
    """Inches to figure fractions for a stack: header, map rows, legend, footer."""

    def __init__(self, width: float, height: float):
        self.w, self.h = width, height

    def box(self, left: float, bottom: float, width: float, height: float) -> tuple[float, float, float, float]:
        return (left / self.w, bottom / self.h, width / self.w, height / self.h)


def _single_map(run: ScenarioView, areas: gpd.GeoDataFrame, width: float, dpi: float,
                legend: bool) -> tuple[Figure, Axes, Axes, _Layout]:
    header, legend_h, foot, cbar = 0.8, (0.62 if legend else 0.0), 0.42, 1.25
    map_w = width - cbar - 0.15
    map_h = map_w / _aspect(areas)
    height = header + map_h + legend_h + foot
    fig = _figure((width, height), dpi)
    lay = _Layout(width, height)
    ax = fig.add_axes(lay.box(0.1, foot + legend_h, map_w, map_h))
    cax = fig.add_axes(lay.box(width - cbar + 0.2, foot + legend_h + 0.12 * map_h, 0.16, 0.76 * map_h))
    return fig, ax, cax, lay


def _headline(fig: Figure, lay: _Layout, title: str, sub: str) -> None:
    fig.text(0.1 / lay.w, 1 - 0.12 / lay.h, title, fontsize=12.5, fontweight="bold", ha="left", va="top")
    fig.text(0.1 / lay.w, 1 - 0.47 / lay.h, sub, fontsize=8, ha="left", va="top", color="#333333",
             fontproperties=cjk_font(8) if has_cjk(sub) else None)


def _gap_colorbar(fig: Figure, coll: Any, cax: Axes, fontsize: float = 7.5, label: bool = True) -> None:
    cb = fig.colorbar(coll, cax=cax)
    if label:
        cb.set_label(tr("gap_units"), fontsize=fontsize)
    cb.ax.tick_params(labelsize=fontsize - 0.5)
    cb.ax.yaxis.set_major_formatter(_thousands())
    cb.ax.text(0.5, 1.015, tr("surplus"), transform=cb.ax.transAxes, ha="center", va="bottom", fontsize=fontsize,
               color="#2166ac", fontweight="bold")
    cb.ax.text(0.5, -0.015, tr("shortfall"), transform=cb.ax.transAxes, ha="center", va="top", fontsize=fontsize,
               color="#b2182b", fontweight="bold")


def _prob_colorbar(fig: Figure, coll: Any, cax: Axes, fontsize: float = 7.5) -> None:
    cb = fig.colorbar(coll, cax=cax)
    cb.set_label(tr("p_label"), fontsize=fontsize)
    cb.ax.yaxis.set_major_formatter(_percent())
    cb.ax.tick_params(labelsize=fontsize - 0.5)


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:+,.0f}" if v else "0")


@in_language
def gap_map(results: Results, stage: str, year: int | None = None, *, scenario: str | None = None,
            labels: str = "auto", projects: bool = True, width: float = 10.0, dpi: float = 100,
            level: str = "area") -> Figure:
    """Choropleth of the gap (places - demand) per street, or per district of a region, for one stage and year.

    Parameters
    ----------
    results : Results
    stage : str
        E.g. ``"primary"``.
    year : int, optional
        School year; default the plan's target year.
    scenario : str, optional
        Default the first scenario of ``results``.
    labels : {"auto", "zh", "en", "none"}
        Street names: in the figure's language (``auto``), Chinese, English, or none.
    lang : {"en", "zh"}, optional
        Language of every text (default: the district's ``language``, else English).
    projects : bool
        Draw the stage's construction projects.
    width : float
        Figure width in inches (the height follows the district's shape).
    level : {"area", "district"}
        ``district``: one polygon per district of a region (its streets dissolved), filled
        by minus its streets' summed shortfall (``gap.csv``'s district rows, no offsetting:
        :mod:`capacity.results.levels`).
    """
    run = pick_run(results, scenario)
    check_stage(run, stage)
    year = check_year(run, year if year is not None else target_year(run))
    labels = resolve_labels(labels)
    district = run.district
    areas = _level_areas(district, level)
    # a district's colour is its streets' shortfall summed (negative, as a gap): a surplus in
    # one street never hides a shortfall in another
    values = _values(results, run, stage, year, "gap") if level == "area" else -_values(results, run, stage, year,
                                                                                         "shortfall", level)
    total = _district_total(results, run, stage, year)
    fig, ax, cax, lay = _single_map(run, areas, width, dpi, legend=projects)
    points = project_points(run, projected_areas(district) if level != "area" else areas, stage) if projects else None
    texts: list[Any] = []
    coll = draw_streets(ax, areas, values, gap_norm(values.to_numpy()), GAP_CMAP, labels=labels,
                        at=label_points(areas, points), label_size=7, texts=texts)
    if points is not None:
        declutter(ax, texts, draw_projects(ax, points, year, size=6.5, label_size=7))
        project_legend(fig, year, (0.1 / lay.w, (0.42 + 0.58) / lay.h))
    else:
        declutter(ax, texts, [])
    _gap_colorbar(fig, coll, cax)
    sub = tr("map.gap_sub", district=_title(district, labels), scenario=tr("scenario_q", name=run.scenario.name),
             draws=_draws(run), short=total["shortfall"], surplus=total["surplus"])
    _headline(fig, lay, tr("map.gap_title" if level == "area" else "map.gap_title_district", stage=stage_label(run, stage), year=year), sub)
    footer(fig, district)
    return fig


def _as_list(v: Any) -> list[Any] | None:
    if v is None:
        return None
    if isinstance(v, (str, int, np.integer)):
        return [v]
    return list(v)


@in_language
def small_multiples(results: Results, stages: Sequence[str] | str | None = None,
                    years: Sequence[int] | int | None = None, *, scenario: str | None = None,
                    labels: str = "auto", projects: bool = True, value: str = "gap",
                    width: float = 10.0, dpi: float = 100) -> Figure:
    """Gap maps side by side on one colour scale.

    Either several stages in one year (default: every stage in the plan's target year) or
    one stage over several years (``stages="primary", years=[2025, 2030, 2035]``).
    ``value="p_shortfall"`` maps the probability of a shortfall instead (needs draws).
    """
    run = pick_run(results, scenario)
    district = run.district
    stage_list = _as_list(stages) or list(district.stage_names)
    year_list = [check_year(run, y) for y in (_as_list(years) or [target_year(run)])]
    if len(stage_list) > 1 and len(year_list) > 1:
        raise ValueError("expected several stages in one year or one stage over several years, not both")
    for s in stage_list:
        check_stage(run, s)
    labels = resolve_labels(labels)
    panels = [(s, y) for s in stage_list for y in year_list]
    areas = projected_areas(district)
    prob = value == "p_shortfall"
    if prob and run.draws == 0:
        raise ValueError("expected a run with draws > 0: the probability of a shortfall needs Monte Carlo draws")
    series = [_values(results, run, s, y, value) for s, y in panels]
    from matplotlib.colors import Normalize

    if prob:
        norms: list[Normalize] = [Normalize(0.0, 1.0)] * len(series)
        cmap, fmt = PROB_CMAP, "{:.0%}"
    else:
        norms = [gap_norm(v.to_numpy()) for v in series]
        cmap, fmt = GAP_CMAP, "{:+,.0f}"
    n = len(panels)
    cols = 1 if n == 1 else 2
    rows = math.ceil(n / cols)
    own_scale = not prob and n > 1  # a colour bar per map, each centred on zero
    header, foot, title_h, gap_x = 0.8, 0.42, 0.25, 0.1
    cbar = 0.0 if own_scale else 1.15
    bar_w = 0.75 if own_scale else 0.0
    panel_w = (width - cbar - 0.1 - gap_x * (cols - 1)) / cols - bar_w
    panel_h = panel_w / _aspect(areas)
    height = header + rows * (panel_h + title_h) + foot
    fig = _figure((width, height), dpi)
    lay = _Layout(width, height)
    draw_points = projects and not prob
    size = 5.2 if cols > 1 else 7.0
    coll = None
    for i, ((s, y), vals, norm) in enumerate(zip(panels, series, norms)):
        r, c = divmod(i, cols)
        bottom = foot + (rows - 1 - r) * (panel_h + title_h)
        left = 0.1 + c * (panel_w + bar_w + gap_x)
        ax = fig.add_axes(lay.box(left, bottom, panel_w, panel_h))
        points = project_points(run, areas, s) if draw_points else None
        texts: list[Any] = []
        coll = draw_streets(ax, areas, vals, norm, cmap, labels=labels, value_fmt=fmt, label_size=size,
                            at=label_points(areas, points), texts=texts)
        declutter(ax, texts, draw_projects(ax, points, y, size=size * 0.9, label_size=size) if points is not None
                  else [])
        ax.set_title(stage_label(run, s) if len(stage_list) > 1 else str(y), fontsize=9.5, pad=3, fontweight="bold")
        if own_scale:
            cax = fig.add_axes(lay.box(left + panel_w + 0.05, bottom + 0.2 * panel_h, 0.1, 0.6 * panel_h))
            _gap_colorbar(fig, coll, cax, 6, label=False)
    assert coll is not None
    map_h = rows * (panel_h + title_h)
    if not own_scale:
        cax = fig.add_axes(lay.box(width - cbar + 0.2, foot + 0.15 * map_h, 0.15, 0.7 * map_h))
        if prob:
            _prob_colorbar(fig, coll, cax, 7)
        else:
            _gap_colorbar(fig, coll, cax, 7)
    what = tr("map.multi_p") if prob else tr("map.multi_gap")
    if len(stage_list) > 1:
        title = tr("map.by_stage", what=what, year=year_list[0])
    else:
        title = tr("map.over_years", what=what, stage=stage_label(run, stage_list[0]),
                   years=", ".join(map(str, year_list)))
    sep = "，" if current() == "zh" else ", "
    sub = (_title(district, labels) + sep + tr("scenario_q", name=run.scenario.name)
           + (sep + tr("n_draws", n=run.draws) if run.draws else ""))
    if draw_points:
        sub += tr("map.circles")
    if own_scale:
        sub += (" " + tr("gap_units") + ". " if current() == "en" else tr("gap_units") + "。") + tr("map.scale_note")
    _headline(fig, lay, title, sub)
    footer(fig, district)
    return fig


def _percent() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


@in_language
def shortfall_probability_map(results: Results, stage: str | None = None, year: int | None = None, *,
                              scenario: str | None = None, labels: str = "auto", width: float = 10.0,
                              dpi: float = 100, level: str = "area") -> Figure:
    """Share of draws in which a street has a shortfall (needs a run with draws).

    With ``stage`` one map; without, every stage side by side (streets). ``level="district"``
    maps the districts of a region: the share of draws in which any of its streets is short.
    """
    run = pick_run(results, scenario)
    if run.draws == 0:
        raise ValueError("expected a run with draws > 0: the probability of a shortfall needs Monte Carlo draws")
    if stage is None:
        return small_multiples(results, None, year, scenario=scenario, labels=labels, value="p_shortfall",
                               width=width, dpi=dpi, lang=current())
    from matplotlib.colors import Normalize

    check_stage(run, stage)
    year = check_year(run, year if year is not None else target_year(run))
    labels = resolve_labels(labels)
    district = run.district
    areas = _level_areas(district, level)
    values = _values(results, run, stage, year, "p_shortfall", level)
    fig, ax, cax, lay = _single_map(run, areas, width, dpi, legend=False)
    texts: list[Any] = []
    coll = draw_streets(ax, areas, values, Normalize(0.0, 1.0), PROB_CMAP, labels=labels, value_fmt="{:.0%}",
                        label_size=7, texts=texts)
    declutter(ax, texts, [])
    _prob_colorbar(fig, coll, cax)
    _headline(fig, lay, tr("map.p_title" if level == "area" else "map.p_title_district", stage=stage_label(run, stage), year=year),
              tr("map.p_sub", district=_title(district, labels), scenario=tr("scenario_q", name=run.scenario.name),
                 n=run.draws, seed=run.seed))
    footer(fig, district)
    return fig


__all__ = ["gap_map", "small_multiples", "shortfall_probability_map", "projected_areas", "project_points",
           "gap_norm", "resolve_labels"]
