"""Loading and validating a district folder (capacity.io) and ``capacity validate``.

Every malformed-input kind writes a broken copy of the valid synthetic district (see
``conftest.py``) and checks that the first problem names the file, the row or key and the
column, and that ``capacity validate`` exits with status 2 printing one line, no traceback.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from conftest import AREA_CODES, OPEN_AGE, PLAN_ROWS, csv_text, write_district

from capacity.cli import main
from capacity.errors import InputError
from capacity.io import District, load_district
from capacity.io.models import TABLES, DistrictFile

REPO = Path(__file__).resolve().parents[1]

# Line numbers in the synthetic population.csv / migration.csv: header is line 1, then
# area 1 female ages 0..20 (lines 2..22), area 1 male (23..43), area 2 female (44..64),
# area 2 male (65..85).


def pop_line(area: int, sex: int, age: int) -> int:
    """Line of a row of population.csv / migration.csv in the synthetic district."""
    return 2 + (area * 2 + sex) * (OPEN_AGE + 1) + age


# ---------------------------------------------------------------------------- edit helpers


def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def write_rows(path: Path, rows: list[list[str]]) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def set_cell(name: str, line: int, column: str, value: str) -> Callable[[Path], None]:
    """Edit: put ``value`` into ``column`` on ``line`` (1-based, header = 1)."""

    def edit(folder: Path) -> None:
        path = folder / name
        rows = read_rows(path)
        rows[line - 1][rows[0].index(column)] = value
        write_rows(path, rows)

    return edit


def drop_lines(name: str, keep: Callable[[list[str]], bool]) -> Callable[[Path], None]:
    """Edit: remove the data rows for which ``keep`` is false."""

    def edit(folder: Path) -> None:
        path = folder / name
        rows = read_rows(path)
        write_rows(path, rows[:1] + [r for r in rows[1:] if keep(r)])

    return edit


def drop_column(name: str, column: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        rows = read_rows(path)
        i = rows[0].index(column)
        write_rows(path, [r[:i] + r[i + 1 :] for r in rows])

    return edit


def add_column(name: str, column: str, value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        rows = read_rows(path)
        write_rows(path, [rows[0] + [column]] + [r + [value] for r in rows[1:]])

    return edit


def append_row(name: str, line: int) -> Callable[[Path], None]:
    """Edit: append a copy of ``line`` at the end of the file."""

    def edit(folder: Path) -> None:
        path = folder / name
        rows = read_rows(path)
        write_rows(path, rows + [rows[line - 1]])

    return edit


def write_text(name: str, text: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        (folder / name).write_text(text, encoding="utf-8")

    return edit


def edit_toml(old: str, new: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "district.toml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def edit_areas(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "areas.geojson"
        doc = json.loads(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")

    return edit


def set_geometry(feature: int, geometry: dict | None) -> Callable[[Path], None]:
    def change(doc: dict) -> None:
        doc["features"][feature]["geometry"] = geometry

    return edit_areas(change)


def set_property(feature: int, key: str, value: object) -> Callable[[Path], None]:
    def change(doc: dict) -> None:
        doc["features"][feature]["properties"][key] = value

    return edit_areas(change)


def gpkg_without_crs(folder: Path) -> None:
    import geopandas as gpd

    areas = gpd.read_file(folder / "areas.geojson")
    areas = areas.set_crs(None, allow_override=True)
    (folder / "areas.geojson").unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyogrio warns that the file will have no CRS
        areas.to_file(folder / "areas.gpkg", driver="GPKG")


def gbk_projects(folder: Path) -> None:
    path = folder / "projects.csv"
    path.write_bytes(path.read_text(encoding="utf-8").encode("gbk"))


def projects_cell(line: int, column: str, value: str) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / "projects.csv"
        rows = read_rows(path)
        rows[line - 1][rows[0].index(column)] = value
        write_rows(path, rows)

    return edit


def plan_cell(line: int, column: str, value: str) -> Callable[[Path], None]:
    """Edit: write the synthetic plan.csv (and its sources row), then put ``value`` into a cell."""

    def edit(folder: Path) -> None:
        (folder / "plan.csv").write_text(csv_text("indicator,stage,year,value,source", PLAN_ROWS), encoding="utf-8")
        with open(folder / "sources.csv", "a", encoding="utf-8") as fh:
            fh.write("plan.csv,*,no,synthetic,\n")
        set_cell("plan.csv", line, column, value)(folder)

    return edit


def bad_field_count(folder: Path) -> None:
    path = folder / "stages.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + ",extra\n"
    path.write_text("".join(lines), encoding="utf-8")


def unclosed_quote(folder: Path) -> None:
    """Edit: open a quote in the sex cell of line 12 of population.csv and never close it."""
    path = folder / "population.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[11] = lines[11].replace(",female,", ',"female,', 1).replace(",male,", ',"male,', 1)
    path.write_text("".join(lines), encoding="utf-8")


def open_ring(doc: dict) -> None:
    doc["features"][1]["geometry"]["coordinates"][0].pop()


def projected_crs_member(doc: dict) -> None:
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}


def projects_link_outside(folder: Path) -> None:
    """Edit: projects.csv becomes a link to a file outside the district folder."""
    outside = folder.parent / "outside.csv"
    (folder / "projects.csv").rename(outside)
    (folder / "projects.csv").symlink_to(outside)


# A polygon whose boundary crosses itself (a bow tie).
BOWTIE = {"type": "Polygon", "coordinates": [[[113.30, 23.10], [113.31, 23.11], [113.31, 23.10], [113.30, 23.11], [113.30, 23.10]]]}
# The second area shifted half a square onto the first.
OVERLAPPING = {
    "type": "Polygon",
    "coordinates": [[[113.305, 23.10], [113.315, 23.10], [113.315, 23.11], [113.305, 23.11], [113.305, 23.10]]],
}

P = "population.csv"
M = "migration.csv"
A1, A2 = AREA_CODES

# kind: (edit, file, where, column, expected text)
CASES: dict[str, tuple[Callable[[Path], None], str, str, str | None, str]] = {
    "missing_column": (drop_column(P, "population"), P, "row 1", "population", "expected a column 'population'"),
    "unknown_column": (add_column("stages.csv", "notes", "x"), "stages.csv", "row 1", "notes", "unknown column 'notes'"),
    "empty_file": (write_text("fertility.csv", ""), "fertility.csv", "row 1", None, "empty file"),
    "header_only": (write_text("fertility.csv", "age,rate\n"), "fertility.csv", "row 2", None, "at least 1 data row"),
    "bad_field_count": (bad_field_count, "stages.csv", "row 3", None, "expected 8 fields"),
    "non_numeric": (set_cell(P, 17, "age", "1x"), P, "row 17", "age", "expected an integer in 0..20, found '1x'"),
    "non_integer": (set_cell(P, 5, "age", "3.5"), P, "row 5", "age", "not a whole number"),
    "thousands_separator": (set_cell(P, 9, "population", "1,234"), P, "row 9", "population", "thousands separators are not allowed"),
    "decimal_comma": (set_cell(M, 9, "net_migrants", "1,5"), M, "row 9", "net_migrants", "decimal mark"),
    "negative_population": (set_cell(P, 30, "population", "-5"), P, "row 30", "population", "expected a number in [0, 1000000], found '-5'"),
    "negative_places": (set_cell("places.csv", 4, "places", "-3"), "places.csv", "row 4", "places", "found '-3'"),
    "empty_cell": (set_cell(P, 12, "population", ""), P, "row 12", "population", "found an empty cell"),
    "nan_cell": (set_cell(M, 20, "net_migrants", "NaN"), M, "row 20", "net_migrants", "found 'NaN'"),
    "infinite_cell": (set_cell(P, 21, "population", "1e999"), P, "row 21", "population", "found '1e999'"),
    "huge_integer": (set_cell("places.csv", 5, "places", "99999999999999999999"), "places.csv", "row 5", "places", "found '9999"),
    "duplicate_key": (append_row(P, 9), P, "row 86", "age", "found a second one for area_code=990001001, sex=female, age=7 (first at row 9)"),
    "gap_in_ages": (
        drop_lines(P, lambda r: not (r[0] == A1 and r[1] == "male" and r[2] == "7")),
        P,
        "key area_code=990001001, sex=male, age=7",
        "age",
        "found no row for age 7",
    ),
    "missing_area_sex": (
        drop_lines(M, lambda r: not (r[0] == A2 and r[1] == "male")),
        M,
        "key area_code=990001002, sex=male",
        "sex",
        "expected rows for ages 0..20, found none",
    ),
    "age_above_open_age": (set_cell(P, pop_line(1, 0, 20), "age", "21"), P, f"row {pop_line(1, 0, 20)}", "age", "in 0..20, found '21'"),
    "unknown_area_population": (set_cell(P, 2, "area_code", "990001999"), P, "row 2", "area_code", "found '990001999'"),
    "unknown_area_migration": (set_cell(M, 50, "area_code", "440105001"), M, "row 50", "area_code", "area codes"),
    "unknown_area_places": (set_cell("places.csv", 6, "area_code", "X"), "places.csv", "row 6", "area_code", "found 'X'"),
    "unknown_area_projects": (projects_cell(4, "area_code", "990001003"), "projects.csv", "row 4", "area_code", "found '990001003'"),
    "unknown_stage_places": (set_cell("places.csv", 3, "stage", "college"), "places.csv", "row 3", "stage", "stages of stages.csv"),
    "unknown_stage_projects": (projects_cell(2, "stage", "Primary"), "projects.csv", "row 2", "stage", "found 'Primary'"),
    "unknown_sex": (set_cell("life_table.csv", 3, "sex", "m"), "life_table.csv", "row 3", "sex", "one of 'female', 'male', found 'm'"),
    "unknown_sector": (set_cell("places.csv", 2, "sector", "govt"), "places.csv", "row 2", "sector", "found 'govt'"),
    "fertility_rate_above_1": (set_cell("fertility.csv", 3, "rate", "1.2"), "fertility.csv", "row 3", "rate", "a number in [0, 0.5], found '1.2'"),
    "fertility_gap": (drop_lines("fertility.csv", lambda r: r[0] != "17"), "fertility.csv", "key age=17", "age", "contiguous ages 15..19"),
    "fertility_age_out_of_range": (set_cell("fertility.csv", 2, "age", "9"), "fertility.csv", "row 2", "age", "in 10..20"),
    "life_table_lx_increasing": (set_cell("life_table.csv", 6, "lx", "99999"), "life_table.csv", "row 6", "lx", "non-increasing"),
    "life_table_radix": (set_cell("life_table.csv", 2, "lx", "99000"), "life_table.csv", "row 2", "lx", "100000 (the radix)"),
    "life_table_Lx_above_lx": (set_cell("life_table.csv", 4, "Lx", "150000"), "life_table.csv", "row 4", "Lx", "expected Lx between"),
    "life_table_missing_age": (
        drop_lines("life_table.csv", lambda r: not (r[0] == "male" and r[1] == "20")),
        "life_table.csv",
        "key sex=male, age=20",
        "age",
        "found no row for age 20",
    ),
    "stage_bands_overlap": (set_cell("stages.csv", 3, "first_age", "5"), "stages.csv", "row 3", "first_age", "not to overlap"),
    "stage_last_before_first": (set_cell("stages.csv", 4, "last_age", "11"), "stages.csv", "row 4", "last_age", "found '11'"),
    "stage_duplicate": (append_row("stages.csv", 2), "stages.csv", "row 6", "stage", "second one for stage=kindergarten"),
    "enrolment_rate_out_of_range": (set_cell("stages.csv", 2, "enrolment_rate", "2.5"), "stages.csv", "row 2", "enrolment_rate", "in [0, 2]"),
    "project_places_zero": (projects_cell(3, "places", "0"), "projects.csv", "row 3", "places", "an integer in 1..100000, found '0'"),
    "project_year_not_integer": (projects_cell(2, "opening_year", "2025.5"), "projects.csv", "row 2", "opening_year", "found '2025.5'"),
    "project_year_out_of_range": (projects_cell(5, "opening_year", "2200"), "projects.csv", "row 5", "opening_year", "in 1990..2100"),
    "project_duplicate": (append_row("projects.csv", 2), "projects.csv", "row 6", "stage", "project_id=P1, stage=primary"),
    "bad_kind": (projects_cell(2, "kind", "rebuild"), "projects.csv", "row 2", "kind", "'new', 'expansion', 'conversion'"),
    "bad_ownership": (projects_cell(4, "ownership", "state"), "projects.csv", "row 4", "ownership", "found 'state'"),
    "bad_location_confidence": (projects_cell(4, "location_confidence", "certain"), "projects.csv", "row 4", "location_confidence", "'high', 'medium', 'low'"),
    "empty_required_text": (projects_cell(2, "source", ""), "projects.csv", "row 2", "source", "found an empty cell"),
    "toml_missing_key": (edit_toml("base_year = 2023\n", ""), "district.toml", "key base_year", None, "found no such key"),
    "toml_wrong_type": (edit_toml("open_age = 20", 'open_age = "20"'), "district.toml", "key open_age", None, "found the text '20'"),
    "toml_out_of_range": (edit_toml("sex_ratio_at_birth = 1.10", "sex_ratio_at_birth = 110"), "district.toml", "key sex_ratio_at_birth", None, "found 110"),
    "toml_unknown_key": (edit_toml('code = "990001"\n', 'code = "990001"\nopen_age_group = 100\n'), "district.toml", "key open_age_group", None, "unknown key"),
    "toml_invalid": (edit_toml("base_year = 2023", "base_year = = 2023"), "district.toml", "line 4", None, "expected valid TOML"),
    "projects_file_missing": (edit_toml('"projects.csv"', '"projets.csv"'), "district.toml", "key projects", None, "found 'projets.csv'"),
    "areas_missing": (lambda f: (f / "areas.geojson").unlink(), "areas.geojson", "", None, "found none"),
    "areas_invalid_json": (write_text("areas.geojson", '{"type": "FeatureCollection",\n "features": [}'), "areas.geojson", "line 2", None, "valid JSON"),
    "areas_self_intersection": (set_geometry(0, BOWTIE), "areas.geojson", "feature 1", "geometry", "Self-intersection"),
    "areas_point": (set_geometry(1, {"type": "Point", "coordinates": [113.3, 23.1]}), "areas.geojson", "feature 2", "geometry", "found a Point"),
    "areas_no_geometry": (set_geometry(1, None), "areas.geojson", "feature 2", "geometry", "found no geometry"),
    "areas_overlap": (set_geometry(1, OVERLAPPING), "areas.geojson", "feature 2", "geometry", "not to overlap"),
    "areas_duplicate_code": (set_property(1, "area_code", A1), "areas.geojson", "feature 2", "area_code", "second one for area_code=990001001"),
    "areas_unknown_property": (set_property(0, "population", 5), "areas.geojson", "", "population", "unknown column 'population'"),
    "areas_without_crs": (gpkg_without_crs, "areas.gpkg", "", "geometry", "coordinate reference system"),
    "gbk_encoding": (gbk_projects, "projects.csv", "row 2", "name_zh", "expected UTF-8"),
    "sources_unknown_file": (set_cell("sources.csv", 3, "file", "stage.csv"), "sources.csv", "row 3", "file", "found 'stage.csv'"),
    "sources_unknown_column": (set_cell("sources.csv", 6, "column", "rates"), "sources.csv", "row 6", "column", "found 'rates'"),
    "projects_path_parent": (edit_toml('"projects.csv"', '"../projects.csv"'), "district.toml", "key projects", None,
                             "expected a path inside the district folder, found '../projects.csv': a path leaving the district folder"),
    "projects_path_absolute": (edit_toml('"projects.csv"', '"/data/projects.csv"'), "district.toml", "key projects", None, "an absolute path"),
    "duplicate_header": (write_text("fertility.csv", "age,age\n15,0.1\n"), "fertility.csv", "row 1", "age", "found it twice"),
    "malformed_csv": (write_text("fertility.csv", 'age,rate\n15,0.1\n16,"0.2\n'), "fertility.csv", "row 3", None, "well-formed CSV"),
    "plan_old_indicator": (plan_cell(5, "indicator", "kindergarten_public_affordable_share"), "plan.csv", "row 5", "indicator",
                           "found 'kindergarten_public_affordable_share': the indicator is now 'public_affordable_share' with stage"),
    "plan_old_private_indicator": (plan_cell(6, "indicator", "kindergarten_private_affordable_share"), "plan.csv", "row 6", "indicator",
                                   "now 'private_affordable_share'"),
    "plan_need_unknown_stage": (plan_cell(2, "stage", "college"), "plan.csv", "row 2", "stage", "a stage of stages.csv for 'need', found 'college'"),
    "plan_share_without_stage": (plan_cell(5, "stage", ""), "plan.csv", "row 5", "stage", "for 'public_affordable_share', found ''"),
    "plan_places_added_with_stage": (plan_cell(4, "stage", "primary"), "plan.csv", "row 4", "stage", "an empty stage"),
    "plan_share_above_1": (plan_cell(6, "value", "75"), "plan.csv", "row 6", "value", "a share in [0, 1], found '75'"),
    "plan_duplicate": (plan_cell(3, "stage", "primary"), "plan.csv", "row 3", "stage", "second one for indicator=need, stage=primary"),
    "sources_estimate_enum": (set_cell("sources.csv", 2, "estimate", "maybe"), "sources.csv", "row 2", "estimate", "'yes', 'no'"),
    # plausibility bounds (docs/data-format.md)
    "population_implausible": (set_cell(P, 9, "population", "1e308"), P, "row 9", "population", "a number in [0, 1000000], found '1e308'"),
    "population_above_a_million": (set_cell(P, 10, "population", "1000001"), P, "row 10", "population", "found '1000001'"),
    "net_migrants_implausible": (set_cell(M, 9, "net_migrants", "1e308"), M, "row 9", "net_migrants", "in [-100000, 100000], found '1e308'"),
    "net_migrants_above_population": (set_cell(M, 7, "net_migrants", "-10200"), M, "row 7", "net_migrants",
                                      "expected a number in [-10105, 10105] (the cell's population 105, "),
    "places_implausible": (set_cell("places.csv", 3, "places", "9000000000000000000"), "places.csv", "row 3", "places",
                           "an integer in 0..1000000, found '9000000000000000000'"),
    "project_places_implausible": (projects_cell(2, "places", "250000"), "projects.csv", "row 2", "places", "an integer in 1..100000"),
    "class_size_implausible": (set_cell("stages.csv", 3, "class_size", "450"), "stages.csv", "row 3", "class_size", "an integer in 1..100"),
    "fertility_rate_implausible": (set_cell("fertility.csv", 4, "rate", "0.6"), "fertility.csv", "row 4", "rate", "[0, 0.5], found '0.6'"),
    "life_table_T_implausible": (set_cell("life_table.csv", 22, "Lx", "2e9"), "life_table.csv", "row 22", "Lx", "(0, 100000000], found '2e9'"),
    "life_table_lx_above_radix": (set_cell("life_table.csv", 3, "lx", "100001"), "life_table.csv", "row 3", "lx", "(0, 100000], found"),
    "plan_value_implausible": (plan_cell(2, "value", "1e9"), "plan.csv", "row 2", "value", "[0, 10000000], found '1e9'"),
    "stage_age_implausible": (set_cell("stages.csv", 5, "last_age", "200"), "stages.csv", "row 5", "last_age", "in 0..20, found '200'"),
    "toml_open_age_implausible": (edit_toml("open_age = 20", "open_age = 150"), "district.toml", "key open_age", None, "in 10..130, found 150"),
    # reported by users
    "unclosed_quote_row_12": (unclosed_quote, P, "row 12", "sex", "a quoted field that is never closed"),
    "areas_open_ring": (edit_areas(open_ring), "areas.geojson", "feature 2", "geometry", "a polygon of closed rings"),
    "areas_empty_collection": (edit_areas(lambda doc: doc.update(features=[])), "areas.geojson", "", None,
                               "expected at least one feature (an area), found an empty FeatureCollection"),
    "areas_not_feature_collection": (edit_areas(lambda doc: doc.update(type="Feature")), "areas.geojson", "", None, "found 'Feature'"),
    "areas_degrees_declared_projected": (edit_areas(projected_crs_member), "areas.geojson", "", "geometry",
                                         "coordinates look like degrees; declare EPSG:4326 or remove the crs member"),
    "projects_path_etc_passwd": (edit_toml('"projects.csv"', '"/etc/passwd"'), "district.toml", "key projects", None,
                                 "found '/etc/passwd': an absolute path"),
    "projects_path_parent_x": (edit_toml('"projects.csv"', '"../x.csv"'), "district.toml", "key projects", None, "found '../x.csv'"),
    "projects_path_windows": (edit_toml('"projects.csv"', "'C:\\data\\projects.csv'"), "district.toml", "key projects", None, "an absolute path"),
    "projects_link_outside": (projects_link_outside, "district.toml", "key projects", None, "a link leading out of it"),
    "blank_lines_only": (write_text("stages.csv", "\n,,\n"), "stages.csv", "row 1", None, "found an empty file"),
    "net_migrants_infinite": (set_cell(M, 11, "net_migrants", "-inf"), M, "row 11", "net_migrants", "found '-inf'"),
}


def _message_ok(message: str, file: str, where: str, column: str | None, text: str) -> None:
    head = message.split(": expected", 1)[0]
    assert file in head, message
    if where:
        assert f", {where}" in head, message
    if column is not None:
        assert f"column '{column}'" in head, message
    assert text in message, message
    assert "\n" not in message


@pytest.mark.parametrize("kind", sorted(CASES))
def test_malformed_input(kind: str, district_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``capacity validate`` on a broken copy: status 2, one line naming file, row/key, column."""
    edit, file, where, column, text = CASES[kind]
    edit(district_dir)
    before = {p: p.stat().st_mtime_ns for p in district_dir.parent.rglob("*")}
    capsys.readouterr()
    status = main(["validate", str(district_dir)])
    out, err = capsys.readouterr()
    assert {p: p.stat().st_mtime_ns for p in district_dir.parent.rglob("*")} == before  # nothing written
    assert status == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    _message_ok(lines[0], file, where, column, text)


def test_malformed_input_raises_input_error(district_dir: Path) -> None:
    """``load_district`` raises one InputError whose str is the first problem."""
    edit, file, where, column, text = CASES["non_numeric"]
    edit(district_dir)
    with pytest.raises(InputError) as info:
        load_district(district_dir)
    _message_ok(str(info.value), file, where, column, text)
    assert str(info.value) == str(info.value.problems[0])


def test_at_least_twenty_kinds() -> None:
    assert len(CASES) >= 100


@pytest.mark.parametrize("path", ["/etc/passwd", "../x.csv", "link"])
def test_projects_outside_never_read(district_dir: Path, path: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A projects path leaving the folder is rejected by name; nothing of the file it names is read or printed, even with --all."""
    secret = district_dir.parent / "x.csv"
    secret.write_text("project_id\nSECRET-CONTENT\n", encoding="utf-8")
    if path == "link":
        (district_dir / "link.csv").symlink_to(secret)
        path = "link.csv"
    edit_toml('"projects.csv"', f'"{path}"')(district_dir)
    capsys.readouterr()
    assert main(["validate", "--all", str(district_dir)]) == 2
    err = capsys.readouterr().err
    assert "SECRET" not in err and "root:" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and "district.toml, key projects:" in lines[0], err


# ---------------------------------------------------------------------------- valid input


def test_valid_district_with_plan(tmp_path: Path) -> None:
    d = load_district(write_district(tmp_path / "data" / "districts" / "demo", plan=True))
    assert d.plan is not None and "plan.csv" in d.files
    assert d.plan_indicators == {"public_places_added": 300.0, "kindergarten_public_affordable_share": 0.85,
                                 "kindergarten_private_affordable_share": 0.75}
    needs = d.plan_needs
    assert needs is not None and list(needs["stage"]) == ["primary", "kindergarten"]


def test_valid_district_loads(district_dir: Path) -> None:
    d = load_district(district_dir)
    assert isinstance(d, District)
    assert (d.name, d.name_zh, d.code, d.base_year, d.open_age) == ("Demo", "示范区", "990001", 2023, OPEN_AGE)
    assert d.sex_ratio_at_birth == pytest.approx(1.10)
    assert d.area_codes == AREA_CODES
    assert str(d.areas.crs) == "EPSG:4326"
    assert list(d.areas["area_code"]) == list(AREA_CODES)
    assert d.stage_names == ("kindergarten", "primary", "junior", "senior")
    assert set(d.files) == {
        "district.toml",
        "areas.geojson",
        "stages.csv",
        "population.csv",
        "fertility.csv",
        "life_table.csv",
        "migration.csv",
        "places.csv",
        "projects.csv",
        "sources.csv",
    }
    assert all(p.is_file() for p in d.files.values())


def test_arrays(district_dir: Path) -> None:
    d = load_district(district_dir)
    pop = d.population_array()
    assert pop.shape == (2, 2, OPEN_AGE + 1) and pop.dtype == np.float64
    # population = 100 + age + 10 * area + sex (sex 0 female, 1 male)
    assert pop[1, 1, 7] == 100 + 7 + 10 + 1
    assert pop[0, 0, 0] == 100
    mig = d.migration_array()
    assert mig.shape == (2, 2, OPEN_AGE + 1)
    assert mig[0, 0, 0] == pytest.approx(-5.0)
    fert = d.fertility_array()
    assert d.fertility_first_age == 15
    assert fert.shape == (5,)
    assert fert[0] == pytest.approx(0.01)
    Lx = d.Lx_array()
    assert Lx.shape == (2, OPEN_AGE + 1)
    assert d.lx_array()[:, 0].tolist() == [100000.0, 100000.0]
    assert np.all(np.diff(d.lx_array(), axis=1) <= 0)
    places = d.places_array()
    assert places.shape == (2, 4, 2)
    assert places[0, 1, 0] == 110 and places[0, 1, 1] == 115
    assert places[1, 3, 1] == 0  # combination not listed: zero places
    assert d.projects["places"].dtype == np.int64
    assert list(d.projects["project_id"]) == ["P1", "P1", "P2", "P3"]


def test_input_hashes(district_dir: Path) -> None:
    import hashlib

    d = load_district(district_dir)
    hashes = d.input_hashes()
    assert set(hashes) == set(d.files)
    assert hashes["population.csv"] == hashlib.sha256((district_dir / "population.csv").read_bytes()).hexdigest()


def test_bom_and_crlf_accepted(district_dir: Path) -> None:
    path = district_dir / "population.csv"
    text = path.read_text(encoding="utf-8")
    path.write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"))
    d = load_district(district_dir)
    assert d.population_array().sum() > 0


def test_projected_crs_converted(district_dir: Path) -> None:
    import geopandas as gpd

    areas = gpd.read_file(district_dir / "areas.geojson").to_crs("EPSG:32649")
    (district_dir / "areas.geojson").unlink()
    areas.to_file(district_dir / "areas.gpkg", driver="GPKG")
    # sources.csv must name the areas file actually present
    set_cell("sources.csv", 3, "file", "areas.gpkg")(district_dir)
    d = load_district(district_dir)
    assert str(d.areas.crs) == "EPSG:4326"
    assert d.areas.total_bounds[0] == pytest.approx(113.30, abs=1e-6)
    assert "areas.gpkg" in d.files


def test_all_problems_collected(district_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    set_cell(P, 5, "age", "x")(district_dir)
    set_cell("fertility.csv", 3, "rate", "2")(district_dir)
    projects_cell(2, "kind", "old")(district_dir)
    with pytest.raises(InputError) as info:
        load_district(district_dir)
    assert len(info.value.problems) == 3
    files = [p.file for p in info.value.problems]
    assert files[0].endswith("population.csv") and files[1].endswith("fertility.csv") and files[2].endswith("projects.csv")
    capsys.readouterr()
    assert main(["validate", "--all", str(district_dir)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 3
    assert main(["--all", "validate", str(district_dir)]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 3


def test_file_names_as_given(district_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_cell(P, 17, "age", "1x")(district_dir)
    monkeypatch.chdir(district_dir.parent.parent)
    with pytest.raises(InputError) as info:
        load_district("districts/demo")
    assert str(info.value) == "districts/demo/population.csv, row 17, column 'age': expected an integer in 0..20, found '1x'"


def test_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "nowhere" in err


def test_env_var_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_district(tmp_path / "data" / "districts" / "haizhu")
    monkeypatch.setenv("CAPACITY_DATA", str(tmp_path / "data"))
    d = load_district()
    assert d.path == tmp_path / "data" / "districts" / "haizhu"


def test_cli_ok(district_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(district_dir)]) == 0
    out, err = capsys.readouterr()
    assert out == "ok: Demo, 2 areas, 3 projects\n"
    assert err == ""


def test_cli_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip().startswith("capacity ")
    assert main(["--help"]) == 0
    assert "validate" in capsys.readouterr().out
    assert main([]) == 2


def test_cli_unexpected_error(district_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import capacity.io.district as district_module

    def boom(path: object = None) -> None:
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr(district_module, "load_district", boom)
    assert main(["validate", str(district_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1 and "Traceback" not in err


def test_cli_subprocess_no_traceback(district_dir: Path) -> None:
    set_cell(P, 17, "age", "1x")(district_dir)
    code = "import sys; from capacity.cli import main; sys.exit(main())"
    proc = subprocess.run(
        [sys.executable, "-c", code, "validate", str(district_dir)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [f"{district_dir / 'population.csv'}, row 17, column 'age': expected an integer in 0..20, found '1x'"]


def test_cli_import_is_light() -> None:
    code = "import sys, capacity.cli; print('geopandas' in sys.modules, 'pandera' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert proc.stdout.split() == ["False", "False"]


def test_models_match_docs() -> None:
    """Every table and column of the models is documented in docs/data-format.md."""
    docs = (REPO / "docs" / "data-format.md").read_text(encoding="utf-8")
    for key in DistrictFile.model_fields:
        assert f"`{key}`" in docs
    for table in TABLES.values():
        assert f"`{table.file}`" in docs
        for column in table.model.to_schema().columns:
            assert f"`{column}`" in docs


def test_embedded_default_validates() -> None:
    if not (REPO / "capacity" / "data" / "districts" / "haizhu" / "district.toml").is_file():
        pytest.skip("capacity/data/districts/haizhu/district.toml does not exist yet")
    d = load_district()
    assert d.area_codes


def test_net_migrants_bound_rows_in_any_order(district_dir: Path) -> None:
    """The bound relative to the cell's population holds when migration.csv lists the cells in another order."""
    path = district_dir / "migration.csv"
    rows = read_rows(path)
    rows[7][3] = "20000"  # area 1, female, age 6: population 106
    write_rows(path, rows[:1] + rows[1:][::-1])
    with pytest.raises(InputError) as info:
        load_district(district_dir)
    line = len(rows) - 7 + 1
    assert str(info.value).endswith(f"migration.csv, row {line}, column 'net_migrants': expected a number in [-10106, 10106] "
                                    f"(the cell's population 106, {district_dir / 'population.csv'} row 8, + 10000), found '20000'")


def test_geojson_crs_member_honoured(district_dir: Path) -> None:
    """A GeoJSON in metres that declares its projected CRS in a ``crs`` member is converted to EPSG:4326."""
    import geopandas as gpd

    areas = gpd.read_file(district_dir / "areas.geojson").to_crs("EPSG:3857")
    doc = json.loads(areas.to_json(drop_id=True))
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    (district_dir / "areas.geojson").write_text(json.dumps(doc), encoding="utf-8")
    d = load_district(district_dir)
    assert str(d.areas.crs) == "EPSG:4326"
    assert d.areas.total_bounds[0] == pytest.approx(113.30, abs=1e-6)
