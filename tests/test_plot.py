"""Maps, charts, GIS export, the PDF report and their commands (issue 6).

Image comparisons draw in English and in Chinese (the CJK font ships with the package, so
the baselines are the same on every machine). To redraw the baselines after an intended change:
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
    from capacity.api import default_scenario_path

    delays = Path(default_scenario_path()).with_name("construction_delays.toml")
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


def test_chinese_small_multiples_match_baseline(det, tmp_path):
    _compare(PlotAccessor(det).small_multiples(lang="zh"), "gap_maps_zh_2025", tmp_path)


def test_plan_comparison_matches_baseline(drawn, tmp_path):
    _compare(PlotAccessor(drawn).plan_comparison(lang="en"), "plan_comparison_draws", tmp_path)


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
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = PlotAccessor(det).gap_map("primary", 2025, labels="zh")
        texts = [t.get_text().split("\n")[0] for ax in fig.axes for t in ax.texts]
        assert "南洲" in texts
        save_figure(fig, tmp_path, "zh", formats=("png", "svg", "pdf"), dpi=50)


def test_the_shipped_font_is_found_first_and_draws_every_name(det):
    fonts.reset()
    assert fonts.cjk_font_path() == str(fonts.PACKAGED_FONT)
    assert fonts.PACKAGED_FONT.stat().st_size < 2_000_000
    assert (fonts.PACKAGED_FONT.parent / "LICENSE-wqy-microhei.txt").is_file()
    from capacity.plot.common import district_text

    assert fonts.missing(district_text(det.district)) == ""


def test_chinese_without_a_font_is_an_error_not_a_fallback(det, monkeypatch, tmp_path):
    from capacity.errors import InputError

    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    with pytest.raises(InputError, match="CAPACITY_CJK_FONT"):
        PlotAccessor(det).gap_map("primary", 2025, lang="zh")
    with pytest.raises(InputError, match="font"):
        PlotAccessor(det).gap_map("primary", 2025, labels="zh")
    fig = PlotAccessor(det).gap_map("primary", 2025, lang="en")  # English needs no CJK font
    assert "Nanzhou" in [t.get_text().split("\n")[0] for ax in fig.axes for t in ax.texts]


def test_chinese_figures_speak_chinese(det):
    p = PlotAccessor(det)
    fig = p.small_multiples(lang="zh")
    texts = [t.get_text() for t in fig.texts] + [ax.get_title() for ax in fig.axes]
    assert any("各学段、各街道" in t for t in texts) and "小学" in texts and "初中" in texts
    fig = p.plan_comparison(lang="en")
    assert any("The plan against the projection" in t.get_text() for t in fig.texts)


def test_each_stage_map_has_its_own_scale_centred_on_zero(det):
    fig = PlotAccessor(det).small_multiples(labels="en")
    norms = [ax.collections[0].norm for ax in fig.axes if ax.collections and hasattr(ax.collections[0], "norm")
             and ax.get_title()]
    assert len(norms) == 4 and all(n.vcenter == 0 and n.vmin == -n.vmax for n in norms)
    assert len({n.vmax for n in norms}) > 1


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


def _pdf_text(path: Path) -> str:
    import shutil

    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (apt-get install poppler-utils; CI installs it)")
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True).stdout.decode()


def test_report_has_expected_pages(det, tmp_path):
    from capacity.report import page_count, write_report

    path = write_report(det, tmp_path / "report.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    # findings, comparison, plan chart, maps 2025 and 2035, demand chart, schedule, assumptions, provenance (2),
    # check against observations
    assert page_count(det) == 11
    assert _pdf_pages(data) == 11


def test_report_page_count_is_bounded_as_scenarios_are_added(tmp_path):
    from capacity.report import page_count

    names = ["baseline", "low_fertility", "three_child_rebound", "high_migration", "low_migration"]
    res = capacity.run(names)
    one = capacity.run(names[:1])
    assert page_count(res) <= page_count(one) + 2  # only the assumptions table grows (four scenarios a page)


def test_report_in_chinese_reads_as_chinese(det, tmp_path):
    from capacity.report import write_report

    text = _pdf_text(write_report(det, tmp_path / "zh.pdf", lang="zh"))
    for words in ("海珠区学位供需", "主要结论", "小学", "初中", "赤岗街道", "情景对比", "数据来源", "《幼儿园工作规程》"):
        assert words in text, words
    assert "?" not in text and "\ufffd" not in text
    assert "Findings" not in text and "School places in" not in text


@pytest.mark.slow
def test_report_in_english_reads_as_english(det, tmp_path):
    from capacity.report import write_report

    text = _pdf_text(write_report(det, tmp_path / "en.pdf", lang="en"))
    for words in ("School places in Haizhu", "Findings", "Primary", "Scenarios compared", "Data provenance"):
        assert words in text, words
    assert "主要结论" not in text and "\ufffd" not in text


def test_findings_name_streets_amounts_years_and_projects(det):
    from capacity.briefing import findings
    from capacity.i18n import use

    with use("en"):
        text = findings(det)
    primary = text[1]
    g = det.gap
    short = g[(g["stage"] == "primary") & (g["year"] == 2025) & (g["area_code"] != "440105") & (g["shortfall"] > 0.5)]
    assert f"{len(short)} of 18 streets" in primary and f"{short['shortfall'].sum():,.0f} places" in primary
    assert "Chigang" in primary and "The plan's projects add 7,020 places" in primary
    with use("zh"):
        assert "赤岗街道" in findings(det)[1]


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
    assert main(["export", "--out", str(out), "--quiet", "--format", "xlsx,html", "--lang", "zh"]) == 0
    assert (out / "capacity.xlsx").is_file() and "海珠区" in (out / "map.html").read_text(encoding="utf-8")
    assert main(["export", "--out", str(out), "--quiet", "--format", "pdf"]) == 2
    assert main(["report", "--out", str(out), "--quiet"]) == 0
    assert _pdf_pages((out / "report.pdf").read_bytes()) == 11
    assert "report.pdf" in capsys.readouterr().out
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_cli_area_by_code_chinese_or_english_name(main, tmp_path, capsys):
    from capacity.cli_plot import resolve_area

    district = capacity.load_district()
    code = district.areas.set_index("name_zh").loc["赤岗街道", "area_code"]
    assert {resolve_area(district, t) for t in (code, "赤岗", "赤岗街道", "Chigang", "chigang")} == {code}
    out = tmp_path / "o"
    assert main(["chart", "--area", "赤岗", "--stage", "primary", "--out", str(out), "--quiet", "--format", "png",
                 "--dpi", "20", "--lang", "zh"]) == 0
    assert (out / f"demand_vs_places_baseline_{code}_primary.png").is_file()
    assert "已写入" in capsys.readouterr().out
    assert main(["chart", "--area", "Atlantis", "--out", str(out), "--quiet"]) == 2
    assert "--area" in capsys.readouterr().err


def test_cli_run_prints_in_chinese(main, tmp_path, capsys):
    assert main(["run", "--out", str(tmp_path / "r"), "--quiet", "--lang", "zh"]) == 0
    out = capsys.readouterr().out
    assert "海珠区" in out and "规划需新增" in out and "街道缺口最大者" in out and "赤岗街道" in out
    assert main(["run", "--out", str(tmp_path / "r"), "--quiet", "--lang", "fr"]) == 2


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


# ---------------------------------------------------------------------------- Excel


def test_xlsx_has_a_sheet_per_table_with_the_figures_of_the_csvs(drawn, tmp_path):
    import openpyxl

    from capacity.export import export

    paths = export(drawn, tmp_path, formats=("xlsx",), lang="zh")
    assert [p.name for p in paths] == ["capacity.xlsx"]
    wb = openpyxl.load_workbook(paths[0])
    assert wb.sheetnames == ["README", "gap", "plan_comparison", "indicators", "schedule"]
    files = drawn.files()
    for name in ("gap", "plan_comparison", "indicators", "schedule"):
        ws = wb[name]
        csv = pd.read_csv(io.BytesIO(files[f"{name}.csv"]), dtype={"area_code": str})
        rows = list(ws.values)
        assert len(rows) == len(csv) + 1 and ws.freeze_panes == "A2"
        headers = rows[0]
        for j, col in enumerate(csv.columns):
            if csv[col].dtype.kind in "if":
                got = np.array([np.nan if r[j] is None else r[j] for r in rows[1:]], float)
                np.testing.assert_allclose(got, csv[col].to_numpy(float), err_msg=f"{name}.{col}")
        assert ws.cell(row=1, column=1).comment is not None or headers[0] == "scenario"
    gap = wb["gap"]
    assert "缺口" in [c.value for c in gap[1]] and "小学" in {r[4] for r in list(gap.values)[1:40]}
    assert len(gap.conditional_formatting) >= 1
    fmt = {c.value: gap.cell(row=2, column=i + 1).number_format for i, c in enumerate(gap[1])}
    assert fmt["需求"] == "#,##0" and fmt["不足概率"] == "0%"
    readme = [str(c) for row in wb["README"].values for c in row if c is not None]
    assert "construction_delays" in readme and any("estimate" in t or "估算" in t for t in readme)
    assert any(len(t) == 64 for t in readme)  # inputs' SHA-256


def test_xlsx_is_reproducible_and_english_by_default(det, tmp_path):
    from capacity.xlsx import workbook_bytes

    assert workbook_bytes(det) == workbook_bytes(det)
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(workbook_bytes(det)))
    assert [c.value for c in wb["gap"][1]][:3] == ["scenario", "year", "area code"]


def test_demand_chart_counts_from_zero_places_as_steps_shortfall_hatched(drawn):
    fig = PlotAccessor(drawn).demand_vs_places(lang="en")
    for ax in fig.axes:
        assert ax.get_ylim()[0] == 0
        places = [line for line in ax.get_lines() if line.get_drawstyle() == "steps-mid"]
        assert len(places) == 1
        hatched = [c for c in ax.collections if c.get_hatch()]
        tints = [c for c in ax.collections if not c.get_hatch()]
        assert len(hatched) == 1 and tints  # shortfall apart from the P10-P90 bands


def test_plan_comparison_one_panel_per_quantity_negative_need_explained(det):
    fig = PlotAccessor(det).plan_comparison(lang="en")
    assert len(fig.axes) == 4
    notes = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any("fewer children" in t for t in notes)  # kindergarten's projected need is negative
    fig = PlotAccessor(det).plan_comparison(lang="zh")
    assert any("儿童数少于" in t.replace("\n", "") for ax in fig.axes for t in [x.get_text() for x in ax.texts])


def test_cli_chinese_without_a_font_exits_2_with_the_fix(main, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fonts, "cjk_font_path", lambda: None)
    assert main(["map", "--stage", "primary", "--lang", "zh", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "CAPACITY_CJK_FONT" in err and "fonts-noto-cjk" in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())
