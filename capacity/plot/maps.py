"""Maps of the gap per street.

* :func:`gap_map` -- choropleth of ``places - demand`` for one stage and year, on a
  diverging colour map centred on zero (shortfall red, surplus blue), with the
  construction projects of that stage as circles sized by places and labelled with their
  opening year (filled: open by that year; hollow: opening later).
* :func:`small_multiples` -- the same map for every stage in one year, or for one stage
  over several years, on one shared colour scale.
* :func:`shortfall_probability_map` -- share of Monte Carlo draws with a shortfall
  (``p_shortfall`` of the gap table), on a sequential 0-1 scale.

Street labels are moved off each other and off the project circles and their opening
years (:func:`declutter`, adjustText). Every text is in the language asked for (``lang="zh"`` or ``"en"``, default the
district's; :mod:`capacity.i18n`); streets are labelled in that language unless
``labels`` says otherwise. Each map of :func:`small_multiples` has its own colour scale,
centred on zero, so a shortfall of 500 junior places is not washed out by one of 5,000
kindergarten places. Streets are drawn in the
UTM zone of the district's centre so distances and shapes are true. Project locations are
not known to the street: each project is drawn at its street's centroid, several in one
street spread evenly on a small circle around it (in project order, so always the same).
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

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from capacity.io.district import District
    from capacity.results.result import Results, ScenarioView

GAP_CMAP = "RdBu"
PROB_CMAP = "OrRd"
EDGE = "#4d4d4d"
PROJECT_FACE = "#222222"
MARKER_SCALE = 0.12  # marker area in pt^2 per place
SIZE_KEYS = (300, 600, 1200)


# --------------------------------------------------------------------------- geometry


def utm_epsg(areas: gpd.GeoDataFrame) -> int:
    """EPSG code of the UTM zone of the areas' centre."""
    centre = areas.to_crs(4326).union_all().centroid
    zone = int((centre.x + 180) // 6) + 1
    return (32600 if centre.y >= 0 else 32700) + zone


def projected_areas(district: District) -> gpd.GeoDataFrame:
    """The district's areas in their UTM zone, with label and centroid points."""
    areas = district.areas.to_crs(utm_epsg(district.areas)).copy()
    areas["label_point"] = areas.geometry.representative_point()
    areas["centroid"] = areas.geometry.centroid
    return areas.set_index("area_code", drop=False)


def _polygon_path(geom: Any) -> Any:
    from matplotlib.path import Path as MPath

    polys = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
    verts: list[np.ndarray] = []
    codes: list[np.ndarray] = []
    for poly in polys:
        for ring in [poly.exterior, *poly.interiors]:
            xy = np.asarray(ring.coords)[:, :2]
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0] = MPath.MOVETO
            c[-1] = MPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    return MPath(np.concatenate(verts), np.concatenate(codes))


def street_name(row: pd.Series, labels: str) -> str:
    """Label of a street: Chinese (without the 街道 suffix) or English."""
    zh = str(row.get("name_zh", "") or "")
    if labels == "zh" and zh:
        return zh[:-2] if zh.endswith("街道") and len(zh) > 3 else zh
    return str(row.get("name_en", "") or row["area_code"])


def resolve_labels(labels: str) -> str:
    """``auto`` -> the language in force; ``zh`` needs a CJK font (else InputError, never a fallback)."""
    if labels not in ("auto", "zh", "en", "none"):
        raise ValueError(f"expected labels 'auto', 'zh', 'en' or 'none', found {labels!r}")
    if labels == "auto":
        labels = current()
    if labels == "zh":
        from capacity.plot.fonts import require

        require()
    return labels


def _text(ax: Axes, x: float, y: float, text: str, size: float, **kw: Any) -> Any:
    from matplotlib import patheffects

    props = cjk_font(size) if has_cjk(text) else None
    extra = {"fontproperties": props} if props is not None else {"fontsize": size}
    return ax.text(x, y, text, path_effects=[patheffects.withStroke(linewidth=2.2, foreground="white")],
                   **extra, **kw)


def draw_streets(ax: Axes, areas: gpd.GeoDataFrame, values: pd.Series, norm: Normalize, cmap: str,
                 *, labels: str = "en", value_fmt: str | None = "{:+,.0f}", label_size: float = 6.5,
                 at: dict[str, tuple[float, float]] | None = None, texts: list[Any] | None = None) -> Any:
    """Fill the streets by ``values`` (indexed by area_code); returns the collection."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    patches = [PathPatch(_polygon_path(g)) for g in areas.geometry]
    vals = values.reindex(areas.index).to_numpy(float)
    coll = PatchCollection(patches, cmap=cmap, norm=norm, edgecolor=EDGE, linewidth=0.5)
    coll.set_array(np.ma.masked_invalid(vals))
    ax.add_collection(coll)
    minx, miny, maxx, maxy = areas.total_bounds
    pad = 0.03 * max(maxx - minx, maxy - miny)
    ax.set_xlim(minx - pad, maxx + pad)
    ax.set_ylim(miny - pad, maxy + pad)
    ax.set_aspect("equal")
    ax.set_axis_off()
    if labels != "none":
        for code, row in areas.iterrows():
            x, y = at[str(code)] if at is not None else (row["label_point"].x, row["label_point"].y)
            name = street_name(row, labels)
            v = values.get(code, np.nan)
            text = f"{name}\n{value_fmt.format(v)}" if value_fmt is not None and np.isfinite(v) else name
            label = _text(ax, x, y, text, label_size, ha="center", va="center", zorder=8, linespacing=1.05)
            if texts is not None:
                texts.append(label)
    return coll


def declutter(ax: Axes, texts: list[Any], objects: list[Any]) -> None:
    """Move street labels off each other and off the project circles (adjustText), within the map.

    A label moves as little as it must, and stays inside the axes; its street is still the
    one under or next to it (labels start at a point inside their street).
    """
    if not texts:
        return
    from adjustText import adjust_text
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = ax.get_figure(root=True)
    assert fig is not None
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)  # measures texts
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    fig.draw_without_rendering()
    inverse = ax.transData.inverted()
    boxes = []
    for art in objects:
        box = art.get_window_extent(renderer).transformed(inverse)
        if np.isfinite(box.get_points()).all() and box.width > 0:
            boxes.append(box)
    adjust_text(texts, ax=ax, objects=boxes or None, expand=(1.08, 1.25), force_text=(0.15, 0.3),
                force_static=(0.2, 0.4), max_move=(12, 12), iter_lim=50, ensure_inside_axes=True)


def project_points(run: ScenarioView, areas: gpd.GeoDataFrame, stage: str) -> pd.DataFrame:
    """The stage's projects with places, median opening year and drawing position.

    ``x``, ``y`` are the street's centroid; ``dx``, ``dy`` an offset in points that puts
    the circles in a row under the street's label, in project order (deterministic).
    """
    projects = run.projects()
    projects = projects[projects["stage"] == stage]
    cols = ["project_id", "area_code", "places", "opening_year", "cancelled", "x", "y", "dx", "dy"]
    if len(projects) == 0:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame({
        "project_id": projects["project_id"].to_numpy(),
        "area_code": projects["area_code"].to_numpy(),
        "places": projects["places"].to_numpy(float),
        "opening_year": projects["opening"].to_numpy().round().astype(int),
        "cancelled": projects["cancelled_share"].to_numpy(float),
    })
    frame = frame[frame["places"] > 0].sort_values(["area_code", "project_id"]).reset_index(drop=True)
    frame["x"] = [areas.loc[c, "centroid"].x for c in frame["area_code"]]
    frame["y"] = [areas.loc[c, "centroid"].y for c in frame["area_code"]]
    frame["dx"] = 0.0
    frame["dy"] = 0.0
    return frame


def label_points(areas: gpd.GeoDataFrame, points: pd.DataFrame | None) -> dict[str, tuple[float, float]]:
    """Where to write each street's name: its centroid if it has projects, else a point inside it."""
    with_projects = set(points["area_code"]) if points is not None and not points.empty else set()
    out = {}
    for code, row in areas.iterrows():
        p = row["centroid"] if code in with_projects and row.geometry.contains(row["centroid"]) else row["label_point"]
        out[str(code)] = (float(p.x), float(p.y))
    return out


def layout_projects(points: pd.DataFrame, label_size: float) -> pd.DataFrame:
    """Offsets (points) putting each street's project circles in a row under its label."""
    points = points.copy()
    for _, group in points.groupby("area_code", sort=True):
        radii = np.sqrt(group["places"].to_numpy() * MARKER_SCALE) / 2
        widths = np.maximum(2 * radii, 3.0 * label_size) + 2.0
        centres = np.cumsum(widths) - widths / 2 - widths.sum() / 2
        points.loc[group.index, "dx"] = centres
        points.loc[group.index, "dy"] = -(label_size * 1.25 + 1.5 + radii)
    return points


def draw_projects(ax: Axes, points: pd.DataFrame, year: int | None, size: float = 6.0,
                  label_size: float = 6.5) -> list[Any]:
    """Circles sized by places: filled if open by ``year``, hollow if later; opening year under each.

    Returns the circles and year labels (for :func:`declutter` to keep street labels off them).
    """
    from matplotlib.transforms import ScaledTranslation

    drawn: list[Any] = []
    if points.empty:
        return drawn
    points = layout_projects(points, label_size)
    fig = ax.figure
    for _, p in points.iterrows():
        opened = year is None or p["opening_year"] <= year
        shift = ScaledTranslation(p["dx"] / 72, p["dy"] / 72, fig.dpi_scale_trans)
        area = p["places"] * MARKER_SCALE
        drawn.append(ax.scatter([p["x"]], [p["y"]], s=[area], transform=ax.transData + shift, zorder=6,
                                c=PROJECT_FACE if opened else "white", edgecolors="white" if opened else PROJECT_FACE,
                                linewidths=0.8 if opened else 1.1))
        drawn.append(ax.annotate(str(int(p["opening_year"])), (p["x"], p["y"]), xycoords=ax.transData + shift,
                                 xytext=(0, -(math.sqrt(area) / 2 + 0.8)), textcoords="offset points", fontsize=size,
                                 ha="center", va="top", zorder=9, color="#111111", path_effects=_halo()))
    return drawn


def _halo() -> list[Any]:
    from matplotlib import patheffects

    return [patheffects.withStroke(linewidth=2.0, foreground="white")]


def project_legend(fig: Figure, year: int | None, anchor: tuple[float, float], fontsize: float = 7) -> None:
    """One-row legend for the project circles (sizes; open or opening later) at ``anchor``."""
    from matplotlib.lines import Line2D

    handles = []
    for places in SIZE_KEYS:
        handles.append(Line2D([], [], ls="", marker="o", markersize=math.sqrt(places * MARKER_SCALE),
                              markerfacecolor=PROJECT_FACE, markeredgecolor="white", label=tr("map.places", n=places)))
    when = tr("map.open_by", year=year) if year is not None else tr("map.open")
    handles.append(Line2D([], [], ls="", marker="o", markersize=7, markerfacecolor=PROJECT_FACE,
                          markeredgecolor="white", label=when))
    handles.append(Line2D([], [], ls="", marker="o", markersize=7, markerfacecolor="white",
                          markeredgecolor=PROJECT_FACE, label=tr("map.later")))
    fig.legend(handles=handles, loc="upper left", bbox_to_anchor=anchor, ncol=len(handles), fontsize=fontsize,
               title=tr("map.projects"), title_fontsize=fontsize,
               frameon=False, borderaxespad=0.0, columnspacing=1.6, handletextpad=0.4,
               alignment="left")


def gap_norm(values: np.ndarray) -> Normalize:
    """Diverging norm centred on zero, symmetric so equal shortfall and surplus get equal colour."""
    from matplotlib.colors import TwoSlopeNorm

    finite = np.asarray(values, float)
    finite = finite[np.isfinite(finite)]
    limit = float(np.abs(finite).max()) if finite.size else 1.0
    limit = _nice(max(limit, 1.0))
    return TwoSlopeNorm(vcenter=0.0, vmin=-limit, vmax=limit)


def _nice(v: float) -> float:
    """Round up to 1, 2, 2.5 or 5 times a power of ten."""
    exp = 10.0 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return float(m * exp)
    return float(10 * exp)  # pragma: no cover


def footer(fig: Figure, district: District, extra: str = "") -> None:
    """Attribution and data note at the bottom of a figure."""
    lines = [district.attribution, tr("data_note")]
    if extra:
        lines.append(extra)
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=5.5, color="#444444", ha="left", va="bottom",
             linespacing=1.4)


def _values(results: Results, run: ScenarioView, stage: str, year: int, column: str) -> pd.Series:
    g = results.gap
    sel = g[(g["scenario"] == run.scenario.name) & (g["stage"] == stage) & (g["year"] == year)
            & (g["area_code"] != run.district.code)]
    if column not in sel:
        raise ValueError(f"expected a column {column!r} in the gap table"
                         + (" (run with draws > 0)" if column.startswith("p_") or column.endswith(("_p10", "_p90")) else ""))
    return sel.set_index("area_code")[column]


def _district_total(results: Results, run: ScenarioView, stage: str, year: int) -> pd.Series:
    g = results.gap
    row = g[(g["scenario"] == run.scenario.name) & (g["stage"] == stage) & (g["year"] == year)
            & (g["area_code"] == run.district.code)]
    return row.iloc[0]


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
            labels: str = "auto", projects: bool = True, width: float = 10.0, dpi: float = 100) -> Figure:
    """Choropleth of the gap (places - demand) per street for one stage and year.

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
    """
    run = pick_run(results, scenario)
    check_stage(run, stage)
    year = check_year(run, year if year is not None else target_year(run))
    labels = resolve_labels(labels)
    district = run.district
    areas = projected_areas(district)
    values = _values(results, run, stage, year, "gap")
    total = _district_total(results, run, stage, year)
    fig, ax, cax, lay = _single_map(run, areas, width, dpi, legend=projects)
    points = project_points(run, areas, stage) if projects else None
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
    _headline(fig, lay, tr("map.gap_title", stage=stage_label(run, stage), year=year), sub)
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
                              dpi: float = 100) -> Figure:
    """Share of draws in which a street has a shortfall (needs a run with draws).

    With ``stage`` one map; without, every stage side by side.
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
    areas = projected_areas(district)
    values = _values(results, run, stage, year, "p_shortfall")
    fig, ax, cax, lay = _single_map(run, areas, width, dpi, legend=False)
    texts: list[Any] = []
    coll = draw_streets(ax, areas, values, Normalize(0.0, 1.0), PROB_CMAP, labels=labels, value_fmt="{:.0%}",
                        label_size=7, texts=texts)
    declutter(ax, texts, [])
    _prob_colorbar(fig, coll, cax)
    _headline(fig, lay, tr("map.p_title", stage=stage_label(run, stage), year=year),
              tr("map.p_sub", district=_title(district, labels), scenario=tr("scenario_q", name=run.scenario.name),
                 n=run.draws, seed=run.seed))
    footer(fig, district)
    return fig


__all__ = ["gap_map", "small_multiples", "shortfall_probability_map", "projected_areas", "project_points",
           "gap_norm", "resolve_labels"]
