"""The main job end to end on small districts where every number is known by hand."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import capacity
from capacity.cli import main
from capacity.scenario import ProjectChanges, Scenario, scenario_from_dict
from tests.conftest import AREA_CODES, OPEN_AGE, SEXES, STAGES, csv_text, write_district

BASE = 2023


def closed_district(folder: Path) -> Path:
    """The synthetic district made closed and immortal, without births.

    Every cohort then moves up one age per year unchanged, so the population at age ``x``
    in year ``BASE + t`` is the base population at age ``x - t`` (zero below age t).
    Base population: ``100 + age + 10 * area + sex`` (see conftest).
    """
    write_district(folder)
    (folder / "fertility.csv").write_text(csv_text("age,rate", [(a, 0) for a in range(15, 20)]), encoding="utf-8")
    rows = [(s, a, 100000, 100000 * (1000 if a == OPEN_AGE else 1)) for s in SEXES for a in range(OPEN_AGE + 1)]
    (folder / "life_table.csv").write_text(csv_text("sex,age,lx,Lx", rows), encoding="utf-8")
    mig = [(c, s, a, 0) for c in AREA_CODES for s in SEXES for a in range(OPEN_AGE + 1)]
    (folder / "migration.csv").write_text(csv_text("area_code,sex,age,net_migrants", mig), encoding="utf-8")
    return folder


def arrays(res: capacity.Results, scenario: int = 0) -> SimpleNamespace:
    """One scenario's variables from the results' Dataset, as arrays in the core's axis order."""
    ds = res.to_xarray().isel(scenario=scenario)
    return SimpleNamespace(years=ds["year"].values, **{str(k): v.values for k, v in ds.data_vars.items()})


def base_pop(area: int, sex: int, age: int) -> float:
    return 100.0 + age + 10 * area + sex if age >= 0 else 0.0


def expected_children(area: int, first: int, last: int, t: int) -> float:
    return sum(base_pop(area, s, x - t) for s in range(2) for x in range(first, last + 1))


@pytest.fixture
def closed(tmp_path: Path) -> capacity.District:
    return capacity.load_district(closed_district(tmp_path / "data" / "districts" / "demo"))


def test_closed_population_gives_exact_demand_and_gap(closed: capacity.District) -> None:
    res = capacity.run(Scenario(name="s", horizon=BASE + 4), closed)
    r = arrays(res)
    for s, (_stage, first, last, _, rate, m, lp, mp) in enumerate(STAGES):
        for area in range(2):
            for t in range(5):
                children = expected_children(area, first, last, t)
                public = children * rate * ((1 - m) * lp + m * mp)
                assert r.children[t, area, s, 0] == pytest.approx(children, rel=1e-12)
                assert r.demand[t, area, s, 0, 0] == pytest.approx(public, rel=1e-12)
                assert r.demand[t, area, s, :, 0].sum() == pytest.approx(children * rate, rel=1e-12)
    # places: places.csv (100*(area+1) + 10*stage, +5 private) plus P1 (area 0, 2025:
    # 900 primary, 600 junior); P2 (area 1, kindergarten 270, 2026); P3 (area 1 senior
    # private 1000, 2027)
    g = res.gap
    prim = g[(g.area_code == AREA_CODES[0]) & (g.stage == "primary")].set_index("year")
    assert prim.loc[2024, "places"] == 110 + 115
    assert prim.loc[2025, "places"] == 110 + 115 + 900
    demand_2025 = expected_children(0, 6, 11, 2) * 1.0
    assert prim.loc[2025, "gap"] == pytest.approx(1125 - demand_2025)
    assert prim.loc[2025, "shortfall"] == pytest.approx(max(demand_2025 - 1125, 0))
    assert prim.loc[2024, "shortfall"] == pytest.approx(expected_children(0, 6, 11, 1) - 225)


def test_district_rows_do_not_offset(closed: capacity.District) -> None:
    g = capacity.run(Scenario(name="s", horizon=BASE + 4), closed).gap
    areas = g[g.area_code != "990001"]
    district = g[g.area_code == "990001"].set_index(["year", "stage"])
    sums = areas.groupby(["year", "stage"])[["demand", "places", "gap", "shortfall", "surplus"]].sum()
    for col in sums:
        np.testing.assert_allclose(district[col].sort_index(), sums[col].sort_index(), rtol=1e-12)
    both = areas.pivot_table(index=["year", "stage"], columns="area_code", values="gap")
    mixed = both[(both.min(axis=1) < 0) & (both.max(axis=1) > 0)]
    assert len(mixed) > 0  # some year/stage has a shortfall in one area and a surplus in the other
    for key in mixed.index:
        assert district.loc[key, "shortfall"] == pytest.approx(-mixed.loc[key].clip(upper=0).sum())


def test_delay_cancel_phase_conversion(closed: capacity.District) -> None:
    scen = Scenario(name="s", horizon=BASE + 6, projects=ProjectChanges(
        delay=(("P1", 2),), cancel=("P2",), phases=(("P3", (0.5, 0.5)),),
        add=(tuple({"project_id": "C1", "stage": "kindergarten", "places": -90.0, "area_code": AREA_CODES[0],
                    "ownership": "public", "opening_year": 2026, "kind": "conversion"}.items()),
             tuple({"project_id": "C1", "stage": "primary", "places": 90.0, "area_code": AREA_CODES[0],
                    "ownership": "public", "opening_year": 2026, "kind": "conversion"}.items())),
    ))
    r = arrays(capacity.run(scen, closed))
    years = list(r.years)
    pub = r.places[:, :, :, 0, 0]
    prim0 = pub[:, 0, 1]
    # primary area 0 public: 110, +90 conversion from 2026, +900 P1 delayed to 2027
    assert prim0[years.index(2025)] == 110
    assert prim0[years.index(2026)] == 200
    assert prim0[years.index(2027)] == 1100
    assert pub[years.index(2026), 0, 0] == 100 - 90  # kindergarten lost the converted places
    assert (pub[:, 1, 0] == 200).all()  # P2 cancelled
    priv_senior1 = r.places[:, 1, 3, 1, 0]
    assert priv_senior1[years.index(2027)] == 500 and priv_senior1[years.index(2028)] == 1000


def test_unknown_project_in_scenario_is_input_error(closed: capacity.District) -> None:
    with pytest.raises(capacity.InputError, match="projects.delay.NOPE"):
        capacity.run(Scenario(name="s", projects=ProjectChanges(delay=(("NOPE", 1),))), closed)


def test_plan_as_written_demand(tmp_path: Path) -> None:
    folder = closed_district(tmp_path / "data" / "districts" / "demo")
    (folder / "plan.csv").write_text(csv_text("indicator,stage,year,value,source", [
        ("need", "primary", 2025, 100, "test"), ("need", "junior", 2025, 0, "test")]), encoding="utf-8")
    with open(folder / "sources.csv", "a", encoding="utf-8") as fh:
        fh.write("plan.csv,*,no,test,\n")
    d = capacity.load_district(folder)
    r = arrays(capacity.run(scenario_from_dict({"name": "plan", "horizon": 2028, "demand": {"source": "plan"}}), d))
    prim = r.demand[:, :, 1].sum(axis=(1, 2))[:, 0]  # district primary demand by year
    base = d.places_array()[:, 1].sum()
    assert prim.tolist() == pytest.approx([base, base + 50, base + 100, base + 100, base + 100, base + 100])


def test_transport_reduces_shortfall(closed: capacity.District) -> None:
    strict = arrays(capacity.run(Scenario(name="s", horizon=BASE + 4), closed))
    moved = arrays(capacity.run(Scenario(name="s", horizon=BASE + 4, travel_limit_km=50.0), closed))
    assert not hasattr(strict, "shortfall_after_transport")
    short = strict.shortfall.sum(axis=1)
    left = moved.shortfall_after_transport.sum(axis=1)
    assert (left <= short + 1e-6).all()
    # with both areas reachable, the unplaced children are the district's net shortfall
    net = np.maximum(-(strict.gap.sum(axis=1)), 0)
    np.testing.assert_allclose(left, net, atol=1e-6)


# --- the command line ------------------------------------------------------------------------

def test_cli_run_writes_outputs_reproducibly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    scen = tmp_path / "s.toml"
    scen.write_text('name = "demo"\nhorizon = 2030\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(scen), "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "estimated inputs" in printed and "primary" in printed
    gap = pd.read_csv(out / "gap.csv", dtype={"area_code": str})
    assert list(gap.columns[:10]) == ["scenario", "year", "area_code", "area_name", "stage", "demand",
                                      "places", "gap", "shortfall", "surplus"]
    assert set(gap.area_code) == {*AREA_CODES, "990001"}
    assert len(gap) == 8 * 3 * 4
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 0 and meta["scenarios"][0]["name"] == "demo"
    assert set(meta["inputs_sha256"]) >= {"population.csv", "district.toml"}
    first = {p.name: p.read_bytes() for p in out.glob("*.csv")}
    assert main(["run", str(scen), "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    assert {p.name: p.read_bytes() for p in out.glob("*.csv")} == first
    sched = pd.read_csv(out / "schedule.csv")
    assert {"project_id", "stage", "opening_year", "needed_year", "status"} <= set(sched.columns)


def test_cli_bad_scenario_exits_2_and_keeps_previous_outputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    good = tmp_path / "good.toml"
    good.write_text('name = "g"\nhorizon = 2026\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(good), "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "b"\n[fertility]\nmultiplierr = 2\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(bad), "--district", str(folder), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.toml" in err[0] and "fertility.multiplierr" in err[0]
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".out")) == []


def test_failed_write_leaves_each_output_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """A run that fails while writing (here: at schedule.csv) leaves every file old or new and
    complete, the old meta.json (the record of the last complete run), the user's files, and no
    temporary files. (Until 0.1 the whole folder was swapped at once; see capacity.atomic.)"""
    from capacity import atomic

    folder = closed_district(tmp_path / "data" / "districts" / "demo")
    out = tmp_path / "out"
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    (out / "NOTES.txt").write_text("mine\n", encoding="utf-8")
    old = {p.name: p.read_bytes() for p in out.iterdir()}

    class Boom(RuntimeError):
        pass

    def fail(step: str) -> None:
        if step == "replace schedule.csv":
            raise Boom("disk full")

    monkeypatch.setattr(atomic, "FAULT", fail)
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet", "--seed", "1", "--draws", "3"]) == 1
    monkeypatch.setattr(atomic, "FAULT", None)
    new = tmp_path / "new"
    assert main(["run", "--district", str(folder), "--out", str(new), "--quiet", "--seed", "1", "--draws", "3"]) == 0
    for p in out.iterdir():
        assert p.read_bytes() in (old.get(p.name), (new / p.name).read_bytes() if (new / p.name).exists() else None), p.name
    assert (out / "meta.json").read_bytes() == old["meta.json"]
    assert (out / "schedule.csv").read_bytes() == old["schedule.csv"]
    assert (out / "NOTES.txt").read_text(encoding="utf-8") == "mine\n"
    assert sorted(p.name for p in out.iterdir()) == sorted(old)


def test_cli_explain_matches_gap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = closed_district(tmp_path / "data" / "districts" / "demo")
    scen = tmp_path / "s.toml"
    scen.write_text('name = "demo"\nhorizon = 2030\n', encoding="utf-8")
    assert main(["explain", str(scen), "--district", str(folder), "--area", AREA_CODES[0],
                 "--stage", "primary", "--year", "2025"]) == 0
    text = capsys.readouterr().out
    children = expected_children(0, 6, 11, 2)
    assert f"demand: {children:,.1f}" in text
    assert "P1 Jia Jie nine-year school" in text and "opens 2025" in text
    assert f"Gap = places - demand = {1125 - children:,.1f}" in text


def test_cli_explain_bad_stage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    assert main(["explain", "--district", str(folder), "--area", AREA_CODES[0], "--stage", "college",
                 "--year", "2025"]) == 2
    err = capsys.readouterr().err
    assert "--stage" in err and "college" in err


def test_cli_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capacity.__version__ in capsys.readouterr().out
    for cmd in ("run", "explain", "compare", "validate"):
        assert main([cmd, "--help"]) == 0
        assert "usage: capacity " + cmd in capsys.readouterr().out


def test_results_explain_matches_gap_row(closed: capacity.District) -> None:
    res = capacity.run(Scenario(name="s", horizon=BASE + 4), closed)
    cell = res.explain(area=AREA_CODES[1], stage="junior", year=BASE + 2)
    row = res.gap[(res.gap.area_code == AREA_CODES[1]) & (res.gap.stage == "junior")
                  & (res.gap.year == BASE + 2)].iloc[0]
    assert cell.totals["demand"] == pytest.approx(row["demand"], rel=1e-12)
    assert cell.totals["places"] == pytest.approx(row["places"], rel=1e-12)
    assert cell.totals["gap"] == pytest.approx(row["gap"], rel=1e-12)
    assert cell.cohorts["children"].sum() == pytest.approx(expected_children(1, 12, 14, 2))


def test_scenarios_with_and_without_a_travel_limit_run_and_write_together(closed: capacity.District,
                                                                           tmp_path: Path) -> None:
    res = capacity.run([Scenario(name="strict", horizon=BASE + 3), Scenario(name="moved", horizon=BASE + 3,
                                                                            travel_limit_km=50.0)], closed, draws=3)
    res.write(tmp_path / "out")
    gap = pd.read_csv(tmp_path / "out" / "gap.csv")
    cols = list(gap.columns)
    assert cols[-1] == "level" and cols.index("shortfall_after_transport") == cols.index("gap_public") + 1
    assert gap.loc[gap["scenario"] == "strict", "shortfall_after_transport"].isna().all()
    assert gap.loc[gap["scenario"] == "moved", "shortfall_after_transport"].notna().all()
