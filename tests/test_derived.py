"""Variables computed when read (demand by sector, the gap): the same numbers as stored ones, whatever the pieces."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import capacity
import capacity.derived as derived
from capacity.core.demand import StageBands, demand_from_children
from capacity.core.gap import Gap
from capacity.derived import GapPart, SectorDemand, as_slices, key_shape, year_slabs
from capacity.scenario import Scenario, scenario_from_dict
from tests.conftest import write_district
from tests.test_execute import RANDOM

KEYS = [(), (0,), (-1, slice(None), 2), (slice(1, 4), slice(None, None, 2), slice(None), 1, slice(3, 5)),
        (slice(None, None, -1), 1, slice(2, 0, -1)), (slice(3, 3),), (2, 3, 1, 0, 4)]


@pytest.fixture
def demo(tmp_path: Path) -> capacity.District:
    return capacity.load_district(write_district(tmp_path / "demo"))


def _bands(n_year: int, rng: np.random.Generator) -> StageBands:
    def param(low: float, high: float) -> np.ndarray:
        return rng.uniform(low, high, size=(n_year, 1, 3, 1))

    return StageBands(names=("a", "b", "c"), first_age=np.array([0, 3, 6]), last_age=np.array([2, 5, 9]),
                      enrolment_rate=param(0.5, 1.2), migrant_share=param(0, 1), local_public_share=param(0, 1),
                      migrant_public_share=param(0, 1))


def test_keys_as_slices_and_shapes() -> None:
    shape = (5, 4, 3, 2, 6)
    full = np.arange(np.prod(shape)).reshape(shape)
    for key in KEYS:
        slices, dropped = as_slices(key, shape)
        assert np.array_equal(full[slices].squeeze(axis=dropped), full[key])
        assert key_shape(key, shape) == full[key].shape
    with pytest.raises(IndexError):
        as_slices((5,), shape)
    assert year_slabs(16, 100, 250) == [slice(0, 2), slice(2, 4), slice(4, 6), slice(6, 8), slice(8, 10), slice(10, 12),
                                        slice(12, 14), slice(14, 16)]
    assert year_slabs(16, 1000, 250) == [slice(t, t + 1) for t in range(16)]
    assert year_slabs(3, 10) == [slice(0, 3)]


@pytest.mark.parametrize("slab", [1 << 20, 7, 60, 200])
def test_sector_demand_and_gap_parts_are_the_stored_arrays_bit_for_bit(monkeypatch: pytest.MonkeyPatch, slab: int) -> None:
    """Any selection, computed in any slabs (whole years, single years, blocks of areas), equals the whole array's cells."""
    monkeypatch.setattr(derived, "SLAB_CELLS", slab)
    rng = np.random.default_rng(3)
    children = rng.gamma(2.0, 500.0, size=(5, 4, 3, 6))
    bands = _bands(5, rng)
    whole = demand_from_children(children, bands)
    demand = SectorDemand(children, bands, None, 6)
    assert demand.shape == whole.shape
    places = np.broadcast_to(rng.integers(0, 4000, size=(5, 4, 3, 1)).astype(float), children.shape)
    gap = Gap(whole.sum(axis=3), places)
    for key in KEYS:
        got = demand[key]
        assert got.flags.c_contiguous and np.array_equal(got, whole[key]), key
        for name in ("gap", "shortfall", "surplus"):
            cut = key[:3] + key[4:] if len(key) > 3 else key
            assert np.array_equal(GapPart(gap, name)[cut], getattr(gap, name)[cut]), (name, key)
    fixed = rng.uniform(0, 100, size=(5, 4, 3, 2, 1))
    plan = SectorDemand(None, None, fixed, 6)
    assert np.array_equal(plan[()], np.broadcast_to(fixed, (5, 4, 3, 2, 6))) and plan[(1, 2)].shape == (3, 2, 6)


def test_dataset_variables_computed_when_read(demo: capacity.District) -> None:
    """demand, gap, shortfall, surplus of to_xarray(): the numbers of the run, lazily selected, padded after a horizon."""
    res = capacity.run([scenario_from_dict(RANDOM), Scenario(name="short", horizon=2027)], demo, draws=7, seed=3)
    ds = res.to_xarray()
    loaded = ds.copy(deep=True).load()  # every variable in memory
    run = res.runs[0]
    n = len(run.years)
    assert np.array_equal(ds["demand"].sel(scenario="r").values[:n], run.demand)
    assert np.array_equal(ds["gap"].sel(scenario="r").values[:n], run.gap.gap)
    assert np.array_equal(ds["shortfall"].sel(scenario="r").values[:n], run.gap.shortfall)
    assert np.array_equal(ds["surplus"].sel(scenario="r").values[:n], run.gap.surplus)
    short = ds["demand"].sel(scenario="short")
    assert np.isnan(short.sel(year=slice(2028, None)).values).all() and np.isfinite(short.sel(year=2027).values).all()
    selections = [dict(year=2026, stage="primary"), dict(area=[str(a) for a in ds["area"].values[::-1]], sector="public"),
                  dict(year=[2030, 2024, 2028], draw=[6, 0])]
    for name in ("demand", "gap", "shortfall", "surplus"):
        for sel in selections:
            sel = {k: v for k, v in sel.items() if k in ds[name].dims}
            assert np.array_equal(ds[name].sel(**sel).values, loaded[name].sel(**sel).values, equal_nan=True), (name, sel)
        assert np.array_equal(ds[name].isel(year=slice(None, None, -2)).values,
                              loaded[name].isel(year=slice(None, None, -2)).values, equal_nan=True)
        assert float(ds[name].sum()) == float(loaded[name].sum())
    with pytest.raises(TypeError, match="computed when read"):
        ds["gap"][(0,) * 5] = 1.0
    ds["gap"].load()
    ds["gap"][(0,) * 5] = 1.0
    assert float(ds["gap"][(0,) * 5]) == 1.0


def test_outputs_the_same_bytes_whatever_the_pieces(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tables made from variables read a year (or a block of areas) at a time: the same bytes as read whole."""
    demo = capacity.load_district(write_district(tmp_path / "demo", plan=True))
    scenarios = [scenario_from_dict(RANDOM), Scenario(name="plan", horizon=2028, demand_from_plan=True)]
    whole = capacity.run(scenarios, demo, draws=9, seed=4)
    files = whole.files(format="netcdf")
    monkeypatch.setattr(derived, "READ_CELLS", 50)
    monkeypatch.setattr(derived, "SLAB_CELLS", 30)
    pieces = capacity.run(scenarios, demo, draws=9, seed=4).files(format="netcdf")
    for name in files:
        if name != "meta.json":
            assert pieces[name] == files[name], name
    ds = xr.open_dataset(io.BytesIO(files["results.nc"]), engine="scipy")
    assert np.array_equal(ds["demand"].values, whole.to_xarray()["demand"].values, equal_nan=True)
