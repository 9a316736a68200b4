"""observed.csv: validation, and the check of every run against it (observed_check.csv)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import capacity
from capacity.errors import InputError
from capacity.resources import district_path

HEADER = "indicator,area_code,year,stage,sex,age,value,source\n"


def _district(tmp_path: Path, rows: str) -> Path:
    folder = tmp_path / "d"
    shutil.copytree(district_path(), folder)
    (folder / "observed.csv").write_text(HEADER + rows, encoding="utf-8")
    if "observed.csv" not in (folder / "sources.csv").read_text(encoding="utf-8"):
        with open(folder / "sources.csv", "a", encoding="utf-8") as f:
            f.write("observed.csv,*,no,test figures,\n")
    return folder


def test_observed_read_with_totals(tmp_path: Path) -> None:
    d = capacity.load_district(_district(tmp_path, "population,440105,2021,,,,1821800,yearbook\n"
                                                   "enrolment,440105,2020,primary,,,150000,plan\n"))
    assert d.observed is not None
    assert list(d.observed["indicator"]) == ["population", "enrolment"]
    assert list(d.observed["age"]) == ["", ""]


@pytest.mark.parametrize(("row", "column", "expected"), [
    ("population,999,2021,,,,1,x", "area_code", "or the district's code '440105', found '999'"),
    ("intake,440105,2021,,,,1,x", "stage", "expected a stage of stages.csv for 'intake', found an empty cell"),
    ("population,440105,2021,,,7x,1,x", "age", "found '7x'"),
    ("population,440105,2021,,both,,1,x", "sex", "found 'both'"),
    ("pupils,440105,2021,,,,1,x", "indicator", "found 'pupils'"),
])
def test_observed_bad_rows(tmp_path: Path, row: str, column: str, expected: str) -> None:
    with pytest.raises(InputError) as info:
        capacity.load_district(_district(tmp_path, row + "\n"))
    first = info.value.problems[0]
    assert first.file.endswith("observed.csv") and first.where == "row 2" and first.column == column
    assert expected in first.expected
