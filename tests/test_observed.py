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


def test_observed_check_beside_projection(tmp_path: Path) -> None:
    """Population, births, enrolment, intake and places against the result; the other outputs byte-identical."""
    folder = _district(tmp_path, "population,440105,2020,,,,1819037,census\n"
                                 "population,440105001,2021,,,,1000,x\n"
                                 "births,440105,2022,,,,20000,x\n"
                                 "enrolment,440105,2021,primary,,,100000,x\n"
                                 "intake,440105,2021,primary,,,20000,x\n"
                                 "places,440105,2020,primary,,,80000,x\n"
                                 "population,440105,2021,,female,,900000,x\n")
    with_obs = capacity.run("baseline", capacity.load_district(folder))
    (folder / "observed.csv").unlink()
    sources = (folder / "sources.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / "sources.csv").write_text("".join(r for r in sources if not r.startswith("observed.csv")), encoding="utf-8")
    plain = capacity.run("baseline", capacity.load_district(folder))
    table = with_obs.observed_check
    ds = with_obs.to_xarray()
    assert table["observed"].tolist()[:2] == [1819037, 1000]
    assert table["projected"].iloc[0] == pytest.approx(float(ds["population"].sel(year=2020).sum("area").item()))
    assert table["difference_pct"].iloc[0] == pytest.approx(0.0, abs=1e-9)  # the census is the base population
    demand = ds["demand"].sel(year=2021, stage="primary").sum(["area", "sector"]).item()
    assert table["projected"].iloc[3] == pytest.approx(demand)
    assert table["projected"].iloc[4] == pytest.approx(demand / 6)  # primary: ages 6..11
    assert table["projected"].iloc[5] == pytest.approx(ds["places"].sel(year=2020, stage="primary").sum().item())
    assert table["difference_pct"].iloc[2] == pytest.approx(100 * (table["projected"].iloc[2] - 20000) / 20000)
    assert table["note"].iloc[6] == "not projected by sex or single age" and table["projected"].isna().iloc[6]
    files, base = with_obs.files(), plain.files()
    assert "observed_check.csv" in files and "observed_check.csv" not in base
    for name in ("gap.csv", "plan_comparison.csv", "indicators.csv", "schedule.csv"):
        assert files[name] == base[name]
    assert "population" not in plain.to_xarray()


def test_public_share_by_hand() -> None:
    """Two areas, two draws: the share is summed public demand over summed demand per draw, not a mean of the areas' shares."""
    import types
    from typing import Any, cast

    import numpy as np
    import pandas as pd
    import xarray as xr

    from capacity.results.observed import observed_check

    # demand (year, area, stage, sector, draw): area a public 30 | 10, private 10 | 30; area b public 10 | 10, private 50 | 10
    demand = np.array([[[[[30.0, 10.0], [10.0, 30.0]]], [[[10.0, 10.0], [50.0, 10.0]]]]])
    ds = xr.Dataset({"demand": (("scenario", "year", "area", "stage", "sector", "draw"), demand[None])},
                    coords={"scenario": ["s"], "year": [2020], "area": ["a", "b"], "stage": ["kg"], "sector": ["public", "private"],
                            "draw": [0, 1]}, attrs={"draws": 2})
    obs = pd.DataFrame([{"indicator": "public_share", "area_code": "d", "year": 2020, "stage": "kg", "sex": "", "age": "", "value": 0.4,
                         "source": "x"},
                        {"indicator": "public_share", "area_code": "b", "year": 2020, "stage": "kg", "sex": "", "age": "", "value": 0.2,
                         "source": "x"}])
    table = observed_check(ds, cast(Any, types.SimpleNamespace(observed=obs)))
    # district: draw 0 (30 + 10) / 100 = 0.4, draw 1 (10 + 10) / 60 = 1/3; area b: 10 / 60 and 10 / 20
    assert table["projected"].tolist() == pytest.approx([(0.4 + 1 / 3) / 2, (1 / 6 + 0.5) / 2])
    assert table["projected_p10"].iloc[0] == pytest.approx(1 / 3 + 0.1 * (0.4 - 1 / 3))
    assert table["difference"].iloc[1] == pytest.approx(1 / 3 - 0.2)


@pytest.mark.parametrize(("row", "column", "expected"), [
    ("public_share,440105,2020,,,,0.5,x", "stage", "expected a stage of stages.csv for 'public_share', found an empty cell"),
    ("public_share,440105,2020,kindergarten,,,1.5,x", "value", "expected a share in [0, 1] for 'public_share', found '1.5'"),
])
def test_public_share_bad_rows(tmp_path: Path, row: str, column: str, expected: str) -> None:
    with pytest.raises(InputError) as info:
        capacity.load_district(_district(tmp_path, row + "\n"))
    first = info.value.problems[0]
    assert first.where == "row 2" and first.column == column and expected in first.expected


def test_haizhu_kindergarten_public_share() -> None:
    """The plan's 51.16 % of 2020 beside the projection: migrant and local public shares of stages.csv weighted by the migrant share."""
    d = capacity.load_district()
    result = capacity.run("baseline", d)
    row = result.observed_check.set_index(["indicator", "stage", "year"]).loc[("public_share", "kindergarten", 2020)]
    st = d.stages.set_index("stage").loc["kindergarten"]
    m = float(st["migrant_share"])
    expected = m * float(st["migrant_public_share"]) + (1 - m) * float(st["local_public_share"])
    assert row["observed"] == 0.5116
    assert row["projected"] == pytest.approx(expected)
    assert row["difference"] == pytest.approx(expected - 0.5116) and abs(row["difference"]) < 5e-4
    assert "chapter 1" in row["source"]
    line = next(x for x in result.files()["observed_check.csv"].decode().splitlines() if x.startswith("baseline,public_share"))
    assert line.startswith(f"baseline,public_share,440105,2020,kindergarten,,,0.511600,{expected:.6f},{expected - 0.5116:.6f},")
    from capacity.results.observed import observed_lines
    assert any("public_share kindergarten" in x and "51.16 %" in x for x in observed_lines(result.observed_check))
    from capacity.calibrate import fit
    assert "public_share" not in set(fit(d, capacity.load_scenario("baseline"), trend=False).residuals["indicator"])
