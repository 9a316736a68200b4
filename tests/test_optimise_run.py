"""capacity optimise end to end: candidates table, outputs, the plan's scenario runs."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import pandas as pd
import pytest

import capacity
from capacity.cli import main
from capacity.errors import InputError
from capacity.optimise.candidates import read_candidates
from capacity.resources import district_path

HAIZHU = district_path()


def test_haizhu_candidates_are_valid_and_labelled() -> None:
    district = capacity.load_district()
    table = read_candidates(HAIZHU / "candidates.csv", district.area_codes, district.stage_names)
    assert len(table) >= 50
    assert set(table["kind"]) == {"new_school", "expansion", "conversion"}
    assert (table["source"].str.len() > 20).all()
    assert set(table["estimate"]) <= {"yes", "no"}


def test_bad_candidate_row_is_one_line(tmp_path: Path) -> None:
    district = capacity.load_district()
    frame = pd.read_csv(HAIZHU / "candidates.csv", dtype=str, keep_default_na=False)
    frame.loc[3, "area_code"] = "999"
    frame.loc[5, "cost_per_unit"] = "lots"
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        read_candidates(path, district.area_codes, district.stage_names, shown="c.csv")
    assert str(info.value) == "c.csv, row 7, column 'cost_per_unit': expected a number, found 'lots'"
    frame.loc[5, "cost_per_unit"] = "10"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=r"^c.csv, row 5, column 'area_code': expected one of the district's areas"):
        read_candidates(path, district.area_codes, district.stage_names, shown="c.csv")


def test_optimise_table_is_validated() -> None:
    from capacity.scenario_file import validate_document

    with pytest.raises(InputError, match=r"key optimise.max_p_shortfall: expected a number <= 1"):
        validate_document({"optimise": {"max_p_shortfall": 1.5}}, "s.toml")
    assert validate_document({}, "s.toml").optimise.shortfall_penalty == 2.0


@pytest.mark.slow
def test_cli_writes_plan_and_a_scenario_that_runs(tmp_path: Path) -> None:
    out = tmp_path / "opt"
    assert main(["optimise", "--draws", "8", "--seed", "2", "--out", str(out), "--quiet"]) == 0
    names = {p.name for p in out.iterdir()}
    assert names == {"plan.csv", "comparison.csv", "p_shortfall.csv", "solution.csv", "optimised.toml", "meta.json",
                     "actions_map.png"}
    plan = pd.read_csv(out / "plan.csv")
    assert {"action_id", "what", "area_code", "year", "places", "cost"} <= set(plan.columns)
    comparison = pd.read_csv(out / "comparison.csv")
    assert list(comparison["plan"]) == ["as written", "optimised"]
    assert comparison["place_years_short"].iloc[1] <= comparison["place_years_short"].iloc[0]
    solution = pd.read_csv(out / "solution.csv")
    assert solution["mip_gap"].iloc[0] <= 0.01 and solution["lp_bound"].iloc[0] <= solution["objective"].iloc[0] + 1e-6
    doc = tomllib.loads((out / "optimised.toml").read_text(encoding="utf-8"))
    assert doc["name"] == "baseline_optimised"
    res = capacity.run(out / "optimised.toml", draws=8, seed=3)
    assert res.scenarios == ["baseline_optimised"]
    assert main(["run", str(out / "optimised.toml"), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    # the same inputs and seed give the same bytes
    again = tmp_path / "again"
    assert main(["optimise", "--draws", "8", "--seed", "2", "--out", str(again), "--quiet"]) == 0
    for name in ("plan.csv", "optimised.toml", "comparison.csv", "meta.json"):
        assert (again / name).read_bytes() == (out / name).read_bytes(), name


@pytest.mark.slow
def test_cli_infeasible_budget_exits_2_naming_the_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "tight.toml"
    scenario.write_text('extend = "baseline"\nname = "tight"\n[optimise]\nbudget_total = 10.0\n'
                        'max_p_shortfall = 0.5\nrequirement_from_year = 2030\n', encoding="utf-8")
    assert main(["optimise", str(scenario), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "key optimise.budget_total: expected" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_optimise_own_candidates_file(tmp_path: Path) -> None:
    shutil.copy(HAIZHU / "candidates.csv", tmp_path / "mine.csv")
    frame = pd.read_csv(tmp_path / "mine.csv", dtype=str, keep_default_na=False).head(5)
    frame.to_csv(tmp_path / "mine.csv", index=False)
    scenario = tmp_path / "s.toml"
    scenario.write_text('extend = "baseline"\nname = "s"\n[optimise]\ncandidates = "mine.csv"\nallow_cancel = false\n',
                        encoding="utf-8")
    result = capacity.optimise(scenario, evaluate_plan=False)  # type: ignore[operator]
    assert set(result.plan["action_id"]) <= {*frame["action_id"], *capacity.load_district().projects["project_id"]}
    assert (result.plan["units"] > 0).all()  # no project cancelled


def test_street_notes_of_the_map() -> None:
    from capacity.optimise.figure import street_notes

    plan = pd.DataFrame({"action_id": ["P1", "K1", "EP-1", "EP-1"], "kind": ["project", "project", "expansion", "expansion"],
                         "area_code": ["a", "b", "a", "a"], "year": [2022, None, 2023, 2024], "units": [1, 0, 2, 1],
                         "places": [810.0, 0.0, 90.0, 45.0]})
    added, notes = street_notes(plan, {"P1": 2024, "K1": 2024})
    assert added.to_dict() == {"a": 135.0}
    assert notes == {"a": "P1 -2y", "b": "K1 ×"}
