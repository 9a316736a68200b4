"""The layers of a gap map: streets, their labels, the construction projects, the colour scale.

* :func:`projected_areas` -- the district's streets in their UTM zone, with label points
  and centroids; :func:`draw_streets` fills them by a value and labels them (name and
  value as one label); :func:`declutter` moves the labels off each other and off the
  project circles and years (adjustText).
* :func:`project_points`, :func:`draw_projects`, :func:`project_legend` -- the stage's
  projects as circles sized by places with their opening year; filled once open.
* :func:`gap_norm` -- a colour scale centred on zero and symmetric, rounded to a nice limit.

The figures that stack these layers are in :mod:`capacity.plot.maps`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capacity.i18n import current, tr
from capacity.plot.fonts import cjk_font, has_cjk

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    from capacity.io.district import District
    from capacity.results.result import ScenarioView

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


def district_areas(district: District) -> gpd.GeoDataFrame:
    """The districts of a region (:mod:`capacity.results.levels`) as areas: their streets
    dissolved, in the streets' UTM zone, labelled by district code, with label and centroid
    points. Empty for a folder that is one district."""
    from capacity.results.levels import DISTRICT_DIGITS, aggregates

    codes = [a.code for a in aggregates(district.area_codes, district.code) if a.code != district.code]
    streets = district.areas.to_crs(utm_epsg(district.areas))
    streets = streets.assign(group=streets["area_code"].str[:DISTRICT_DIGITS])
    areas = streets[streets["group"].isin(codes)][["group", "geometry"]].dissolve(by="group", sort=True)
    areas["area_code"] = areas.index.astype(str)
    areas["name_zh"] = ""
    areas["name_en"] = areas["area_code"]
    areas["label_point"] = areas.geometry.representative_point()
    areas["centroid"] = areas.geometry.centroid
    areas.index.name = None
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


__all__ = ["EDGE", "GAP_CMAP", "MARKER_SCALE", "PROB_CMAP", "PROJECT_FACE", "SIZE_KEYS", "declutter", "draw_projects", "draw_streets", "gap_norm", "label_points", "layout_projects", "project_legend", "project_points", "projected_areas", "resolve_labels", "street_name", "utm_epsg"]
