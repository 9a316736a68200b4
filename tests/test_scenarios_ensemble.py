"""Scenario files, validation, Monte Carlo draws and common random numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import capacity
from capacity.cli import main
from capacity.ensemble import draw_uniforms, sample
from capacity.scenario import Distribution, load_scenario, scenario_from_dict
from tests.conftest import AREA_CODES, write_district
from tests.test_model_run import closed_district

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def demo(tmp_path: Path) -> capacity.District:
    return capacity.load_district(write_district(tmp_path / "data" / "districts" / "demo"))


# --- scenario files ------------------------------------------------------------------------

@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*.toml")), ids=lambda p: p.stem)
def test_shipped_scenarios_load_and_run(path: Path) -> None:
    scen = load_scenario(path)
    assert scen.description
    assert path.read_text(encoding="utf-8").lstrip().startswith("#")  # says what it represents
    district = _haizhu()
    res = capacity.run(scen, district, draws=0)
    assert len(res.gap) == res.to_xarray().sizes["year"] * 19 * 4


_HAIZHU: list[capacity.District] = []


def _haizhu() -> capacity.District:
    if not _HAIZHU:
        _HAIZHU.append(capacity.load_district())
    return _HAIZHU[0]


def test_extend_merges_and_child_wins(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        'name = "a"\nhorizon = 2030\n[fertility]\nmultiplier = 0.9\n[migration]\nscale = 2.0\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extend = "a.toml"\nname = "b"\n[migration]\nscale = 0.5\n', encoding="utf-8")
    b = load_scenario(tmp_path / "b.toml")
    assert (b.name, b.horizon, b.fertility.multiplier, b.migration.scale) == ("b", 2030, 0.9, 0.5)


def test_extend_cycle_is_input_error(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('extend = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extend = "a.toml"\n', encoding="utf-8")
    with pytest.raises(capacity.InputError, match="cycle"):
        load_scenario(tmp_path / "a.toml")


BAD_SCENARIOS = [
    ("unknown top key", 'colour = "red"\n', "key colour"),
    ("unknown nested key", "[fertility]\nmultiplierr = 1\n", "key fertility.multiplierr"),
    ("wrong type", '[fertility]\nmultiplier = "high"\n', "key fertility.multiplier"),
    ("negative multiplier", "[fertility]\nmultiplier = -1\n", "key fertility.multiplier"),
    ("bad year key", "[fertility]\nmultiplier = { soon = 1.0 }\n", "key fertility.multiplier.soon"),
    ("horizon not int", "horizon = 2030.5\n", "key horizon"),
    ("unknown distribution", '[migration]\nuncertainty = { dist = "cauchy" }\n', "key migration.uncertainty.dist"),
    ("missing parameter", '[migration]\nuncertainty = { dist = "normal", mean = 1 }\n', "key migration.uncertainty.sd"),
    ("negative sd", '[migration]\nuncertainty = { dist = "normal", mean = 1, sd = -1 }\n', "key migration.uncertainty"),
    ("probability above 1", '[projects.cancel_probability]\nP1 = 1.5\n', "key projects.cancel_probability.P1"),
    ("phases not summing to 1", "[projects.phases]\nP1 = [0.5, 0.4]\n", "key projects.phases.P1"),
    ("enrolment above 2", "[enrolment.primary]\nenrolment_rate = 3\n", "key enrolment.primary.enrolment_rate"),
    ("unknown enrolment parameter", "[enrolment.primary]\nrate = 1\n", "key enrolment.primary.rate"),
    ("bad age band", '[migration.scale_by_age]\n"ten-20" = 1.0\n', "key migration.scale_by_age.ten-20"),
    ("housing without yield", '[[housing.developments]]\narea_code = "990001001"\nyear = 2025\ndwellings = 100\n',
     "key housing.children_per_dwelling"),
    ("demand source", '[demand]\nsource = "guess"\n', "key demand.source"),
    ("invalid toml", "name = \n", "expected valid TOML"),
    ("unknown project", "[projects.delay]\nNOPE = 1\n", "key projects.delay.NOPE"),
    ("unknown stage", "[enrolment.college]\nenrolment_rate = 1\n", "key enrolment.college"),
    ("unknown area", '[migration.scale_by_area]\n"123" = 2\n', "key migration.scale_by_area.123"),
]


@pytest.mark.parametrize("label,text,expected", BAD_SCENARIOS, ids=[b[0] for b in BAD_SCENARIOS])
def test_bad_scenario_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      label: str, text: str, expected: str) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--district", str(folder), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "bad.toml" in err[0] and expected in err[0]
    assert not out.exists()


# --- randomness ----------------------------------------------------------------------------

def test_draw_uniforms_depend_on_draw_and_component_only() -> None:
    a = draw_uniforms(7, "fertility", 3, 4)
    assert np.array_equal(a, draw_uniforms(7, "fertility", 3, 4))
    assert not np.array_equal(a, draw_uniforms(7, "fertility", 4, 5))
    assert not np.array_equal(a, draw_uniforms(7, "migration", 3, 4))
    assert not np.array_equal(a, draw_uniforms(8, "fertility", 3, 4))
    # draw k's value does not depend on how many draws are taken
    d = Distribution("normal", (("mean", 0.0), ("sd", 1.0)))
    assert sample(d, seed=1, draws=5, component="x")[:3].tolist() == sample(d, seed=1, draws=3, component="x").tolist()


RANDOM = {
    "name": "r", "horizon": 2030,
    "fertility": {"uncertainty": {"dist": "lognormal", "median": 1.0, "sigma": 0.2}},
    "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.5}},
    "projects": {"delay_uncertainty": {"*": {"dist": "poisson", "mean": 1.0}},
                 "cancel_probability": {"P3": 0.3}},
}


def test_zero_variance_reproduces_deterministic_run(demo: capacity.District) -> None:
    flat = {
        "name": "z", "horizon": 2030,
        "fertility": {"uncertainty": {"dist": "lognormal", "median": 1.0, "sigma": 0.0}},
        "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.0}},
        "projects": {"delay_uncertainty": {"*": {"dist": "poisson", "mean": 0.0}}, "cancel_probability": {"P3": 0.0}},
    }
    det = capacity.run(scenario_from_dict({"name": "z", "horizon": 2030}), demo).to_xarray()
    ens = capacity.run(scenario_from_dict(flat), demo, draws=7, seed=3).to_xarray()
    for name in ("demand", "places"):
        a, b = det[name].values, ens[name].values
        assert np.array_equal(np.repeat(a, 7, axis=-1), b)


def test_same_seed_same_bytes(demo: capacity.District) -> None:
    s = scenario_from_dict(RANDOM)
    f1 = capacity.run(s, demo, draws=30, seed=11).files()
    f2 = capacity.run(s, demo, draws=30, seed=11).files()
    f3 = capacity.run(s, demo, draws=30, seed=12).files()
    for name in ("gap.csv", "schedule.csv", "plan_comparison.csv", "indicators.csv"):
        assert f1[name] == f2[name]
    assert f1["gap.csv"] != f3["gap.csv"]


def test_common_random_numbers_across_scenarios(demo: capacity.District) -> None:
    a = scenario_from_dict(RANDOM)
    # b differs only in one project's fixed delay and an added project: the random inputs
    # of every draw must be the same, so demand is identical draw by draw
    b = scenario_from_dict({**RANDOM, "name": "b", "projects": {
        **RANDOM["projects"], "delay": {"P1": 2},
        "add": [{"project_id": "NEW", "stage": "primary", "places": 45, "area_code": AREA_CODES[1],
                 "opening_year": 2026}]}})
    res = capacity.run([a, b], demo, draws=40, seed=5)
    ds = res.to_xarray()
    assert np.array_equal(ds["demand"].sel(scenario="r").values, ds["demand"].sel(scenario="b").values)
    # the shared projects' random delays are the same draw by draw (one project row, two scenarios)
    shared = ds["project_id"].isin(["P2", "P3"]).values
    opening = ds["opening_year"].isel(project=shared)
    assert np.array_equal(opening.sel(scenario="r").values, opening.sel(scenario="b").values)
    new = ds["project_id"].values == "NEW"
    assert (ds["status"].sel(scenario="r").values[new] == -1).all()  # r lacks b's added project
    diff = capacity.compare(res)
    district = diff[(diff.area_code == "990001")]
    assert (district["d_demand"].abs() < 1e-9).all()
    # P1 two years later: never more places, some years fewer
    assert (district["d_places"] <= 45 + 1e-9).all()


def test_quantiles_match_known_distribution(tmp_path: Path) -> None:
    """Housing children with a lognormal yield: demand quantiles follow the lognormal's."""
    folder = closed_district(tmp_path / "data" / "districts" / "demo")
    d = capacity.load_district(folder)
    sigma = 0.3
    scen = scenario_from_dict({
        "name": "h", "horizon": 2026,
        "housing": {"developments": [{"area_code": AREA_CODES[0], "year": 2024, "dwellings": 1000}],
                    "children_per_dwelling": {"6-11": [0.1]},
                    "uncertainty": {"dist": "lognormal", "median": 1.0, "sigma": sigma}},
    })
    draws = 4000
    res = capacity.run(scen, d, draws=draws, seed=2)
    det = capacity.run(scen.replace(housing=scen.housing.__class__(
        scen.housing.developments, scen.housing.children_per_dwelling, None)), d).to_xarray().isel(scenario=0)
    r = res.to_xarray().isel(scenario=0)
    # primary demand in area 0 in 2025: closed population + 1000 x 0.1 x 6 ages x yield
    base = det["demand"].values[2, 0, 1, :, 0].sum() - 600.0
    extra = r["demand"].values[2, 0, 1].sum(axis=0) - base
    for q in (10, 50, 90):
        z = stats.norm.ppf(q / 100)
        expected = 600.0 * np.exp(sigma * z)
        se = 600.0 * sigma * np.exp(sigma * z) * np.sqrt(q / 100 * (1 - q / 100) / draws) / stats.norm.pdf(z)
        assert abs(np.percentile(extra, q) - expected) < 4 * se
    gap = res.gap
    row = gap[(gap.year == 2025) & (gap.area_code == AREA_CODES[0]) & (gap.stage == "primary")].iloc[0]
    places = row["places"]
    # P(shortfall) = P(base + 600 Y > places) with Y lognormal(0, sigma)
    p_exact = 1 - stats.norm.cdf(np.log((places - base) / 600.0) / sigma) if places > base else 1.0
    assert row["p_shortfall"] == pytest.approx(p_exact, abs=4 * np.sqrt(p_exact * (1 - p_exact) / draws) + 1e-9)
    assert row["demand_p10"] < row["demand_p50"] < row["demand_p90"]


def test_cancellation_probability_gives_shortfall_probability(tmp_path: Path) -> None:
    folder = closed_district(tmp_path / "data" / "districts" / "demo")
    d = capacity.load_district(folder)
    scen = scenario_from_dict({"name": "c", "horizon": 2026, "projects": {"cancel_probability": {"P1": 0.5}}})
    res = capacity.run(scen, d, draws=400, seed=9)
    ds = res.to_xarray().isel(scenario=0)
    i = list(ds["project_id"].values).index("P1")
    cancelled = ds["cancelled"].values[i]
    assert 0.4 < cancelled.mean() < 0.6
    g = res.gap
    row = g[(g.year == 2026) & (g.area_code == AREA_CODES[0]) & (g.stage == "junior")].iloc[0]
    # junior, area 0, 2026: 663 children; 245 places, 845 with P1's 600: the shortfall
    # there exists exactly when P1 is cancelled
    assert row["p_shortfall"] == pytest.approx(cancelled.mean())


def test_compare_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    (tmp_path / "a.toml").write_text('name = "a"\nhorizon = 2028\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extend = "a.toml"\nname = "b"\n[projects.delay]\nP1 = 3\n', encoding="utf-8")
    out = tmp_path / "cmp"
    assert main(["compare", str(tmp_path / "a.toml"), str(tmp_path / "b.toml"), "--district", str(folder),
                 "--draws", "10", "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "d_shortfall" in text
    assert (out / "compare.csv").exists()
