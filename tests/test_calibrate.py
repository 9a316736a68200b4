"""capacity calibrate: a synthetic district with known migration and fertility is fitted back within its stated uncertainty."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import capacity
from capacity.calibrate import calibrate, fit
from capacity.errors import InputError
from capacity.resources import district_path

LEVEL, TREND = 0.6, 0.3          # true net migration: 0.6 x migration.csv in 2023, +0.3 a year
FERTILITY = {2021: 1.10, 2022: 0.90, 2023: 1.20, 2024: 1.05}
POP_YEARS = range(2021, 2026)    # mean 2023: the year of the level


def _truth(tmp_path: Path) -> Path:
    """A scenario file of the true paths (the reference scenario is the plain district: scale 1, multiplier 1)."""
    mig = ", ".join(f"{y} = {LEVEL + TREND * (y - 2023)}" for y in POP_YEARS)
    fert = ", ".join(f"{y} = {v}" for y, v in FERTILITY.items())
    path = tmp_path / "truth.toml"
    path.write_text(f'name = "truth"\nhorizon = 2025\n[fertility]\nmultiplier = {{ {fert}, 2025 = 1.05 }}\n'
                    f'[migration]\nscale = {{ {mig} }}\n', encoding="utf-8")
    return path


def _observed(tmp_path: Path, seed: int = 7) -> Path:
    """The truth observed with noise of the stated standard errors: street populations 2021-2025, district births 2021-2024."""
    res = capacity.run(capacity.load_scenario(_truth(tmp_path)), _copy(tmp_path, "truth_district", observed=True))
    ds = res.to_xarray().isel(scenario=0, draw=0)
    rng = np.random.default_rng(seed)
    rows = [("population", str(a), y, float(ds["population"].sel(year=y, area=a)) * (1 + 0.005 * rng.standard_normal()))
            for y in POP_YEARS for a in ds["area"].values]
    rows += [("births", "440105", y, float(ds["births"].sel(year=y).sum()) * (1 + 0.05 * rng.standard_normal())) for y in FERTILITY]
    folder = _copy(tmp_path, "observed_district")
    frame = pd.DataFrame([{"indicator": i, "area_code": a, "year": y, "stage": "", "sex": "", "age": "", "value": round(v, 1),
                           "source": "synthetic"} for i, a, y, v in rows])
    frame.to_csv(folder / "observed.csv", index=False, lineterminator="\n")
    return folder


def _copy(tmp_path: Path, name: str, observed: bool = False) -> Path:
    folder = tmp_path / name
    shutil.copytree(district_path(), folder)
    with open(folder / "sources.csv", "a", encoding="utf-8") as f:
        f.write("observed.csv,*,no,synthetic observations,\n")
    if observed:  # any observed.csv keeps population and births in the result
        (folder / "observed.csv").write_text("indicator,area_code,year,stage,sex,age,value,source\npopulation,440105,2020,,,,1,x\n",
                                             encoding="utf-8")
    return folder


@pytest.mark.slow
def test_synthetic_district_calibrated_back_within_its_uncertainty(tmp_path: Path) -> None:
    folder = _observed(tmp_path)
    from capacity.scenario import Scenario

    result = fit(capacity.load_district(folder), Scenario(name="plain", horizon=2025))
    p = result.parameters.set_index("parameter")
    truth = {"migration_level": LEVEL, "migration_trend": TREND, **{f"fertility_{y}": v for y, v in FERTILITY.items()}}
    assert set(p.index) == set(truth)
    for name, value in truth.items():
        assert abs(p.loc[name, "value"] - value) < 3 * p.loc[name, "std_error"], (name, p.loc[name].to_dict())
    assert 0 < p.loc["migration_level", "std_error"] < 0.2 and 0 < p.loc["fertility_2022", "std_error"] < 0.1
    assert result.dof == 18 * 5 + 4 - 6 and result.status.startswith("good fit")


@pytest.mark.slow
def test_calibrated_folder_validates_runs_and_carries_uncertainty(tmp_path: Path) -> None:
    folder = _observed(tmp_path)
    from capacity.scenario import Scenario

    result, out = calibrate(folder, tmp_path / "calibrated", Scenario(name="plain", horizon=2025))
    district = capacity.load_district(out)
    scenario = capacity.load_scenario(out / "calibrated.toml")
    assert scenario.fertility.uncertainty is not None and scenario.migration.uncertainty is not None
    check = capacity.run(scenario, district).observed_check
    pop = check[check["indicator"] == "population"]
    assert pop["difference_pct"].abs().max() < 2.0  # within noise of 0.5 % (4 sigma)
    sources = district.sources.set_index(["file", "column"])
    assert "fitted by weighted least squares" in sources.loc[("migration.csv", "net_migrants"), "method"]
    assert (out / "fit.png").stat().st_size > 1000 and (out / "fit_parameters.csv").is_file()


def _fit_rows(tmp_path: Path, rows: str) -> str:
    from capacity.scenario import Scenario

    folder = _copy(tmp_path, "d")
    (folder / "observed.csv").write_text("indicator,area_code,year,stage,sex,age,value,source\n" + rows, encoding="utf-8")
    return fit(capacity.load_district(folder), Scenario(name="plain", horizon=2025)).status


def test_nothing_to_fit_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not identified"):  # the base-year population informs no parameter
        _fit_rows(tmp_path, "population,440105,2020,,,,1819037,census\n")


def test_exactly_determined_and_bad_fits_said_plainly(tmp_path: Path) -> None:
    status = _fit_rows(tmp_path, "population,440105,2021,,,,1821800,x\npopulation,440105,2023,,,,1768300,x\n")
    assert status.startswith("exactly determined: 2 informative observations for 2 parameters")
    status = _fit_rows(tmp_path / "b", "population,440105,2021,,,,1821800,x\npopulation,440105,2022,,,,1600000,x\n"
                                       "population,440105,2023,,,,1768300,x\n")
    assert status.startswith("bad fit: reduced chi-square")
