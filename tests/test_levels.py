"""Levels above the streets: district and region rows of gap.csv and compare, district maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import capacity
from capacity.results.levels import aggregates, area_level
from capacity.scenario import scenario_from_dict
from capacity.summary import SUMMARY, run_summary, summary_frame

RANDOM = {"name": "r", "horizon": 2026,
          "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.5}},
          "projects": {"delay_uncertainty": {"*": {"dist": "poisson", "mean": 1.0}}}}


@pytest.fixture(scope="module")
def region(tmp_path_factory: pytest.TempPathFactory) -> capacity.District:
    from tools.synthetic_region import make_region

    return capacity.load_district(make_region(tmp_path_factory.mktemp("levels") / "region", 3, 7, seed=4))


@pytest.fixture(scope="module")
def results(region: capacity.District) -> capacity.Results:
    second = dict(RANDOM, name="s", migration={"uncertainty": {"dist": "normal", "mean": 1.5, "sd": 0.5}})
    return capacity.run([scenario_from_dict(RANDOM), scenario_from_dict(second)], district=region, draws=12, seed=3)


def test_aggregates_of_one_district_and_of_a_region() -> None:
    one = aggregates(["440105001", "440105002"], "440105")
    assert [(a.code, a.level) for a in one] == [("440105", "district")]
    rows = aggregates(["990002001", "990001001", "990002002"], "990000")
    assert [(a.code, a.level) for a in rows] == [("990001", "district"), ("990002", "district"), ("990000", "region")]
    assert rows[0].index.tolist() == [1] and rows[1].index.tolist() == [0, 2]
    # a folder whose areas all belong to another code still gets its district row, then itself
    assert [(a.code, a.level) for a in aggregates(["440105001"], "440100")] == [("440105", "district"),
                                                                             ("440100", "region")]
    assert area_level(["990001001"], "990001") == {"990001001": "area", "990001": "district"}


def test_district_and_region_rows_are_no_offset_sums(results: capacity.Results) -> None:
    g = results.gap
    assert set(g["level"]) == {"area", "district", "region"}
    streets = g[g["level"] == "area"].assign(district=lambda f: f["area_code"].str[:6])
    keys = ["scenario", "year", "stage", "district"]
    summed = streets.groupby(keys)[["shortfall", "surplus", "gap", "demand", "places"]].sum()
    districts = g[g["level"] == "district"].rename(columns={"area_code": "district"}).set_index(keys)
    assert len(districts) == len(summed) == 2 * 7 * 4 * 3
    for col in summed.columns:  # the table rounds to 2 decimals: sums of 7 rounded values within 7 x 0.005
        np.testing.assert_allclose(districts.loc[summed.index, col], summed[col], atol=0.036)
    region = g[g["level"] == "region"].set_index(["scenario", "year", "stage"])
    by_district = districts.groupby(["scenario", "year", "stage"])[["shortfall", "surplus"]].sum()
    np.testing.assert_allclose(region.loc[by_district.index, "shortfall"], by_district["shortfall"], atol=0.016)
    # no offsetting: a district short somewhere has a shortfall even when its net gap is a surplus
    assert ((districts["shortfall"] + 1e-6 >= np.maximum(-districts["gap"], 0)).all())
    assert ((districts["shortfall"] > 1) & (districts["gap"] > 0)).any()
    # a district is short when any of its streets is: at least as likely as its likeliest street
    worst = streets.groupby(keys)["p_shortfall"].max()
    assert (districts.loc[worst.index, "p_shortfall"] + 1e-9 >= worst).all()


def test_gap_rows_agree_with_the_chunked_summaries(region: capacity.District, results: capacity.Results) -> None:
    """Two implementations of the levels (the full result's table, the chunk-by-chunk Parquet summary)."""
    scen = scenario_from_dict(RANDOM)
    summary, by_district, totals = run_summary(region, scen, draws=12, seed=3, scheduler="synchronous", area_chunk=2)
    frame = summary_frame(region, scen, summary, by_district, totals)
    g = results.gap[results.gap["scenario"] == "r"]
    keys = ["year", "area_code", "stage"]
    both = frame.merge(g, on=keys, suffixes=("_s", ""))
    assert len(both) == len(frame) == len(g)
    assert (both["level_s"] == both["level"]).all()
    for col in ("demand", "places", "gap", "shortfall", "gap_p10", "gap_p50", "gap_p90", "p_shortfall"):
        assert col in SUMMARY
        np.testing.assert_allclose(both[col], both[col + "_s"], atol=0.0051, err_msg=col)


def test_compare_has_the_district_rows(results: capacity.Results) -> None:
    table = capacity.compare(results)
    codes = set(table["area_code"])
    assert {"990001", "990002", "990003", "990000"} <= codes
    d = table[table["area_code"].str.len() == 6]
    streets = table[table["area_code"].str.len() == 9].assign(district=lambda f: f["area_code"].str[:6])
    summed = streets[streets["district"] == "990002"].groupby(["year", "stage"])["d_shortfall"].sum()
    mine = d[d["area_code"] == "990002"].set_index(["year", "stage"])["d_shortfall"]
    np.testing.assert_allclose(mine.loc[summed.index], summed, atol=0.04)


def test_district_maps_of_a_region(results: capacity.Results) -> None:
    from matplotlib.collections import PatchCollection

    from capacity.plot import PlotAccessor

    plot = PlotAccessor(results)
    for fig in (plot.gap_map("primary", 2025, level="district", labels="en"),
                plot.shortfall_probability_map("primary", 2025, level="district", labels="en")):
        ax = fig.axes[0]
        coll = next(c for c in ax.collections if isinstance(c, PatchCollection))
        values = np.ma.filled(coll.get_array(), np.nan)
        assert len(values) == 3 and np.isfinite(values).all()
    g = results.gap
    want = -g[(g["scenario"] == "r") & (g["year"] == 2025) & (g["stage"] == "primary")
              & (g["level"] == "district")].sort_values("area_code")["shortfall"].to_numpy()
    fig = plot.gap_map("primary", 2025, level="district", labels="none", projects=False)
    coll = next(c for c in fig.axes[0].collections if isinstance(c, PatchCollection))
    np.testing.assert_array_equal(np.ma.filled(coll.get_array(), np.nan), want)


def test_cli_district_level_on_one_district_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from capacity.cli import main

    code = main(["map", "--level", "district", "--stage", "primary", "--out", str(tmp_path / "m"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--level" in err[0] and "one district" in err[0]
    assert not (tmp_path / "m").exists()


def test_cli_district_maps_and_charts_of_a_region(region: capacity.District, tmp_path: Path) -> None:
    from capacity.cli import main

    out = tmp_path / "maps"
    assert main(["map", "--district", str(region.path), "--level", "district", "--stage", "junior", "--year", "2024",
                 "--format", "png", "--dpi", "40", "--out", str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.suffix == ".png") == ["gap_map_district_baseline_junior_2024.png"]
    assert main(["chart", "--district", str(region.path), "--area", "990002", "--stage", "junior", "--format", "png",
                 "--dpi", "40", "--out", str(tmp_path / "charts"), "--quiet"]) == 0
    assert (tmp_path / "charts" / "demand_vs_places_baseline_990002_junior.png").exists()


def test_one_district_gap_table_has_no_new_levels() -> None:
    res = capacity.run()
    assert sorted(set(res.gap["level"])) == ["area", "district"]
    assert isinstance(res.gap, pd.DataFrame)
