"""A District built in code gets the checks of one read from files; bounded, linear-time reports.

Every in-code kind breaks one table of the valid synthetic district (see ``conftest.py``)
and checks that the first problem names the table, the row position (or key) and the
column. The last tests check the paths that must stay linear: many duplicate rows, and a
district of many areas.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import AREA_CODES, OPEN_AGE, write_district

from capacity.errors import InputError
from capacity.io import District, load_district
from capacity.io.checks import LIMIT

Kwargs = dict[str, Any]


@pytest.fixture
def frames(tmp_path: Path) -> Kwargs:
    """The arguments of District.from_frames for the synthetic district (with a plan)."""
    d = load_district(write_district(tmp_path / "data" / "districts" / "demo", plan=True))
    names = ("name", "name_zh", "code", "base_year", "open_age", "sex_ratio_at_birth", "attribution", "areas", "stages",
             "population", "fertility", "life_table", "migration", "places", "projects", "sources", "plan")
    return {n: getattr(d, n).copy() if isinstance(getattr(d, n), pd.DataFrame) else getattr(d, n) for n in names}


def cell(table: str, position: int, column: str, value: object) -> Callable[[Kwargs], None]:
    def edit(kw: Kwargs) -> None:
        frame = kw[table]
        if isinstance(value, str) and frame[column].dtype != object:
            frame = frame.astype({column: object})
        elif isinstance(value, float) and frame[column].dtype == np.int64:
            frame = frame.astype({column: np.float64})
        frame.iloc[position, frame.columns.get_loc(column)] = value
        kw[table] = frame

    return edit


def rows(table: str, keep: Callable[[pd.DataFrame], pd.Series]) -> Callable[[Kwargs], None]:
    def edit(kw: Kwargs) -> None:
        kw[table] = kw[table][keep(kw[table])]

    return edit


def setting(key: str, value: object) -> Callable[[Kwargs], None]:
    def edit(kw: Kwargs) -> None:
        kw[key] = value

    return edit


def append(table: str, position: int) -> Callable[[Kwargs], None]:
    def edit(kw: Kwargs) -> None:
        kw[table] = pd.concat([kw[table], kw[table].iloc[[position]]], ignore_index=True)

    return edit


def columns(table: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Kwargs], None]:
    def edit(kw: Kwargs) -> None:
        kw[table] = change(kw[table])

    return edit


def shift_area(kw: Kwargs) -> None:
    areas = kw["areas"].copy()
    areas.loc[1, "geometry"] = shapely.affinity.translate(areas.geometry.iloc[0], 0.005, 0)
    kw["areas"] = areas


A1, A2 = AREA_CODES
POP_LAST = 4 * (OPEN_AGE + 1)  # position of a row appended to population

# kind: (edit, table, where, column, expected text)
CODE_CASES: dict[str, tuple[Callable[[Kwargs], None], str, str, str | None, str]] = {
    "negative_population": (cell("population", 3, "population", -1.0), "population", "position 3", "population", "expected a number in [0, 1000000]"),
    "nan_population": (cell("population", 4, "population", np.nan), "population", "position 4", "population", "found an empty cell"),
    "non_integer_age": (cell("population", 5, "age", 3.5), "population", "position 5", "age", "not a whole number"),
    "text_thousands": (cell("places", 2, "places", "1,234"), "places", "position 2", "places", "thousands separators"),
    "age_above_open_age": (cell("migration", 20, "age", OPEN_AGE + 1), "migration", "position 20", "age", f"in 0..{OPEN_AGE}, found '21'"),
    "unknown_sex": (cell("life_table", 2, "sex", "m"), "life_table", "position 2", "sex", "one of 'female', 'male', found 'm'"),
    "unknown_area": (cell("migration", 50, "area_code", "X"), "migration", "position 50", "area_code", "area codes of the areas file"),
    "unknown_stage": (cell("projects", 1, "stage", "college"), "projects", "position 1", "stage", "stages of stages.csv"),
    "empty_text": (cell("projects", 0, "source", ""), "projects", "position 0", "source", "found an empty cell"),
    "duplicate_key": (append("population", 8), "population", f"position {POP_LAST}", "age",
                      f"found a second one for area_code={A1}, sex=female, age=8 (first at position 8)"),
    "gap_in_ages": (rows("population", lambda f: ~((f["area_code"] == A2) & (f["sex"] == "male") & (f["age"] == 7))), "population",
                    f"key area_code={A2}, sex=male, age=7", "age", "found no row for age 7"),
    "missing_area_sex": (rows("migration", lambda f: ~((f["area_code"] == A1) & (f["sex"] == "female"))), "migration",
                         f"key area_code={A1}, sex=female", "sex", "found none"),
    "fertility_gap": (rows("fertility", lambda f: f["age"] != 17), "fertility", "key age=17", "age", "contiguous ages 15..19"),
    "life_table_radix": (cell("life_table", 0, "lx", 99000.0), "life_table", "position 0", "lx", "100000 (the radix)"),
    "life_table_increasing": (cell("life_table", 4, "lx", 99999.0), "life_table", "position 4", "lx", "non-increasing"),
    "stage_overlap": (cell("stages", 1, "first_age", 5), "stages", "position 1", "first_age", "not to overlap"),
    "missing_column": (columns("population", lambda f: f.drop(columns="population")), "population", "", "population",
                       "expected a column 'population', found none"),
    "unknown_column": (columns("stages", lambda f: f.assign(notes="x")), "stages", "", "notes", "unknown column 'notes'"),
    "plan_old_indicator": (cell("plan", 3, "indicator", "kindergarten_public_affordable_share"), "plan", "position 3", "indicator",
                           "the indicator is now 'public_affordable_share' with stage 'kindergarten'"),
    "plan_need_unknown_stage": (cell("plan", 0, "stage", "college"), "plan", "position 0", "stage", "a stage of stages.csv for 'need'"),
    "plan_share_above_1": (cell("plan", 4, "value", 1.5), "plan", "position 4", "value", "a share in [0, 1]"),
    "sources_unknown_file": (cell("sources", 2, "file", "stage.csv"), "sources", "position 2", "file", "found 'stage.csv'"),
    "sources_missing_file": (rows("sources", lambda f: f["file"] != "places.csv"), "sources", "key file=places.csv", "file",
                             "found none for 'places.csv'"),
    "settings_out_of_range": (setting("sex_ratio_at_birth", 110.0), "District", "attribute sex_ratio_at_birth", None, "found 110.0"),
    "settings_wrong_type": (setting("base_year", "2023"), "District", "attribute base_year", None, "(unquoted), found the text '2023'"),
    "settings_empty_name": (setting("name", " "), "District", "attribute name", None, "found an empty string"),
    "areas_overlap": (shift_area, "areas", "position 1", "geometry", "not to overlap"),
    "areas_duplicate_code": (cell("areas", 1, "area_code", A1), "areas", "position 1", "area_code", f"second one for area_code={A1}"),
    "table_missing": (setting("population", None), "population", "", None, "expected a DataFrame, found NoneType"),
    "areas_not_geodataframe": (lambda kw: kw.update(areas=pd.DataFrame(kw["areas"].drop(columns="geometry"))), "areas", "", None,
                               "expected a GeoDataFrame, found DataFrame"),
    "areas_without_crs": (lambda kw: kw.update(areas=kw["areas"].set_crs(None, allow_override=True)), "areas", "", "geometry",
                          "coordinate reference system"),
}


def _message_ok(message: str, table: str, where: str, column: str | None, text: str) -> None:
    head = message.split(": expected", 1)[0]
    assert head.startswith(table + (", " if where or column else "")), message
    if where:
        assert f", {where}" in head, message
    if column is not None:
        assert f"column '{column}'" in head, message
    assert text in message, message
    assert "\n" not in message


@pytest.mark.parametrize("kind", sorted(CODE_CASES))
def test_district_in_code_malformed(kind: str, frames: Kwargs) -> None:
    """District.from_frames raises one InputError naming table, position or key, and column."""
    edit, table, where, column, text = CODE_CASES[kind]
    edit(frames)
    with pytest.raises(InputError) as info:
        District.from_frames(**frames)
    _message_ok(str(info.value), table, where, column, text)


def test_at_least_twenty_in_code_kinds() -> None:
    assert len(CODE_CASES) >= 20


def test_district_in_code_valid(frames: Kwargs) -> None:
    """Rows in any order: the District sorts them; arrays equal those of the loaded district."""
    loaded = District.from_frames(**frames)
    frames["population"] = frames["population"].sample(frac=1, random_state=0)
    frames["places"] = frames["places"].iloc[::-1]
    shuffled = District.from_frames(**frames)
    assert shuffled.area_codes == AREA_CODES
    assert np.array_equal(shuffled.population_array(), loaded.population_array())
    assert np.array_equal(shuffled.places_array(), loaded.places_array())
    assert list(shuffled.population.index) == list(range(len(shuffled.population)))
    assert shuffled.plan_indicators == {"public_places_added": 300.0, "kindergarten_public_affordable_share": 0.85,
                                        "kindergarten_private_affordable_share": 0.75}


def test_replace_is_checked_again(district_dir: Path) -> None:
    """A copy with a table changed (dataclasses.replace) is checked like a new District."""
    d = load_district(district_dir)
    pop = d.population.copy()
    pop.loc[3, "population"] = -1.0
    with pytest.raises(InputError, match=r"^population, position 3, column 'population'"):
        dataclasses.replace(d, population=pop)
    assert dataclasses.replace(d, name="Other").name == "Other"


def test_constructor_checks_area_codes(frames: Kwargs) -> None:
    d = District.from_frames(**frames)
    with pytest.raises(InputError, match="attribute area_codes"):
        dataclasses.replace(d, area_codes=(A2, A1))


# ---------------------------------------------------------------------------- linear paths


@pytest.mark.parametrize("copies", [LIMIT - 1, 3 * LIMIT])
def test_many_duplicate_rows_bounded(district_dir: Path, copies: int) -> None:
    """Duplicate rows are listed up to LIMIT, the first counting them all; each names its first row."""
    path = district_dir / "population.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    extra = (lines[1:] * (copies // (len(lines) - 1) + 1))[:copies]
    path.write_text("".join(lines + extra), encoding="utf-8")
    start = time.perf_counter()
    with pytest.raises(InputError) as info:
        load_district(district_dir)
    assert time.perf_counter() - start < 10
    problems = info.value.problems
    assert len(problems) == min(copies, LIMIT)
    assert all("found a second one" in p.expected for p in problems)
    assert problems[0].where == f"row {len(lines) + 1}" and "(first at row 2)" in problems[0].expected
    assert (f"({copies} such problems" in problems[0].expected) == (copies > LIMIT)


def _big_district(frames: Kwargs, n: int) -> Kwargs:
    """The synthetic district with its two areas repeated to ``n`` areas, side by side."""
    areas = frames["areas"]
    copies, tables = [], {"population": [], "migration": []}
    for c in range(n // 2):
        a = areas.copy()
        a["geometry"] = areas.geometry.translate(0.02 * (c % 100), 0.01 * (c // 100)).to_numpy()
        a["area_code"] = [f"{c:05d}{code}" for code in areas["area_code"]]
        copies.append(a)
        for name in tables:
            t = frames[name].copy()
            t["area_code"] = f"{c:05d}" + t["area_code"]
            tables[name].append(t)
    out = dict(frames, areas=pd.concat(copies, ignore_index=True), places=frames["places"].iloc[:0], projects=frames["projects"].iloc[:0])
    out.update({name: pd.concat(parts, ignore_index=True) for name, parts in tables.items()})
    return out


def test_large_district_in_code_linear(frames: Kwargs) -> None:
    """2,000 areas validate in seconds; one missing age per area is reported, bounded."""
    big = _big_district(frames, 2000)
    start = time.perf_counter()
    d = District.from_frames(**big)
    assert time.perf_counter() - start < 10
    assert len(d.area_codes) == 2000 and d.population_array().shape == (2000, 2, OPEN_AGE + 1)
    pop = big["population"]
    big["population"] = pop[pop["age"] != 7]
    with pytest.raises(InputError) as info:
        District.from_frames(**big)
    problems = info.value.problems
    assert len(problems) == LIMIT
    assert problems[0].where.endswith("age=7") and "(4000 such problems" in problems[0].expected


def _many(folder: Path, n: int, change: Callable[[str], str]) -> None:
    """Append ``n`` changed copies of population rows to population.csv (new ages, so no duplicates)."""
    path = folder / "population.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    extra = [change(f"{A1},female,{OPEN_AGE + 1 + i},5\n") for i in range(n)]
    path.write_text("".join(lines + extra), encoding="utf-8")


# kind: (change of each extra row, column, expected text of the first problem)
MANY: dict[str, tuple[Callable[[str], str], str, str]] = {
    "wrong_width": (lambda line: line.replace("\n", ",x\n"), "", "expected 4 fields as in the header, found 5 (1500 such rows"),
    "bad_number": (lambda line: line.replace(",5\n", ",five\n"), "population", "found 'five' (1500 such problems in this column"),
    "out_of_range": (lambda line: line, "age", f"in 0..{OPEN_AGE}, found '{OPEN_AGE + 1}' (1500 such problems in this column"),
}


@pytest.mark.parametrize("kind", sorted(MANY))
def test_many_bad_rows_bounded(district_dir: Path, kind: str) -> None:
    """1,500 bad rows of one kind: LIMIT problems listed, the first counting them all."""
    change, column, text = MANY[kind]
    _many(district_dir, 1500, change)
    with pytest.raises(InputError) as info:
        load_district(district_dir)
    problems = [p for p in info.value.problems if p.file.endswith("population.csv")]
    assert len(problems) == LIMIT
    assert problems[0].where == f"row {4 * (OPEN_AGE + 1) + 2}" and problems[0].column == column
    assert text in problems[0].expected
