"""The labelled result (xarray Dataset), its netCDF file, and the plan module."""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import capacity
from capacity import plan
from capacity.cli import main
from capacity.scenario import Scenario, scenario_from_dict
from tests.conftest import AREA_CODES, STAGES, write_district
from tests.test_model_run import BASE, closed_district


@pytest.fixture
def demo(tmp_path: Path) -> capacity.District:
    return capacity.load_district(write_district(tmp_path / "data" / "districts" / "demo"))


def test_dataset_dims_coords_and_attrs(demo: capacity.District) -> None:
    res = capacity.run([Scenario(name="a", horizon=2030), Scenario(name="b", horizon=2028, travel_limit_km=50.0)],
                       demo, draws=3, seed=2)
    ds = res.to_xarray()
    assert ds["demand"].dims == ("scenario", "year", "area", "stage", "sector", "draw")
    assert ds["children"].dims == ("scenario", "year", "area", "stage", "draw")
    for name in ("gap", "shortfall", "surplus", "shortfall_after_transport"):
        assert ds[name].dims == ("scenario", "year", "area", "stage", "draw")
    for name, var in ds.data_vars.items():
        if "draw" in var.dims:
            assert var.dims[-1] == "draw", name
    assert ds["status"].dims == ("scenario", "project", "draw")
    assert list(ds["scenario"].values) == ["a", "b"] and list(ds["horizon"].values) == [2030, 2028]
    assert list(ds["area"].values) == list(AREA_CODES)
    assert ds.sizes["draw"] == 3 and ds.attrs["draws"] == 3 and ds.attrs["seed"] == 2
    assert ds.attrs["base_year"] == demo.base_year and ds.attrs["district_code"] == demo.code
    assert set(ds["project_id"].values) == set(demo.projects["project_id"])
    # the strict gap: places - demand per area, sectors summed
    np.testing.assert_allclose(ds["gap"], ds["places"].sum("sector", skipna=False) - ds["demand"].sum("sector", skipna=False))
    # a shorter scenario is NaN after its horizon, and its tables stop there
    assert np.isnan(ds["demand"].sel(scenario="b", year=2030)).all()
    assert res.gap[res.gap["scenario"] == "b"]["year"].max() == 2028
    # transport only for the scenario with a travel limit
    assert "shortfall_after_transport" in res.gap
    assert res.gap[res.gap["scenario"] == "a"]["shortfall_after_transport"].isna().all()


def test_tables_are_reductions_of_the_dataset(demo: capacity.District) -> None:
    res = capacity.run(Scenario(name="a", horizon=2030), demo, draws=4, seed=1)
    ds = res.to_xarray()
    g = res.gap.set_index(["year", "area_code", "stage"])
    mean = ds["demand"].sum("sector").mean("draw").sel(scenario="a")
    for code in AREA_CODES:
        got = g.xs(code, level="area_code")["demand"].unstack("stage")[list(ds["stage"].values)]
        np.testing.assert_allclose(got.to_numpy(), mean.sel(area=code).transpose("year", "stage").to_numpy(), rtol=1e-12)
    district = g.xs(demo.code, level="area_code")["shortfall"].unstack("stage")[list(ds["stage"].values)]
    np.testing.assert_allclose(district.to_numpy(),
                               ds["shortfall"].sum("area").mean("draw").sel(scenario="a").transpose("year", "stage"),
                               rtol=1e-12)


def test_getitem_is_a_selection(demo: capacity.District) -> None:
    res = capacity.run([Scenario(name="a", horizon=2028), Scenario(name="b", horizon=2028)], demo)
    one = res["b"]
    assert one.scenarios == ["b"]
    assert one.to_xarray().sizes["scenario"] == 1
    pd.testing.assert_frame_equal(one.gap, res.gap[res.gap["scenario"] == "b"].reset_index(drop=True))
    with pytest.raises(KeyError):
        res["c"]


def test_netcdf_is_reproducible_and_reads_back(demo: capacity.District, tmp_path: Path) -> None:
    scen = Scenario(name="a", horizon=2029)
    r1 = capacity.run(scen, demo, draws=3, seed=5)
    r2 = capacity.run(scen, demo, draws=3, seed=5)
    p1 = r1.to_netcdf(tmp_path / "one.nc")
    p2 = r2.to_netcdf(tmp_path / "two.nc")
    assert p1.read_bytes() == p2.read_bytes()
    back = xr.open_dataset(io.BytesIO(p1.read_bytes()), engine="scipy")
    np.testing.assert_array_equal(back["demand"].values, r1.to_xarray()["demand"].values)
    assert list(back["project_id"].values) == list(r1.to_xarray()["project_id"].values)
    r3 = capacity.run(scen, demo, draws=3, seed=6)
    assert r3.files("netcdf")["results.nc"] != r1.files("netcdf")["results.nc"]


def test_cli_format_netcdf(district_dir: Path, tmp_path: Path) -> None:
    scen = tmp_path / "s.toml"
    scen.write_text('name = "demo"\nhorizon = 2028\n', encoding="utf-8")
    args = ["run", str(scen), "--district", str(district_dir), "--quiet"]
    assert main([*args, "--out", str(tmp_path / "csv")]) == 0
    assert not (tmp_path / "csv" / "results.nc").exists()
    assert main([*args, "--out", str(tmp_path / "a"), "--format", "netcdf"]) == 0
    assert main([*args, "--out", str(tmp_path / "b"), "--format", "netcdf"]) == 0
    a, b = (tmp_path / "a" / "results.nc").read_bytes(), (tmp_path / "b" / "results.nc").read_bytes()
    assert a == b
    for name in ("gap.csv", "schedule.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "csv" / name).read_bytes()
    assert main([*args, "--out", str(tmp_path / "c"), "--format", "xlsx"]) == 2


def test_explain_is_a_selection_of_the_results(tmp_path: Path) -> None:
    closed = capacity.load_district(closed_district(tmp_path / "data" / "districts" / "demo"))
    scen = scenario_from_dict({"name": "s", "horizon": BASE + 4, "projects": {"delay": {"P1": 1}}})
    res = capacity.run(scen, closed)
    cell = res.explain(area=AREA_CODES[0], stage="primary", year=BASE + 3)
    direct = capacity.explain(closed, scen, area=AREA_CODES[0], stage="primary", year=BASE + 3)
    assert cell.totals == direct.totals
    pd.testing.assert_frame_equal(cell.supply, direct.supply)
    assert any("delayed 1 years" in why for why in cell.supply["why"])


# --- the plan ----------------------------------------------------------------------


class _Plan:
    def __init__(self, rows: list[tuple[object, ...]]):
        self.plan = pd.DataFrame(rows, columns=["indicator", "stage", "year", "value", "source"])
        self.stage_names = tuple(s[0] for s in STAGES)
        self.projects = pd.DataFrame({"stage": [], "places": []})


def test_plan_targets_name_their_stage() -> None:
    p = _Plan([("need", "primary", 2026, 100, "x"), ("public_affordable_share", "kindergarten", 2026, 0.8, "x"),
               ("private_affordable_share", "kindergarten", 2023, 0.5, "x"), ("public_places_added", "", 2026, 10, "x")])
    assert plan.targets(p) == {"kindergarten_public_affordable_share": 0.8, "kindergarten_private_affordable_share": 0.5,
                               "public_places_added": 10.0}
    assert plan.need(p, "primary") == (100.0, 2026) and plan.need(p, "junior") is None


def test_target_year_rule() -> None:
    p = _Plan([("need", "primary", 2026, 100, "x"), ("need", "junior", 2040, 50, "x")])
    assert plan.target_year(p, 2023, 2035, "primary") == 2026
    assert plan.target_year(p, 2023, 2035, "junior") == 2035  # capped at the horizon
    assert plan.target_year(p, 2023, 2035, "senior") == 2028  # no need: base year + 5
    assert plan.target_year(p, 2023, 2026, "senior") == 2026
    assert plan.target_year(p, 2023, 2050) == 2040  # the district: the latest need
    assert plan.target_year(_Plan([]), 2023, 2050) == 2028
    assert plan.target_years(p, 2023, 2035) == [2026, 2028, 2035]


def test_indicators_name_the_stage(demo: capacity.District) -> None:
    rows = [("public_places_added", "", 2025, 1000, "x"), ("public_affordable_share", "primary", 2025, 0.9, "x"),
            ("private_affordable_share", "primary", 2023, 0.5, "x")]
    sources = pd.concat([demo.sources, pd.DataFrame([{"file": "plan.csv", "column": "*", "estimate": "no",
                                                      "source": "test", "method": ""}])], ignore_index=True)
    demo = dataclasses.replace(demo, plan=pd.DataFrame(rows, columns=["indicator", "stage", "year", "value", "source"]),
                               sources=sources)
    res = capacity.run(Scenario(name="a", horizon=2026), demo)
    ind = res.indicators
    assert set(ind["indicator"]) == {"public_places_added", "primary_public_affordable_share"}
    share = ind[ind["indicator"] == "primary_public_affordable_share"]
    assert (share["target"] == 0.9).all() and share["value"].between(0, 1).all()


def test_stage_labels_come_from_the_district(demo: capacity.District) -> None:
    res = capacity.run(Scenario(name="a", horizon=2025), demo)
    assert list(res.to_xarray()["stage_label"].values) == [s.title() for s in demo.stage_names]
    stages = demo.stages.assign(label=["Nursery", "", "Lower secondary", "Upper secondary"])
    labelled = capacity.run(Scenario(name="a", horizon=2025), dataclasses.replace(demo, stages=stages))
    assert list(labelled.to_xarray()["stage_label"].values) == ["Nursery", "Primary", "Lower secondary", "Upper secondary"]
    assert labelled.view().stage_label("junior") == "Lower secondary"


def test_cli_compare_format_netcdf(district_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('name = "a"\nhorizon = 2027\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extend = "a.toml"\nname = "b"\n[projects.delay]\nP1 = 2\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["compare", str(tmp_path / "a.toml"), str(tmp_path / "b.toml"), "--district", str(district_dir),
                 "--out", str(out), "--format", "netcdf", "--quiet"]) == 0
    ds = xr.open_dataset(io.BytesIO((out / "results.nc").read_bytes()), engine="scipy")
    assert list(ds["scenario"].values) == ["a", "b"]
    diff = pd.read_csv(out / "compare.csv", dtype={"area_code": str})
    got = diff[(diff["area_code"] == AREA_CODES[0]) & (diff["stage"] == "primary")].set_index("year")["d_places"]
    want = (ds["places"].sel(scenario="b") - ds["places"].sel(scenario="a")).sel(area=AREA_CODES[0], stage="primary")
    np.testing.assert_allclose(got.to_numpy(), want.sum("sector").isel(draw=0).to_numpy(), atol=0.006)


@pytest.mark.parametrize("name,value", [("demand", np.inf), ("gap", np.nan), ("places", -np.inf)])
def test_non_finite_output_is_a_defect_and_nothing_is_written(demo: capacity.District, tmp_path: Path,
                                                              name: str, value: float) -> None:
    from capacity.errors import DefectError

    res = capacity.run(Scenario(name="a", horizon=2026), demo)
    res.dataset[name].load()  # demand and the gap are computed when read: loaded, they can be written
    res.dataset[name][(0,) * res.dataset[name].ndim] = value
    with pytest.raises(DefectError, match=f"defect: {name} is not finite at scenario=a, year="):
        res.write(tmp_path / "out")
    assert not (tmp_path / "out").exists()
