"""The embedded Haizhu data: rebuildable from data/sources, and consistent with the plan."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from tools.build_haizhu import demography as dm
from tools.build_haizhu.write import DISTRICT, SOURCES, build

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("haizhu")
    build(out)
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_committed_files_equal_rebuild(rebuilt: Path) -> None:
    committed = sorted(p.name for p in DISTRICT.iterdir())
    assert sorted(p.name for p in rebuilt.iterdir()) == committed
    for name in committed:
        assert (rebuilt / name).read_bytes() == (DISTRICT / name).read_bytes(), name


def test_population_sums_to_census_and_street_totals() -> None:
    rows = _rows(DISTRICT / "population.csv")
    total = sum(int(r["population"]) for r in rows)
    assert total == 1_819_037
    by_street = Counter()
    for r in rows:
        by_street[r["area_code"]] += int(r["population"])
    assert by_street["440105002"] == 109_614
    assert by_street["440105016"] == 161_415
    assert len(by_street) == 18


def test_population_mean_age_matches_published() -> None:
    rows = _rows(DISTRICT / "population.csv")
    pop = np.zeros(dm.OPEN_AGE + 1)
    for r in rows:
        pop[int(r["age"])] += int(r["population"])
    assert dm.mean_age(pop) == pytest.approx(39.37, abs=0.01)


def test_life_tables_reach_target_life_expectancy() -> None:
    fig = dm.read_figures(SOURCES)
    lt = dm.life_tables(fig)
    assert lt["female"].e0 == pytest.approx(86.18, abs=1e-6)
    assert lt["male"].e0 == pytest.approx(80.18, abs=1e-6)
    for t in lt.values():
        assert np.all(np.diff(t.lx) <= 0)
        assert np.all(t.Lx[:-1] <= t.lx[:-1])


@pytest.fixture(scope="module")
def estimate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The district before calibration (``python -m tools.build_haizhu --uncalibrated``)."""
    out = tmp_path_factory.mktemp("haizhu_estimate")
    build(out, calibrated=False)
    return out


def test_fertility_gives_estimated_births(estimate: Path) -> None:
    fert = {int(r["age"]): float(r["rate"]) for r in _rows(estimate / "fertility.csv")}
    women = Counter()
    for r in _rows(estimate / "population.csv"):
        if r["sex"] == "female":
            women[int(r["age"])] += int(r["population"])
    births = sum(rate * women[a] for a, rate in fert.items())
    assert births == pytest.approx(148_572 * 0.105, rel=1e-5)


def test_migration_sums_to_registered_net_migration(estimate: Path) -> None:
    total = sum(float(r["net_migrants"]) for r in _rows(estimate / "migration.csv"))
    assert total == pytest.approx(10_958, abs=0.5)


def test_calibration_changes_only_migration_fertility_and_sources(estimate: Path) -> None:
    for path in DISTRICT.iterdir():
        same = (estimate / path.name).read_bytes() == path.read_bytes()
        assert same == (path.name not in ("migration.csv", "fertility.csv", "sources.csv")), path.name
    methods = {(r["file"], r["column"]): r["method"] for r in _rows(DISTRICT / "sources.csv")}
    assert "then calibrated: scaled by the level" in methods[("migration.csv", "net_migrants")]
    assert "then calibrated" in methods[("fertility.csv", "rate")]


def test_default_projection_within_one_percent_of_2021_and_2023() -> None:
    import capacity

    check = capacity.run("baseline").observed_check.set_index(["indicator", "area_code", "year"])
    for year, observed in ((2021, 1_821_800), (2023, 1_768_300)):
        assert check.loc[("population", "440105", year), "observed"] == observed
        assert abs(check.loc[("population", "440105", year), "difference_pct"]) < 1.0


def test_base_year_places_from_the_inventory_not_demand() -> None:
    import capacity

    places = {s: 0 for s in ("kindergarten", "primary", "junior", "senior")}
    for r in _rows(DISTRICT / "places.csv"):
        places[r["stage"]] += int(r["places"])
    kindergartens = round(141 / 0.959)
    assert kindergartens == 147 and places["kindergarten"] <= 360 * kindergartens
    gap = capacity.run("baseline").gap.set_index(["year", "area_code", "stage"])
    for stage in ("kindergarten", "primary", "junior"):  # a result now, not zero by construction
        assert abs(gap.loc[(2020, "440105", stage), "gap"]) > 500, stage


def test_largest_remainder_keeps_total() -> None:
    values = np.array([0.4, 1.6, 2.5, 0.5])
    out = dm.largest_remainder(values, 5)
    assert out.sum() == 5
    assert out.tolist() == [0, 2, 3, 0]  # remainders .4 .6 .5 .5: .6 first, then the earlier .5


def test_places_are_whole_classes() -> None:
    sizes = {r["stage"]: int(r["class_size"]) for r in _rows(DISTRICT / "stages.csv")}
    for r in _rows(DISTRICT / "places.csv"):
        assert int(r["places"]) % sizes[r["stage"]] == 0


# --- the plan's appendix ------------------------------------------------------------

def test_project_subtotals_match_the_appendix() -> None:
    totals = Counter()
    for r in _rows(REPO / "data" / "sources" / "haizhu_projects.csv"):
        totals[r["stage"]] += int(r["places"])
    assert dict(totals) == {"kindergarten": 1530, "primary": 7020, "junior": 3900, "senior": 1200}


def test_two_stage_schools_are_split() -> None:
    rows = _rows(REPO / "data" / "sources" / "haizhu_projects.csv")
    by_project: dict[str, dict[str, int]] = {}
    for r in rows:
        by_project.setdefault(r["project_id"], {})[r["stage"]] = int(r["places"])
    # nine-year schools: appendix totals 1410, 1680, 2010 split into primary + junior
    assert by_project["S1"] == {"primary": 810, "junior": 600}
    assert by_project["S2"] == {"primary": 1080, "junior": 600}
    assert by_project["S3"] == {"primary": 810, "junior": 1200}
    # complete secondary schools: 300 junior only; 2400 = 1200 junior + 1200 senior
    assert by_project["H1"] == {"junior": 300}
    assert by_project["H2"] == {"junior": 1200, "senior": 1200}
    private = {r["project_id"] for r in rows if r["ownership"] == "private"}
    assert private == {"S3"}
