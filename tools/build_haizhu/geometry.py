"""Street polygons of Haizhu District (440105) from the geometry source tables.

Inputs (``data/sources/``, see ``data/sources/README.md``):

* ``haizhu_outline.csv`` -- district outline vertices, GCJ-02 as published;
* ``haizhu_points.csv`` -- street-office and community points, GCJ-02 as published, with a
  ``seed`` flag (1 = used to seed the street cells);
* ``haizhu_streets.csv`` -- the 18 streets: code, Chinese and pinyin name.

Method
------
1. GCJ-02 -> WGS-84. :func:`wgs84_to_gcj02` is the standard (public "eviltransform")
   GCJ-02 forward formula, Krasovsky 1940 ellipsoid (a = 6378245 m,
   e^2 = 0.00669342162296594323). It has no closed-form inverse; :func:`gcj02_to_wgs84`
   inverts it by fixed-point iteration ``w <- w - (F(w) - g)``, starting at ``w = g``, until
   the round-trip residual ``|F(w) - g|`` is below 1e-10 degrees in both axes (two to four
   iterations in Guangzhou; the target accuracy is 1e-7 degrees, about 1 cm).
2. Voronoi cells around the seed points (WGS-84), computed with
   :func:`shapely.voronoi_polygons` in a locally equidistant plane (longitude multiplied by
   ``cos(lat0)``, lat0 = centre latitude of the outline's bounding box), so that a cell is
   the set of places nearer to its seed on the ground than to any other seed.
3. One planar arrangement: the cell boundaries and the outline ring are noded together
   once, with snap-rounding on the 1e-7 degree grid (:data:`GRID`), and polygonised into
   faces. Each face lies inside or outside the outline and inside exactly one cell; it is
   assigned by largest overlap area. Faces inside the outline are dissolved by street.
   Because every face comes from the same noding, neighbouring streets share identical
   boundary vertices, and every vertex is already on the 1e-7 grid, so rounding the output
   to 7 decimals changes nothing: no slivers, gaps or overlaps appear.
4. Checks: 18 non-empty valid polygons forming a valid coverage whose union equals the
   outline (relative area difference < 1e-6).

The polygons are APPROXIMATE street areas (nearest published point), not official
boundaries. Attribution: "Vonng/adcode (CC BY 4.0); underlying data AMap / NBS".
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

REPO_ROOT = Path(__file__).resolve().parents[2]
SOURCES_DIR = REPO_ROOT / "data" / "sources"
AREAS_PATH = REPO_ROOT / "capacity" / "data" / "districts" / "haizhu" / "areas.geojson"

ATTRIBUTION = "Vonng/adcode (CC BY 4.0); underlying data AMap / NBS"
DISTRICT_CODE = "440105"
N_STREETS = 18
GRID = 1e-7  # degrees; output coordinates have 7 decimals
DECIMALS = 7

# GCJ-02 constants (Krasovsky 1940 ellipsoid)
_A = 6378245.0
_EE = 0.00669342162296594323


# --------------------------------------------------------------------------- GCJ-02


def _gcj02_delta(lng: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset (dlng, dlat) in degrees that GCJ-02 adds to a WGS-84 position."""
    x = lng - 105.0
    y = lat - 35.0
    pi = math.pi
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat += (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlng += (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlng += (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlng += (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * pi)
    dlng = (dlng * 180.0) / (_A / sqrt_magic * np.cos(radlat) * pi)
    return dlng, dlat


def wgs84_to_gcj02(lng, lat) -> tuple[np.ndarray, np.ndarray]:
    """Forward GCJ-02 transform (WGS-84 degrees -> GCJ-02 degrees), vectorised.

    Applied everywhere (no "outside China" shortcut): this module only handles Haizhu.
    """
    lng = np.asarray(lng, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlng, dlat = _gcj02_delta(lng, lat)
    return lng + dlng, lat + dlat


def gcj02_to_wgs84(lng, lat, tol: float = 1e-10, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray]:
    """Inverse GCJ-02 transform by fixed-point iteration, vectorised.

    Returns WGS-84 ``(lng, lat)`` such that ``wgs84_to_gcj02`` of it reproduces the input
    within ``tol`` degrees in both axes.
    """
    g_lng = np.asarray(lng, dtype=float)
    g_lat = np.asarray(lat, dtype=float)
    w_lng, w_lat = g_lng.copy(), g_lat.copy()
    for _ in range(max_iter):
        f_lng, f_lat = wgs84_to_gcj02(w_lng, w_lat)
        e_lng, e_lat = f_lng - g_lng, f_lat - g_lat
        if max(np.max(np.abs(e_lng), initial=0.0), np.max(np.abs(e_lat), initial=0.0)) < tol:
            return w_lng, w_lat
        w_lng = w_lng - e_lng
        w_lat = w_lat - e_lat
    raise ArithmeticError(f"GCJ-02 inversion did not converge to {tol} in {max_iter} iterations")


# --------------------------------------------------------------------------- sources


def _read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def read_streets(sources_dir: Path) -> pd.DataFrame:
    """The 18 streets: ``code`` (9-digit text), ``name_zh``, ``name_en``; sorted by code."""
    path = Path(sources_dir) / "haizhu_streets.csv"
    df = _read_csv(path)
    if list(df.columns) != ["code", "name_zh", "name_en"]:
        raise ValueError(f"{path}: columns {list(df.columns)}, expected code,name_zh,name_en")
    bad = ~df["code"].str.fullmatch(DISTRICT_CODE + r"\d{3}")
    if bad.any() or df["code"].duplicated().any() or len(df) != N_STREETS:
        raise ValueError(f"{path}: expected {N_STREETS} unique 9-digit codes {DISTRICT_CODE}xxx")
    return df.sort_values("code").reset_index(drop=True)


def read_outline(sources_dir: Path) -> shapely.Polygon:
    """District outline converted to WGS-84 (unrounded)."""
    path = Path(sources_dir) / "haizhu_outline.csv"
    df = _read_csv(path)
    if list(df.columns) != ["ring", "vertex", "lng_gcj02", "lat_gcj02"]:
        raise ValueError(f"{path}: columns {list(df.columns)}, expected ring,vertex,lng_gcj02,lat_gcj02")
    df = df.astype({"ring": int, "vertex": int, "lng_gcj02": float, "lat_gcj02": float})
    df = df.sort_values(["ring", "vertex"], kind="stable")
    rings = []
    for _, r in df.groupby("ring", sort=True):
        lng, lat = gcj02_to_wgs84(r["lng_gcj02"].to_numpy(), r["lat_gcj02"].to_numpy())
        rings.append(np.column_stack([lng, lat]))
    poly = shapely.Polygon(rings[0], rings[1:])  # ring 0 = exterior, others = holes
    if not poly.is_valid:
        raise ValueError(f"{path}: outline is not a valid polygon: {shapely.is_valid_reason(poly)}")
    return poly


def read_seeds(sources_dir: Path) -> pd.DataFrame:
    """Seed points (``seed == 1``) with WGS-84 ``lng``/``lat`` columns added."""
    path = Path(sources_dir) / "haizhu_points.csv"
    df = _read_csv(path)
    expected = ["street_code", "street_name_zh", "street_name_en", "kind", "community_code",
                "community_name_zh", "lng_gcj02", "lat_gcj02", "seed", "note"]
    if list(df.columns) != expected:
        raise ValueError(f"{path}: columns {list(df.columns)}, expected {','.join(expected)}")
    if not df["seed"].isin(["0", "1"]).all():
        raise ValueError(f"{path}: column seed must be 0 or 1")
    df = df[df["seed"] == "1"].reset_index(drop=True)
    lng, lat = gcj02_to_wgs84(df["lng_gcj02"].astype(float).to_numpy(),
                              df["lat_gcj02"].astype(float).to_numpy())
    df["lng"], df["lat"] = lng, lat
    if df.duplicated(["lng", "lat"]).any():
        raise ValueError(f"{path}: two seed points at the same position")
    return df


# --------------------------------------------------------------------------- build


def _voronoi_cells(lng: np.ndarray, lat: np.ndarray, outline: shapely.Polygon) -> np.ndarray:
    """Voronoi cell of each seed (same order), WGS-84, covering the outline's surroundings."""
    minx, miny, maxx, maxy = outline.bounds
    k = math.cos(math.radians((miny + maxy) / 2.0))  # local equidistant scaling of longitude
    pad = 0.05  # degrees around the outline's box, so cells cover the whole outline
    frame = shapely.box((minx - pad) * k, miny - pad, (maxx + pad) * k, maxy + pad)
    pts = shapely.multipoints(np.column_stack([lng * k, lat]))
    cells = shapely.voronoi_polygons(pts, extend_to=frame, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    if len(cells) != len(lng):
        raise ValueError("Voronoi diagram does not have one cell per seed")
    cells = shapely.transform(cells, lambda c: c / np.array([k, 1.0]))
    # the cells extend beyond the padded frame; clip every cell to the same box
    cells = shapely.intersection(cells, shapely.box(minx - pad, miny - pad, maxx + pad, maxy + pad))
    return cells


def build_areas(sources_dir: Path | str = SOURCES_DIR) -> gpd.GeoDataFrame:
    """Approximate street polygons of Haizhu, EPSG:4326, one row per street sorted by code.

    Columns ``area_code`` (9-digit text), ``name_zh`` (e.g. 赤岗街道), ``name_en``
    (pinyin, e.g. Chigang), ``geometry`` (Polygon or MultiPolygon, vertices on the 1e-7
    degree grid).
    """
    sources_dir = Path(sources_dir)
    streets = read_streets(sources_dir)
    outline = read_outline(sources_dir)
    seeds = read_seeds(sources_dir)
    unknown = set(seeds["street_code"]) - set(streets["code"])
    if unknown:
        raise ValueError(f"seed points of unknown streets: {sorted(unknown)}")
    missing = set(streets["code"]) - set(seeds["street_code"])
    if missing:
        raise ValueError(f"streets without a seed point: {sorted(missing)}")

    cells = _voronoi_cells(seeds["lng"].to_numpy(), seeds["lat"].to_numpy(), outline)

    # one planar arrangement: cell boundaries + outline ring, noded once on the grid
    lines = list(shapely.boundary(cells)) + [outline.boundary]
    noded = shapely.union_all(lines, grid_size=GRID)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    faces = faces[shapely.area(faces) > 0]

    # inside the outline? (largest overlap with the outline)
    face_area = shapely.area(faces)
    inside = shapely.area(shapely.intersection(faces, outline)) > 0.5 * face_area
    faces = faces[inside]

    # which cell? (largest overlap; faces are pieces of one cell up to grid snapping)
    tree = shapely.STRtree(cells)
    fi, ci = tree.query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[fi], cells[ci]))
    best = pd.DataFrame({"face": fi, "cell": ci, "overlap": overlap})
    best = best.sort_values(["face", "overlap", "cell"], ascending=[True, False, True])
    best = best.drop_duplicates("face").set_index("face")["cell"]
    if len(best) != len(faces):
        raise ValueError("a face inside the outline lies in no Voronoi cell")
    face_street = seeds["street_code"].to_numpy()[best.sort_index().to_numpy()]

    geoms = []
    for code in streets["code"]:
        parts = faces[face_street == code]
        if len(parts) == 0:
            raise ValueError(f"street {code}: no part of its cells lies inside the outline")
        g = shapely.union_all(parts, grid_size=GRID)
        g = shapely.orient_polygons(g, exterior_cw=False)  # RFC 7946: exterior counter-clockwise
        geoms.append(g)

    gdf = gpd.GeoDataFrame(
        {"area_code": streets["code"], "name_zh": streets["name_zh"], "name_en": streets["name_en"]},
        geometry=geoms, crs="EPSG:4326",
    )
    check_areas(gdf, outline)
    return gdf


def check_areas(gdf: gpd.GeoDataFrame, outline: shapely.Polygon, rel_tol: float = 1e-6) -> None:
    """Raise ``ValueError`` unless ``gdf`` is 18 valid, gap- and overlap-free streets.

    * 18 unique codes, valid non-empty geometries;
    * a valid coverage (:func:`shapely.coverage_is_valid`): no overlaps, and neighbours'
      shared edges have identical vertices;
    * the union is one polygon with as many holes as the outline (no gaps inside);
    * ``|area(union) - area(outline)| <= rel_tol * area(outline)``;
    * the symmetric difference with the (unrounded) outline is no larger than snapping
      the outline to the grid can make it: ``perimeter * GRID``.
    """
    geoms = np.asarray(gdf.geometry.values)
    if len(gdf) != N_STREETS or gdf["area_code"].duplicated().any():
        raise ValueError(f"expected {N_STREETS} streets with unique codes, got {len(gdf)}")
    if not shapely.is_valid(geoms).all() or shapely.is_empty(geoms).any():
        raise ValueError("invalid or empty street geometry")
    if not shapely.coverage_is_valid(geoms):
        raise ValueError("street polygons overlap or their shared edges do not match")
    union = shapely.union_all(geoms)
    if union.geom_type != "Polygon" or len(union.interiors) != len(outline.interiors):
        raise ValueError("the union of the streets has gaps (holes or separate parts)")
    if abs(union.area - outline.area) > rel_tol * outline.area:
        raise ValueError(f"union area differs from the outline by {abs(union.area / outline.area - 1):.2e}")
    sym = shapely.symmetric_difference(union, outline).area
    if sym > outline.length * GRID:
        raise ValueError(f"union departs from the outline by {sym:.3g} square degrees")


# --------------------------------------------------------------------------- output


def _ring(coords) -> list[list[float]]:
    return [[round(float(x), DECIMALS), round(float(y), DECIMALS)] for x, y in coords]


def _geometry_json(g) -> dict:
    polys = [g] if g.geom_type == "Polygon" else list(g.geoms)
    rings = [[_ring(p.exterior.coords)] + [_ring(h.coords) for h in p.interiors] for p in polys]
    if g.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": rings[0]}
    return {"type": "MultiPolygon", "coordinates": rings}


def areas_geojson_text(gdf: gpd.GeoDataFrame) -> str:
    """Deterministic GeoJSON text: sorted by ``area_code``, fixed key order, 7 decimals,
    one feature per line, ``\\n`` line ends, UTF-8 names unescaped."""
    gdf = gdf.sort_values("area_code").reset_index(drop=True)
    lines = ['{"type": "FeatureCollection",',
             '"attribution": ' + json.dumps(ATTRIBUTION, ensure_ascii=False) + ",",
             '"features": [']
    feats = []
    for row in gdf.itertuples(index=False):
        feat = {
            "type": "Feature",
            "properties": {"area_code": str(row.area_code), "name_zh": str(row.name_zh),
                           "name_en": str(row.name_en)},
            "geometry": _geometry_json(row.geometry),
        }
        feats.append(json.dumps(feat, ensure_ascii=False, separators=(",", ":"), allow_nan=False))
    lines.append(",\n".join(feats))
    lines.append("]}")
    return "\n".join(lines) + "\n"


def write_areas(sources_dir: Path | str = SOURCES_DIR, out_path: Path | str = AREAS_PATH) -> Path:
    """Build the street polygons and write them to ``out_path`` (same bytes every run).

    The written text is parsed back and checked again (validity and coverage after
    rounding) before the file is written.
    """
    sources_dir = Path(sources_dir)
    out_path = Path(out_path)
    gdf = build_areas(sources_dir)
    text = areas_geojson_text(gdf)
    back = [shapely.from_geojson(json.dumps(f["geometry"])) for f in json.loads(text)["features"]]
    check_areas(gpd.GeoDataFrame(gdf.drop(columns="geometry"), geometry=back, crs="EPSG:4326"),
                read_outline(sources_dir))
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(text.encode("utf-8"))
    return out_path
