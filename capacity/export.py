"""Streets with their gap figures as GIS files (GeoPackage, GeoJSON); :func:`export` also
writes the Excel workbook (:mod:`capacity.xlsx`) and the offline web map (:mod:`capacity.webmap`).

Layers
------
``gap`` (long)
    One feature per scenario x street x stage x year: the street's polygon with every
    column of the gap table (``demand``, ``places``, ``gap``, ``shortfall``, ``surplus``,
    ... and with draws ``*_p10/p50/p90`` and ``p_shortfall``) plus ``name_zh``. Filter it
    in a GIS by stage and year. The district's own rows (its code) have no polygon of
    their own and are left out; the district totals are in ``gap.csv``.
``gap_<year>`` (wide)
    One feature per scenario x street for one year, with one column per stage and figure:
    ``gap_primary``, ``shortfall_junior``, ``p_shortfall_senior``, ...

Numbers are written as they are in the gap table (not rounded); ``gap.csv`` rounds them to
two decimals. GeoJSON files are in EPSG:4326 (longitude, latitude) as RFC 7946 asks;
the GeoPackage keeps the district's EPSG:4326 too.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from capacity.results.result import Results

#: Figures carried into the wide layer, per stage.
WIDE_FIGURES = ("demand", "places", "gap", "shortfall", "surplus", "gap_p10", "gap_p90", "p_shortfall")


def _areas(results: Results) -> gpd.GeoDataFrame:
    district = results.district
    return district.areas[["area_code", "name_zh", "geometry"]].to_crs(4326)


def long_layer(results: Results) -> gpd.GeoDataFrame:
    """The ``gap`` layer: one feature per scenario x street x stage x year."""
    import geopandas as gpd

    district = results.district
    table = results.gap
    table = table[table["level"] == "area"]
    frame = _areas(results).merge(table, on="area_code", how="inner")
    cols = ["scenario", "year", "area_code", "area_name", "name_zh", "stage"]
    cols += [c for c in table.columns if c not in cols]
    frame = frame[[*cols, "geometry"]].sort_values(["scenario", "year", "area_code", "stage"], kind="stable")
    order = {s: i for i, s in enumerate(district.stage_names)}
    frame = frame.assign(_s=frame["stage"].map(order)).sort_values(
        ["scenario", "year", "area_code", "_s"], kind="stable").drop(columns="_s")
    frame["year"] = frame["year"].astype("int32")
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs=4326)


def wide_layer(results: Results, year: int) -> gpd.GeoDataFrame:
    """The ``gap_<year>`` layer: one feature per scenario x street, a column per stage and figure."""
    import geopandas as gpd

    district = results.district
    years = [int(y) for y in results.view().years]
    if int(year) not in years:
        raise ValueError(f"expected a year {years[0]}-{years[-1]}, found {year!r}")
    table = results.gap
    table = table[(table["year"] == int(year)) & (table["level"] == "area")]
    figures = [f for f in WIDE_FIGURES if f in table.columns]
    wide = table.pivot_table(index=["scenario", "area_code", "area_name"], columns="stage", values=figures,
                             aggfunc="first", sort=False)
    wide.columns = [f"{pair[0]}_{pair[1]}" for pair in wide.columns.to_list()]
    ordered = [f"{f}_{s}" for s in district.stage_names for f in figures if f"{f}_{s}" in wide.columns]
    wide = wide[ordered].reset_index()
    wide.insert(1, "year", int(year))
    frame = _areas(results).merge(wide, on="area_code", how="inner")
    lead = ["scenario", "year", "area_code", "area_name", "name_zh"]
    frame = frame[[*lead, *ordered, "geometry"]].sort_values(["scenario", "area_code"], kind="stable")
    return gpd.GeoDataFrame(frame.reset_index(drop=True), geometry="geometry", crs=4326)


def default_year(results: Results) -> int:
    """The plan's target year if within the horizon, else the base year + 5."""
    return results.view().target_year()


def write_geopackage(results: Results, path: str | Path, *, year: int | None = None) -> Path:
    """Write the ``gap`` layer and the ``gap_<year>`` layer into one GeoPackage (atomically)."""
    year = default_year(results) if year is None else int(year)
    return _atomic(Path(path), _geopackage_writer(results, year))


def write_geojson(results: Results, path: str | Path, *, wide_year: int | None = None) -> Path:
    """Write the long ``gap`` layer (or, with ``wide_year``, the wide layer) as GeoJSON."""
    return _atomic(Path(path), _geojson_writer(results, wide_year))


#: What ``capacity export --format`` can write.
EXPORT_FORMATS: tuple[str, ...] = ("gis", "xlsx", "html")


def export(results: Results, out_dir: str | Path, *, year: int | None = None, formats: tuple[str, ...] = ("gis",),
           lang: str | None = None) -> list[Path]:
    """Write the exports into ``out_dir`` (each file atomically); returns their paths.

    ``gis``: ``gap.gpkg``, ``gap.geojson`` and ``gap_<year>.geojson``; ``xlsx``:
    ``capacity.xlsx`` (:mod:`capacity.xlsx`); ``html``: ``map.html``, the offline web map
    (:mod:`capacity.webmap`). ``lang`` is the language of the workbook and the web map.
    """
    from capacity.atomic import write_files

    bad = [f for f in formats if f not in EXPORT_FORMATS]
    if bad:
        raise ValueError(f"expected formats of {', '.join(EXPORT_FORMATS)}, found {', '.join(bad)}")
    out = Path(out_dir)
    year = default_year(results) if year is None else int(year)
    files: dict[str, Callable[[Path], None]] = {}
    if "gis" in formats:
        files["gap.gpkg"] = _geopackage_writer(results, year)
        files["gap.geojson"] = _geojson_writer(results, None)
        files[f"gap_{year}.geojson"] = _geojson_writer(results, year)
    if "xlsx" in formats:
        from capacity.xlsx import xlsx_writer

        files["capacity.xlsx"] = xlsx_writer(results, lang)
    if "html" in formats:
        from capacity.webmap import html_writer

        files["map.html"] = html_writer(results, lang, year=year)
    write_files(out, files, last=None, **results.input_paths())
    return [out / name for name in files]


def _atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """Write one file with :func:`capacity.atomic.write_files` (a temporary file, then a rename)."""
    from capacity.atomic import write_files

    write_files(path.parent, {path.name: write}, last=None)
    return path


def _geopackage_writer(results: Results, year: int) -> Callable[[Path], None]:
    layers = {"gap": long_layer(results), f"gap_{year}": wide_layer(results, year)}

    def write(path: Path) -> None:
        for name, frame in layers.items():
            frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")

    return write


def _geojson_writer(results: Results, wide_year: int | None) -> Callable[[Path], None]:
    frame = long_layer(results) if wide_year is None else wide_layer(results, wide_year)

    def write(path: Path) -> None:
        frame.to_file(path, driver="GeoJSON", engine="pyogrio", layer_options={"RFC7946": "YES", "WRITE_NAME": "NO"})

    return write


def read_layer(path: str | Path, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read a layer back (convenience for checks and notebooks)."""
    import geopandas as gpd

    return gpd.read_file(path, layer=layer, engine="pyogrio")


__all__ = ["EXPORT_FORMATS", "WIDE_FIGURES", "export", "long_layer", "read_layer", "wide_layer", "write_geojson", "write_geopackage"]
