"""The areas of a district: the areas file read, and the geometries checked.

The areas (streets) are ``areas.geojson`` (GeoJSON, WGS-84), or ``areas.gpkg`` /
``areas.shp`` for formats that carry their own CRS. Exactly one of them must exist. The
features' properties are checked like a table (:mod:`capacity.io.checks`); the geometries
here, for areas read from a file or built in code alike: present, polygon or multipolygon,
valid, a CRS, longitude/latitude after conversion to EPSG:4326, no two areas overlapping
(candidate pairs from an STRtree, so near linear in the number of areas).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from capacity.errors import Problem
from capacity.io.checks import Where
from capacity.io.read import read_text

__all__ = ["AREA_FILES", "OVERLAP_TOLERANCE", "check_geometry", "read_areas"]

#: Accepted names of the areas file, in order of preference.
AREA_FILES = ("areas.geojson", "areas.gpkg", "areas.shp")

#: Two areas overlap when their intersection exceeds this share of the smaller one's area
#: (shared borders digitised twice leave slivers far below it).
OVERLAP_TOLERANCE = 1e-3

_SHP_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


def _as_text(series: pd.Series) -> np.ndarray:
    """Property values as text: missing -> "", whole floats without ".0"."""
    return np.array(["" if v is None or v != v else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
                     for v in series], dtype=object)


def _read_vector(path: Path, shown: str, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """The features of an areas file, or ``None`` (and a problem) if it cannot be read."""
    layer: dict[str, Any] = {}
    if path.suffix == ".geojson":
        text, problem = read_text(path, shown, {}, "")
        try:
            doc = json.loads(text) if text is not None else None
        except json.JSONDecodeError as error:
            problem = Problem(shown, f"line {error.lineno}", "", f"expected valid JSON, found: {error.msg} (column {error.colno})")
        if problem is None and (not isinstance(doc, dict) or doc.get("type") != "FeatureCollection"):
            found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
            problem = Problem(shown, "", "", f"expected a GeoJSON FeatureCollection, found {found!r}")
    else:
        import pyogrio

        try:
            layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
            problem = None if len(layers) == 1 or "areas" in layers else Problem(
                shown, "", "", f"expected one layer (or one named 'areas'), found layers {', '.join(layers)}")
            layer = {"layer": "areas"} if len(layers) > 1 else {}
        except Exception as error:  # pyogrio raises several error types for unreadable files
            problem = Problem(shown, "", "", f"expected a readable {path.suffix[1:]} file, found: {_first_line(error)}")
    if problem is not None:
        problems.append(problem)
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return gpd.read_file(path, engine="pyogrio", **layer)
    except Exception as error:  # pyogrio raises several error types for unreadable files
        problems.append(Problem(shown, "", "", f"expected a readable areas file, found: {_first_line(error)}"))
        return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def check_geometry(areas: gpd.GeoDataFrame, where: Where, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Check the geometries of the areas (in file or given order) and convert them to EPSG:4326.

    Returns the areas (index reset), or ``None`` on any problem (in ``problems``, naming
    each feature as ``where`` does).
    """
    found: list[Problem] = []
    geoms = areas.geometry.to_numpy()
    codes = areas["area_code"].astype(str).to_numpy() if "area_code" in areas.columns else np.full(len(areas), "")
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygon = ~empty & np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    valid = polygon & shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid):
        text = ("no geometry" if empty[i] else f"a {geoms[i].geom_type}") if not polygon[i] else shapely.is_valid_reason(geoms[i])
        found.append(Problem(where.name, where.row(int(i)), "geometry",
                             f"expected a valid polygon, found {text}" if polygon[i] else f"expected a polygon or multipolygon, found {text}"))
    index = np.flatnonzero(valid)
    if len(index) > 1:
        sub = geoms[index]
        left, right = shapely.STRtree(sub).query(sub, predicate="intersects")
        keep = left < right
        left, right = left[keep], right[keep]
        shared = shapely.area(shapely.intersection(sub[left], sub[right]))
        size = shapely.area(sub)
        smaller = np.minimum(size[left], size[right])
        for a, b, s, m in zip(left, right, shared, smaller):
            if m > 0 and s > OVERLAP_TOLERANCE * m:
                x, y = int(index[a]), int(index[b])
                found.append(Problem(where.name, where.row(y), "geometry",
                                     f"expected areas not to overlap, found an overlap with {where.row(x)} "
                                     f"(area_code {codes[x]}) of {s / m:.1%} of the smaller area"))
    if areas.crs is None:
        found.append(Problem(where.name, "", "geometry",
                             "expected a coordinate reference system (CRS), found none; define it (e.g. EPSG:4326)"))
    problems.extend(sorted(found, key=lambda p: int(p.where.split()[-1]) if p.where else -1))
    if found:
        return None
    out = areas.reset_index(drop=True)
    if not out.crs.equals("EPSG:4326"):
        out = out.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = out.total_bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        problems.append(Problem(where.name, "", "geometry",
                                "expected longitude/latitude coordinates in EPSG:4326, found coordinates outside "
                                f"-180..180 / -90..90 ({minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}); is the CRS right?"))
        return None
    return out


def read_areas(folder: Path, display: Callable[[str], str], problems: list[Problem]) -> tuple[gpd.GeoDataFrame | None, dict[str, Path]]:
    """Read the areas file of a district folder: the features in file order, every property as text.

    Returns the areas (``None`` if the file cannot be read: missing, two of them, bad JSON
    ...; the problem in ``problems``) and the files read (with a shapefile's sidecars).
    """
    present = [folder / name for name in AREA_FILES if (folder / name).is_file()]
    if len(present) != 1:
        shown = display(present[1].name if present else AREA_FILES[0])
        found = ", ".join(p.name for p in present) if present else "none"
        what = "exactly one areas file" if present else f"an areas file ({', '.join(AREA_FILES)})"
        problems.append(Problem(shown, "", "", f"expected {what}, found {found}"))
        return None, {}
    path = present[0]
    files = {path.name: path}
    if path.suffix == ".shp":
        files.update({p.name: p for p in (path.with_suffix(s) for s in _SHP_SIDECARS) if p.is_file()})
    frame = _read_vector(path, display(path.name), problems)
    if frame is None:
        return None, files
    props = {c: _as_text(frame[c]) for c in frame.columns if c != frame.geometry.name}
    return gpd.GeoDataFrame(props, geometry=frame.geometry.to_numpy(), crs=frame.crs), files
