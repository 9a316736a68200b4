"""Reading and validating the areas file of a district folder.

The areas (streets) are ``areas.geojson`` (GeoJSON, WGS-84), or ``areas.gpkg`` /
``areas.shp`` for formats that carry their own CRS. Exactly one of them must exist. The
features' properties are checked against ``[tables.areas]`` of ``schema.toml``; the
geometries are checked here: present, polygon or multipolygon, valid, a CRS, coordinates
that are longitude/latitude after conversion to EPSG:4326, no two areas overlapping.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from capacity.errors import Problem
from capacity.io.cells import decode_text
from capacity.io.pandera_bridge import row_number, validate_table
from capacity.io.schema import TableSpec

__all__ = ["AREA_FILES", "OVERLAP_TOLERANCE", "AreasResult", "find_areas_file", "read_areas"]

#: Accepted names of the areas file, in order of preference.
AREA_FILES = ("areas.geojson", "areas.gpkg", "areas.shp")

#: Two areas overlap when their intersection exceeds this share of the smaller one's area
#: (shared borders digitised twice leave slivers far below it).
OVERLAP_TOLERANCE = 1e-3

_SHP_SIDECARS = (".shx", ".dbf", ".prj", ".cpg")


@dataclass
class AreasResult:
    """What :func:`read_areas` found.

    Attributes
    ----------
    areas : geopandas.GeoDataFrame or None
        The areas in EPSG:4326 sorted by ``area_code``, or ``None`` on any problem.
    problems : list of Problem
        Everything wrong with the file.
    files : dict of str to Path
        Files read (name relative to the district folder -> path).
    """

    areas: gpd.GeoDataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)


def find_areas_file(folder: Path) -> list[Path]:
    """The areas files present in a district folder.

    Parameters
    ----------
    folder : Path
        The district folder.

    Returns
    -------
    list of Path
        Those of :data:`AREA_FILES` that exist (a valid folder has exactly one).
    """
    return [folder / name for name in AREA_FILES if (folder / name).is_file()]


def _as_text(series: pd.Series) -> pd.Series:
    """Property values as text: missing -> "", whole floats without ".0"."""

    def one(value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return pd.Series([one(v) for v in series], index=series.index, dtype=str)


def _read_vector(path: Path, display: str) -> tuple[gpd.GeoDataFrame | None, list[Problem]]:
    kwargs: dict[str, Any] = {}
    if path.suffix == ".geojson":
        text, problem = decode_text(path.read_bytes(), display)
        if problem is not None:
            return None, [problem]
        assert text is not None
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as error:
            return None, [
                Problem(display, f"line {error.lineno}", "", f"expected valid JSON, found: {error.msg} (column {error.colno})")
            ]
        if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
            found = doc.get("type") if isinstance(doc, dict) else type(doc).__name__
            return None, [Problem(display, "", "", f"expected a GeoJSON FeatureCollection, found {found!r}")]
    else:
        import pyogrio

        try:
            layers = [str(name) for name in pyogrio.list_layers(path)[:, 0]]
        except Exception as error:  # pyogrio raises several error types for unreadable files
            return None, [Problem(display, "", "", f"expected a readable {path.suffix[1:]} file, found: {_first_line(error)}")]
        if len(layers) > 1:
            if "areas" not in layers:
                return None, [
                    Problem(display, "", "", f"expected one layer (or one named 'areas'), found layers {', '.join(layers)}")
                ]
            kwargs["layer"] = "areas"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = gpd.read_file(path, engine="pyogrio", **kwargs)
    except Exception as error:  # pyogrio raises several error types for unreadable files
        return None, [Problem(display, "", "", f"expected a readable areas file, found: {_first_line(error)}")]
    return frame, []


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _check_geometry(frame: gpd.GeoDataFrame, display: str, codes: pd.Series) -> list[Problem]:
    problems: list[Problem] = []
    geoms = frame.geometry.values
    usable = np.zeros(len(frame), dtype=bool)
    for i, geom in enumerate(geoms):
        where = f"feature {i + 1}"
        if geom is None or geom.is_empty:
            problems.append(Problem(display, where, "geometry", "expected a polygon or multipolygon, found no geometry"))
            continue
        if geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(Problem(display, where, "geometry", f"expected a polygon or multipolygon, found a {geom.geom_type}"))
            continue
        reason = shapely.is_valid_reason(geom)
        if reason != "Valid Geometry":
            problems.append(Problem(display, where, "geometry", f"expected a valid polygon, found {reason}"))
            continue
        usable[i] = True
    index = np.flatnonzero(usable)
    if len(index) > 1:
        sub = geoms[index]
        tree = shapely.STRtree(sub)
        left, right = tree.query(sub, predicate="intersects")
        keep = left < right
        areas = shapely.area(sub)
        for a, b in zip(left[keep], right[keep]):
            shared = shapely.area(shapely.intersection(sub[a], sub[b]))
            smaller = min(areas[a], areas[b])
            if smaller > 0 and shared > OVERLAP_TOLERANCE * smaller:
                i, j = int(index[a]), int(index[b])
                problems.append(
                    Problem(
                        display,
                        f"feature {j + 1}",
                        "geometry",
                        f"expected areas not to overlap, found an overlap with feature {i + 1} "
                        f"(area_code {codes.iloc[i]}) of {shared / smaller:.1%} of the smaller area",
                    )
                )
    return problems


def read_areas(
    folder: Path,
    display: Callable[[str], str],
    table: TableSpec,
    params: Mapping[str, Any] | None = None,
    sets: Mapping[str, Collection[str] | None] | None = None,
) -> AreasResult:
    """Read and check the areas file of a district folder.

    Parameters
    ----------
    folder : Path
        The district folder.
    display : callable
        Maps a file name relative to the folder to the name used in problems.
    table : TableSpec
        The spec of the features' properties (``[tables.areas]`` of ``schema.toml``).
    params, sets : mapping, optional
        Passed to :func:`capacity.io.pandera_bridge.validate_table`.

    Returns
    -------
    AreasResult
        The areas (EPSG:4326, sorted by ``area_code``, index reset) or the problems.
    """
    result = AreasResult()
    found = find_areas_file(folder)
    if not found:
        result.problems.append(
            Problem(display(AREA_FILES[0]), "", "", f"expected an areas file ({', '.join(AREA_FILES)}), found none")
        )
        return result
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        result.problems.append(Problem(display(found[1].name), "", "", f"expected exactly one areas file, found {names}"))
        return result
    path = found[0]
    name = path.name
    shown = display(name)
    result.files[name] = path
    if path.suffix == ".shp":
        for suffix in _SHP_SIDECARS:
            sidecar = path.with_suffix(suffix)
            if sidecar.is_file():
                result.files[sidecar.name] = sidecar
    frame, problems = _read_vector(path, shown)
    if frame is None:
        result.problems.extend(problems)
        return result
    if frame.crs is None:
        result.problems.append(
            Problem(shown, "", "geometry", "expected a coordinate reference system (CRS), found none; define it (e.g. EPSG:4326)")
        )
    props = pd.DataFrame({c: _as_text(frame[c]) for c in frame.columns if c != frame.geometry.name}, index=frame.index)
    props = props.reset_index(drop=True)
    spec = TableSpec(
        name=table.name,
        file=name,
        file_key=table.file_key,
        columns=table.columns,
        unique=table.unique,
        min_rows=table.min_rows,
        row_label="feature",
    )
    clean, prop_problems = validate_table(props, spec, shown, params=params, sets=sets)
    result.problems.extend(prop_problems)
    codes = props["area_code"] if "area_code" in props.columns else pd.Series([""] * len(props))
    geo_problems = _check_geometry(frame, shown, codes)
    result.problems.extend(geo_problems)
    if result.problems or clean is None:
        result.problems.sort(key=row_number)
        return result
    geometry = frame.geometry.reset_index(drop=True)
    areas = gpd.GeoDataFrame(clean, geometry=geometry.values, crs=frame.crs)
    if not areas.crs.equals("EPSG:4326"):
        areas = areas.to_crs("EPSG:4326")
    minx, miny, maxx, maxy = areas.total_bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        result.problems.append(
            Problem(
                shown,
                "",
                "geometry",
                "expected longitude/latitude coordinates in EPSG:4326, found coordinates outside "
                f"-180..180 / -90..90 ({minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g}); is the CRS right?",
            )
        )
        return result
    result.areas = areas.sort_values("area_code", kind="stable").reset_index(drop=True)
    return result
