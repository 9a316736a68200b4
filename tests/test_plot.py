"""Maps, charts, GIS export, the PDF report and their commands (issue 6).

Image comparisons draw with English labels so the baselines do not depend on whether a
CJK font is installed. To redraw the baselines after an intended change:
``CAPACITY_UPDATE_BASELINES=1 pytest tests/test_plot.py`` (then look at them).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import capacity
import capacity.cli as cli
from capacity.cli_plot import register
from capacity.plot import PlotAccessor, fonts, save_figure

BASELINES = Path(__file__).parent / "baseline_images"
UPDATE = os.environ.get("CAPACITY_UPDATE_BASELINES") == "1"
TOL = 5.0


@pytest.fixture(scope="module")
def det() -> capacity.Results:
    return capacity.run()


@pytest.fixture(scope="module")
def drawn() -> capacity.Results:
    delays = Path(capacity.api.default_scenario_path()).with_name("construction_delays.toml")
    return capacity.run([delays], draws=8, seed=1)


def _compare(fig: object, name: str, tmp_path: Path) -> None:
    from matplotlib.testing.compare import compare_images

    actual = save_figure(fig, tmp_path, name, formats=("png",), dpi=100)[0]  # type: ignore[arg-type]
    expected = BASELINES / f"{name}.png"
    if UPDATE:
        BASELINES.mkdir(exist_ok=True)
        expected.write_bytes(actual.read_bytes())
    assert expected.is_file(), f"missing baseline {expected.name}; run with CAPACITY_UPDATE_BASELINES=1"
    result = compare_images(str(expected), str(actual), tol=TOL)
    assert result is None, result


# ---------------------------------------------------------------------------- images


def test_gap_map_matches_baseline(det, tmp_path):
    fig = PlotAccessor(det).gap_map("primary", 2025, labels="en")
    _compare(fig, "gap_map_primary_2025", tmp_path)


def test_demand_vs_places_matches_baseline(det, tmp_path):
    fig = PlotAccessor(det).demand_vs_places(labels="en")
    _compare(fig, "demand_vs_places_district", tmp_path)


def test_every_figure_draws_without_warnings(det, drawn, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for res in (det, drawn):
            p = PlotAccessor(res)
            figs = [p.gap_map("junior", 2030), p.small_multiples(), p.small_multiples("primary", [2022, 2025, 2030]),
                    p.demand_vs_places("primary", area="440105016"), p.schedule_timeline(), p.plan_comparison()]
            if res.draws:
                figs += [p.shortfall_probability_map(), p.shortfall_probability_map("junior", 2025)]
            for i, fig in enumerate(figs):
                save_figure(fig, tmp_path, f"f{i}", formats=("png",), dpi=40)


def test_chinese_labels_draw_without_missing_glyphs(det, tmp_path):
    if fonts.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-wqy-microhei)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = PlotAccessor(det).gap_map("primary", 2025, labels="zh")
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert "南洲" in texts
        save_figure(fig, tmp_path, "zh", formats=("png", "svg", "pdf"), dpi=50)


def test_without_cjk_font_falls_back_to_english(det, tmp_path, monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = PlotAccessor(det).gap_map("primary", 2025, labels="zh")
        texts = [t.get_text() for ax in fig.axes for t in ax.texts]
        assert "Nanzhou" in texts and not any(fonts.has_cjk(t) for t in texts)
        save_figure(fig, tmp_path, "en", formats=("png",), dpi=40)


def test_gap_map_colours_shortfall_red_and_surplus_blue(det):
    fig = PlotAccessor(det).gap_map("junior", 2025, labels="en")  # the stage with both shortfalls and surpluses in 2025
    coll = fig.axes[0].collections[0]
    values = np.asarray(coll.get_array())
    colours = coll.cmap(coll.norm(values))
    short, surplus = colours[np.argmin(values)], colours[np.argmax(values)]
    assert values.min() < 0 < values.max()
    assert short[0] > short[2] and surplus[2] > surplus[0]  # red vs blue
    assert coll.norm.vcenter == 0 and coll.norm.vmin == -coll.norm.vmax


def test_probability_map_needs_draws(det):
    with pytest.raises(ValueError, match="draws"):
        PlotAccessor(det).shortfall_probability_map("primary", 2025)


def test_svg_and_pdf_are_byte_for_byte_reproducible(det, tmp_path):
    p = PlotAccessor(det)
    a = save_figure(p.plan_comparison(), tmp_path / "a", "pc", formats=("svg", "pdf"))
    b = save_figure(p.plan_comparison(), tmp_path / "b", "pc", formats=("svg", "pdf"))
    for x, y in zip(a, b):
        assert x.read_bytes() == y.read_bytes(), x.name


def test_save_figure_keeps_other_files(det, tmp_path):
    (tmp_path / "gap.csv").write_text("kept")
    paths = save_figure(PlotAccessor(det).plan_comparison(), tmp_path, "pc", dpi=30)
    assert sorted(p.name for p in paths) == ["pc.pdf", "pc.png", "pc.svg"]
    assert (tmp_path / "gap.csv").read_text() == "kept"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


# ---------------------------------------------------------------------------- export


def test_geopackage_round_trip_matches_gap_csv(drawn, tmp_path):
    import geopandas as gpd

    from capacity.export import export

    paths = export(drawn, tmp_path, year=2025)
    assert sorted(p.name for p in paths) == ["gap.geojson", "gap.gpkg", "gap_2025.geojson"]
    csv = pd.read_csv(io.BytesIO(drawn.files()["gap.csv"]), dtype={"area_code": str})
    csv = csv[csv["area_code"] != drawn.district.code]
    layer = gpd.read_file(tmp_path / "gap.gpkg", layer="gap")
    assert layer.crs.to_epsg() == 4326 and len(layer) == len(csv) == 18 * 4 * 16
    merged = csv.merge(pd.DataFrame(layer.drop(columns="geometry")), on=["scenario", "year", "area_code", "stage"],
                       suffixes=("_csv", "_gpkg"))
    assert len(merged) == len(csv)
    for col in ("demand", "places", "gap", "shortfall", "surplus", "gap_p10", "gap_p90", "p_shortfall"):
        np.testing.assert_allclose(merged[f"{col}_gpkg"], merged[f"{col}_csv"], atol=0.006, err_msg=col)
    wide = gpd.read_file(tmp_path / "gap.gpkg", layer="gap_2025")
    assert len(wide) == 18
    row = csv[(csv["year"] == 2025) & (csv["stage"] == "primary")].set_index("area_code")["gap"]
    np.testing.assert_allclose(wide.set_index("area_code")["gap_primary"].loc[row.index], row, atol=0.006)
    gj = gpd.read_file(tmp_path / "gap.geojson")
    assert len(gj) == len(csv) and gj.crs.to_epsg() == 4326


# ---------------------------------------------------------------------------- report


def _pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))


def test_report_has_expected_pages(det, tmp_path):
    from capacity.report import page_count, write_report

    path = write_report(det, tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    # summary, plan chart, maps 2025 and 2035, demand chart, schedule, assumptions, provenance (2), check against observations
    assert page_count(det) == 10
    assert _pdf_pages(data) == 10


# ---------------------------------------------------------------------------- command line


@pytest.fixture()
def main(monkeypatch):
    original = cli.build_parser

    def build() -> argparse.ArgumentParser:
        parser = original()
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        if "map" not in sub.choices:
            register(sub)
        return parser

    monkeypatch.setattr(cli, "build_parser", build)
    return cli.main


def test_cli_commands_write_their_files(main, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["map", "--stage", "primary", "--year", "2025", "--out", str(out), "--quiet", "--dpi", "30"]) == 0
    assert {p.name for p in out.iterdir()} == {f"gap_map_baseline_primary_2025.{f}" for f in ("png", "svg", "pdf")}
    assert main(["chart", "--stage", "junior", "--out", str(out), "--quiet", "--format", "png", "--dpi", "30"]) == 0
    for name in ("demand_vs_places_baseline_440105_junior.png", "schedule_baseline.png", "plan_comparison_baseline.png"):
        assert (out / name).is_file(), name
    assert main(["export", "--out", str(out), "--quiet"]) == 0
    assert (out / "gap.gpkg").is_file() and (out / "gap_2025.geojson").is_file()
    assert main(["report", "--out", str(out), "--quiet"]) == 0
    assert _pdf_pages((out / "report.pdf").read_bytes()) == 10
    assert "report.pdf" in capsys.readouterr().out
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_bad_stage_and_year_exit_2(main, tmp_path, capsys):
    assert main(["map", "--stage", "nursery", "--out", str(tmp_path)]) == 2
    assert main(["map", "--year", "1990", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--stage" in err and "--year" in err and "Traceback" not in err


def test_matplotlib_is_not_imported_by_the_api_or_cli():
    code = ("import sys, capacity, capacity.api, capacity.cli, capacity.plot, capacity.cli_plot, capacity.export, "
            "capacity.report; capacity.cli.build_parser(); print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.stdout.strip() == "False"
