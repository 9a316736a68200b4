"""Street geometry of Haizhu: the committed areas.geojson is what the build produces."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from tools.build_haizhu import geometry

REPO_ROOT = Path(__file__).resolve().parents[1]
SOURCES = REPO_ROOT / "data" / "sources"
AREAS = REPO_ROOT / "capacity" / "data" / "districts" / "haizhu" / "areas.geojson"
CODES = [f"440105{i:03d}" for i in range(1, 19)]


@pytest.fixture(scope="module")
def committed() -> gpd.GeoDataFrame:
    return gpd.read_file(AREAS)


@pytest.fixture(scope="module")
def outline() -> shapely.Polygon:
    return geometry.read_outline(SOURCES)


def test_rebuild_is_byte_identical(tmp_path):
    out = geometry.write_areas(SOURCES, tmp_path / "areas.geojson")
    assert out.read_bytes() == AREAS.read_bytes()
    # a second run gives the same bytes too
    again = geometry.write_areas(SOURCES, tmp_path / "again.geojson")
    assert again.read_bytes() == out.read_bytes()


def test_features_codes_names_crs(committed):
    assert committed.crs is not None and committed.crs.to_epsg() == 4326
    assert list(committed.columns) == ["area_code", "name_zh", "name_en", "geometry"]
    assert committed["area_code"].tolist() == CODES
    assert committed["name_zh"].str.endswith("街道").all()
    assert committed.loc[0, "name_zh"] == "赤岗街道"
    assert committed.loc[0, "name_en"] == "Chigang"
    streets = pd.read_csv(SOURCES / "haizhu_streets.csv", dtype=str)
    assert committed["name_en"].tolist() == streets["name_en"].tolist()
    assert set(committed.geom_type) <= {"Polygon", "MultiPolygon"}


def test_file_layout():
    text = AREAS.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["attribution"] == "Vonng/adcode (CC BY 4.0); underlying data AMap / NBS"
    for feat in doc["features"]:
        assert list(feat) == ["type", "properties", "geometry"]
        assert list(feat["properties"]) == ["area_code", "name_zh", "name_en"]
    coords = np.concatenate([shapely.get_coordinates(shapely.from_geojson(json.dumps(f["geometry"])))
                             for f in doc["features"]])
    assert np.array_equal(coords, np.round(coords, 7))
    assert "\r" not in text


def test_valid_no_overlaps_no_gaps(committed, outline):
    geoms = np.asarray(committed.geometry.values)
    assert shapely.is_valid(geoms).all()
    assert not shapely.is_empty(geoms).any()
    assert shapely.coverage_is_valid(geoms)
    for a, b in itertools.combinations(geoms, 2):
        assert shapely.intersection(a, b).area == 0.0
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert abs(union.area - outline.area) <= 1e-6 * outline.area
    assert abs(shapely.area(geoms).sum() - union.area) <= 1e-12 * union.area
    # departure from the unrounded outline is only the 1e-7 degree grid snapping
    assert shapely.symmetric_difference(union, outline).area <= outline.length * geometry.GRID


def test_areas_metric(committed):
    km2 = committed.to_crs(32649).area / 1e6
    assert 90.8 < km2.sum() < 91.1  # published 90.91 km2; UTM 49N adds about 0.06 %
    assert (km2 > 1.0).all()


def test_gcj02_round_trip():
    lng, lat = np.meshgrid(np.linspace(113.15, 113.50, 36), np.linspace(22.95, 23.20, 26))
    lng, lat = lng.ravel(), lat.ravel()
    g_lng, g_lat = geometry.wgs84_to_gcj02(lng, lat)
    # offset in Guangzhou: about +0.0053 deg longitude, -0.0027 deg latitude
    assert np.all((g_lng - lng > 0.004) & (g_lng - lng < 0.007))
    assert np.all((g_lat - lat < -0.001) & (g_lat - lat > -0.004))
    w_lng, w_lat = geometry.gcj02_to_wgs84(g_lng, g_lat)
    assert np.max(np.abs(w_lng - lng)) < 1e-7
    assert np.max(np.abs(w_lat - lat)) < 1e-7
    f_lng, f_lat = geometry.wgs84_to_gcj02(w_lng, w_lat)
    assert np.max(np.abs(f_lng - g_lng)) < 1e-9
    assert np.max(np.abs(f_lat - g_lat)) < 1e-9


def test_gcj02_known_value():
    # published test vector of the standard formula (README of github.com/wandergis/coordtransform):
    # wgs84togcj02(116.404, 39.915) -> (116.41024449916938, 39.91640428150164)
    g_lng, g_lat = geometry.wgs84_to_gcj02(116.404, 39.915)
    assert float(g_lng) == pytest.approx(116.41024449916938, abs=1e-12)
    assert float(g_lat) == pytest.approx(39.91640428150164, abs=1e-12)


def test_every_street_contains_its_seeds(committed):
    seeds = geometry.read_seeds(SOURCES)
    pts = shapely.points(seeds["lng"].to_numpy(), seeds["lat"].to_numpy())
    geoms = committed.set_index("area_code").geometry
    inside = [geoms[c].covers(p) for c, p in zip(seeds["street_code"], pts)]
    assert all(inside)
