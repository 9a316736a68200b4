"""The areas of a district: exactly one areas file read (:data:`AREA_FILES`), and the geometries checked.

Geometries, read or built in code: polygons with closed rings, valid, a CRS that fits the coordinates, longitude/latitude in
EPSG:4326, no two overlapping (pairs from an STRtree).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from capacity.errors import Problem
from capacity.io.checks import Where, by_row
from capacity.io.read import read_text

__all__ = ["AREA_FILES", "OVERLAP_TOLERANCE", "check_geometry", "read_areas"]

#: Accepted names of the areas file, in order of preference.
AREA_FILES = ("areas.geojson", "areas.gpkg", "areas.shp")

#: Two areas overlap when their intersection exceeds this share of the smaller one's area
#: (shared borders digitised twice leave slivers far below it).
OVERLAP_TOLERANCE = 1e-3


def _geojson(path: Path, shown: str) -> list[Problem]:
    """What keeps a GeoJSON file from being read as areas: not JSON, not a FeatureCollection, no features, open rings."""
    text = read_text(path, shown, {}, "")
    if isinstance(text, Problem):
        return [text]
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as error:
        return [Problem(shown, f"line {error.lineno}", "", f"expected valid JSON, found: {error.msg} (column {error.colno})")]
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
        return [Problem(shown, "", "", f"expected a GeoJSON FeatureCollection, found {found!r}")]
    if not isinstance(doc.get("features"), list) or not doc["features"]:
        return [Problem(shown, "", "", "expected at least one feature (an area), found an empty FeatureCollection")]
    found = []
    for i, feature in enumerate(doc["features"], 1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if isinstance(geometry, dict) and geometry.get("type") in ("Polygon", "MultiPolygon"):
            try:
                rings = [r for p in ([geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]) for r in p]
                bad = next((f"a ring of {len(r)} positions from {list(r[0])} to {list(r[-1])}" for r in rings if len(r) < 4 or list(r[0]) != list(r[-1])), "")
            except (KeyError, TypeError, IndexError):
                bad = "coordinates that are not arrays of positions"
            found += [Problem(shown, f"feature {i}", "geometry", "expected a polygon of closed rings (the last position repeating the first, "
                              f"4 positions at least), found {bad}")] if bad else []
    return found


def check_geometry(areas: gpd.GeoDataFrame, where: Where, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Check the geometries of the areas (in file or given order) and convert them to EPSG:4326.

    Returns the areas (index reset), or ``None`` on any problem (in ``problems``, naming each feature as ``where`` does).
    """
    found: list[Problem] = []
    geoms = areas.geometry.to_numpy()
    codes = areas["area_code"].astype(str).to_numpy() if "area_code" in areas.columns else np.full(len(areas), "")
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygon = ~empty & np.isin(shapely.get_type_id(geoms), [3, 6])  # Polygon, MultiPolygon
    valid = polygon & shapely.is_valid(geoms)
    for i in np.flatnonzero(~valid):
        text = f"a valid polygon, found {shapely.is_valid_reason(geoms[i])}" if polygon[i] else \
            f"a polygon or multipolygon, found {'no geometry' if empty[i] else f'a {geoms[i].geom_type}'}"
        found.append(Problem(where.name, where.row(int(i)), "geometry", f"expected {text}"))
    index = np.flatnonzero(valid)
    sub = geoms[index]
    left, right = shapely.STRtree(sub).query(sub, predicate="intersects") if len(index) > 1 else (np.zeros(0, int), np.zeros(0, int))
    left, right = left[left < right], right[left < right]
    shared, size = shapely.area(shapely.intersection(sub[left], sub[right])), shapely.area(sub)
    smaller = np.minimum(size[left], size[right])
    for a, b, s, m in zip(index[left], index[right], shared, smaller):
        if m > 0 and s > OVERLAP_TOLERANCE * m:
            found.append(Problem(where.name, where.row(int(b)), "geometry", f"expected areas not to overlap, found an overlap with "
                                 f"{where.row(int(a))} (area_code {codes[a]}) of {s / m:.1%} of the smaller area"))
    if areas.crs is None:
        found.append(Problem(where.name, "", "geometry", "expected a coordinate reference system (CRS), found none; define it (e.g. EPSG:4326)"))
    elif areas.crs.is_projected and len(index) and _degrees(*shapely.total_bounds(sub)):
        hint = "declare EPSG:4326 or remove the crs member" if where.name.endswith(".geojson") else "set the CRS to EPSG:4326"
        found.append(Problem(where.name, "", "geometry", f"expected coordinates in the units of {areas.crs.name} (a projected CRS), found "
                             f"coordinates within -180..180 / -90..90: coordinates look like degrees; {hint}"))
    problems += sorted(found, key=by_row)
    if found:
        return None
    out = areas.reset_index(drop=True)
    out = out if out.crs.equals("EPSG:4326") else out.to_crs("EPSG:4326")
    if not _degrees(*out.total_bounds):
        problems.append(Problem(where.name, "", "geometry", "expected longitude/latitude coordinates in EPSG:4326, found coordinates outside "
                                f"-180..180 / -90..90 ({', '.join(f'{v:.6g}' for v in out.total_bounds)}); is the CRS right?"))
        return None
    return out


def _degrees(minx: float, miny: float, maxx: float, maxy: float) -> bool:
    return bool(minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90)


def read_areas(folder: Path, display: Callable[[str], str], problems: list[Problem]) -> tuple[gpd.GeoDataFrame | None, dict[str, Path]]:
    """Read the areas file of a district folder: the features in file order, every property as text.

    Returns the areas (``None`` if the file cannot be read: missing, two of them, bad JSON
    ...; the problem in ``problems``) and the files read (with a shapefile's sidecars).
    """
    present = [folder / name for name in AREA_FILES if (folder / name).is_file()]
    if len(present) != 1:
        what = "exactly one areas file" if present else f"an areas file ({', '.join(AREA_FILES)})"
        problems.append(Problem(display(present[1].name if present else AREA_FILES[0]), "", "",
                                f"expected {what}, found {', '.join(p.name for p in present) if present else 'none'}"))
        return None, {}
    import pyogrio  # not at import time: only reading needs it

    path, shown = present[0], display(present[0].name)
    files = {p.name: p for p in [path, *(path.with_suffix(s) for s in (".shx", ".dbf", ".prj", ".cpg") if path.suffix == ".shp")] if p.is_file()}
    found, frame = _geojson(path, shown) if path.suffix == ".geojson" else [], None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layers = [] if path.suffix == ".geojson" else [str(name) for name in pyogrio.list_layers(path)[:, 0]]
            if len(layers) > 1 and "areas" not in layers:
                found.append(Problem(shown, "", "", f"expected one layer (or one named 'areas'), found layers {', '.join(layers)}"))
            frame = None if found else gpd.read_file(path, engine="pyogrio", **({"layer": "areas"} if len(layers) > 1 else {}))
    except Exception as error:  # pyogrio raises several error types for unreadable files
        lines = str(error).strip().splitlines()
        found.append(Problem(shown, "", "", f"expected a readable {path.suffix[1:]} file, found: {lines[0] if lines else type(error).__name__}"))
    if frame is not None and len(frame) == 0:
        found.append(Problem(shown, "", "", "expected at least one feature (an area), found none"))
    problems += found
    if found or frame is None:
        return None, files
    props = {c: np.array(["" if v is None or v != v else str(int(v)) if isinstance(v, float) and v.is_integer() else str(v) for v in frame[c]],
                         dtype=object) for c in frame.columns if c != frame.geometry.name}  # as text: missing -> "", 3.0 -> "3"
    return gpd.GeoDataFrame(props, geometry=frame.geometry.to_numpy(), crs=frame.crs), files
