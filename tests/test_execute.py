"""Execution on Dask: the same bytes whatever the scheduler, the chunking and the workers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cloudpickle
import numpy as np
import pytest

import capacity
from capacity import inputs, model
from capacity.api import Results
from capacity.execute import CHUNK_CELLS, CHUNK_DRAWS, Chunk, map_chunks, plan_chunks
from capacity.results import from_runs
from capacity.scenario import scenario_from_dict
from capacity.summary import (
    AREA_BLOCK,
    SUMMARY,
    district_runs,
    plan_summary_chunks,
    plan_units,
    run_summary,
    summary_frame,
)
from tests.conftest import write_district

RANDOM = {
    "name": "r", "horizon": 2030,
    "fertility": {"uncertainty": {"dist": "lognormal", "median": 1.0, "sigma": 0.2}},
    "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.5}},
    "housing": {"developments": [{"area_code": "990001002", "year": 2025, "dwellings": 300}],
                "children_per_dwelling": {"6-11": [0.1]},
                "uncertainty": {"dist": "uniform", "low": 0.5, "high": 1.5}},
    "projects": {"delay_uncertainty": {"*": {"dist": "poisson", "mean": 1.0}},
                 "cancel_probability": {"P3": 0.3}},
}


def test_chunks_cover_the_plane_once() -> None:
    for areas, draws, ac, dc in ((1, 1, None, None), (18, 10000, None, None), (450, 7, None, None), (5, 9, 2, 4)):
        seen = np.zeros((areas, draws), dtype=int)
        for c in plan_chunks(areas, draws, area_chunk=ac, draw_chunk=dc):
            seen[c.a0:c.a1, c.d0:c.d1] += 1
        assert (seen == 1).all()


def test_chunks_take_draws_first_in_even_parts() -> None:
    # a chunk spans up to CHUNK_DRAWS draws (all of them when every area fits in CHUNK_CELLS with
    # them) and as many areas as fit in CHUNK_CELLS, in parts of nearly equal size: no chunk of one
    # draw after chunks of many
    for areas, draws in ((18, 10000), (200, 45), (1800, 1000), (18000, 100), (18, 1001), (7, 3), (3, 9000)):
        chunks = plan_chunks(areas, draws)
        widths = [c.d1 - c.d0 for c in chunks]
        heights = [c.a1 - c.a0 for c in chunks]
        assert max(widths) - min(widths) <= 1 and max(heights) - min(heights) <= 1
        assert min(widths) >= min(draws, CHUNK_DRAWS) // 2
        assert max(c.cells for c in chunks) <= max(CHUNK_CELLS, max(widths)) * 1.01
    assert {(c.a1 - c.a0, c.d1 - c.d0) for c in plan_chunks(200, 45)} == {(200, 45)}
    assert {(c.a1 - c.a0, c.d1 - c.d0) for c in plan_chunks(1800, 1000)} == {(9, 1000)}
    assert {(c.a1 - c.a0, c.d1 - c.d0) for c in plan_chunks(18000, 100)} == {(90, 100)}
    assert {c.d1 - c.d0 for c in plan_chunks(18, 1001)} == {501, 500}


def test_summary_units_and_chunks_cover_the_areas_once() -> None:
    # districts of 3, 18 and 40 streets: small districts whole, a large one in pieces of AREA_BLOCK areas
    codes = [f"99{d:04d}{k:03d}" for d, n in ((1, 3), (2, 18), (3, 40)) for k in range(n)]
    for target in (1, 5, 9, 20, 100):
        units = plan_units(codes, target)
        assert [u[1] for u in units] == [0] + [u[2] for u in units[:-1]] and units[-1][2] == len(codes)
        for run, start, stop, whole in units:
            assert district_runs(codes)[run][0] == codes[start][:6] == codes[stop - 1][:6]
            size = len([c for c in codes if c[:6] == codes[start][:6]])
            assert whole == (size <= max(2 * target, AREA_BLOCK))
            assert whole == (stop - start == size) or not whole and stop - start <= AREA_BLOCK
        chunks = plan_summary_chunks(units, target, 7)
        assert [c.a0 for c in chunks] == [0] + [c.a1 for c in chunks[:-1]] and chunks[-1].a1 == len(codes)
        assert {u[1] for u in units} >= {c.a0 for c in chunks} and all(c.d1 - c.d0 == 7 for c in chunks)


def test_bad_scheduler_is_one_line_input_error() -> None:
    with pytest.raises(capacity.InputError, match="--scheduler.*expected synchronous, threads"):
        capacity.run(None, draws=2, scheduler="fast")


@pytest.mark.slow
def test_same_bytes_whatever_the_chunks_and_the_local_scheduler(tmp_path: Path) -> None:
    demo = capacity.load_district(write_district(tmp_path / "demo"))
    scen = scenario_from_dict(RANDOM)
    files = []
    for scheduler, chunks in (("synchronous", (None, None)), ("threads", (1, 7)), ("threads", (2, 1))):
        run = model.run(demo, scen, draws=23, seed=4, scheduler=scheduler, chunks=chunks)
        files.append(from_runs(Results, [run]).files())
    for other in files[1:]:
        for name in ("gap.csv", "schedule.csv", "plan_comparison.csv", "indicators.csv"):
            assert other[name] == files[0][name], name


def _region(tmp_path: Path, districts: int, streets: int) -> capacity.District:
    from tools.synthetic_region import make_region

    return capacity.load_district(make_region(tmp_path / "region", districts, streets, seed=3))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_region_of_200_areas_same_bytes_on_a_2_worker_cluster(tmp_path: Path) -> None:
    distributed: Any = pytest.importorskip("distributed")
    region = _region(tmp_path, 10, 20)
    scen = scenario_from_dict({**RANDOM, "housing": {}, "projects": {"delay_uncertainty": {"*": {"dist": "poisson", "mean": 1.0}},
                                                                     "cancel_probability": {"*": 0.2}}})
    reference = capacity.run(scen, region, draws=40, seed=2, scheduler="synchronous").files()
    threads = capacity.run(scen, region, draws=40, seed=2, scheduler="threads").files()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = capacity.run(scen, region, draws=40, seed=2, scheduler=cluster.scheduler_address).files()
    for name in ("gap.csv", "schedule.csv", "plan_comparison.csv", "indicators.csv"):
        assert threads[name] == reference[name], name
        assert remote[name] == reference[name], name


def killing_chunk(marker: str, *args: Any) -> tuple[np.ndarray, ...]:
    """:func:`capacity.model.chunk_outputs`, except that the first call on the third chunk kills its worker."""
    chunk: Chunk = args[-1]
    if chunk.d0 > 0 and not os.path.exists(marker):
        Path(marker).touch()
        os._exit(1)
    return model.chunk_outputs(*args)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_a_worker_killed_mid_run_is_retried_and_the_result_unchanged(tmp_path: Path) -> None:
    distributed: Any = pytest.importorskip("distributed")
    import tests.test_execute as this

    cloudpickle.register_pickle_by_value(this)
    demo = capacity.load_district(write_district(tmp_path / "demo"))
    scen = scenario_from_dict(RANDOM)
    years = np.arange(demo.base_year, scen.horizon + 1)
    projects = inputs.project_table(demo, scen, seed=1, draws=30).arrays
    chunks = plan_chunks(2, 30, draw_chunk=10)

    def outputs() -> tuple[np.ndarray, ...]:
        shape = (len(years), 2, len(demo.stage_names))
        return (np.empty((*shape, 30)), np.empty((*shape, 2, 30)), np.empty((*shape, 2, 30)),
                np.empty((*shape, 30)), np.empty((*shape, 30)), np.empty((1, 2, 30)),
                np.empty((len(years), 2, 30)), np.empty((len(years), 2, 30)))  # population, births

    shared = (demo, scen, years, 1, 30, inputs.AreaArrays.of(demo, scen), projects)
    reference = map_chunks(model.chunk_outputs, chunks, shared, outputs(), scheduler="synchronous")
    marker = str(tmp_path / "killed-once")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        got = map_chunks(killing_chunk, chunks, (marker, *shared), outputs(), scheduler=cluster.scheduler_address)
    assert os.path.exists(marker)  # a worker did die
    for a, b in zip(reference, got):
        assert np.array_equal(a, b, equal_nan=True)


def test_summaries_the_same_for_any_chunking_and_agree_with_the_full_run(tmp_path: Path) -> None:
    demo = capacity.load_district(write_district(tmp_path / "demo"))
    scen = scenario_from_dict(RANDOM)
    a, da, ta = run_summary(demo, scen, draws=17, seed=5, scheduler="synchronous", area_chunk=1)
    b, db, tb = run_summary(demo, scen, draws=17, seed=5, scheduler="threads", area_chunk=2)
    assert np.array_equal(a, b) and np.array_equal(da, db) and np.array_equal(ta, tb)
    full = model.run(demo, scen, draws=17, seed=5)
    gap = full.gap.gap
    assert np.array_equal(a[..., SUMMARY.index("gap")], gap.mean(axis=-1))
    assert np.array_equal(a[..., SUMMARY.index("gap_p50")], np.percentile(gap, 50, axis=-1))
    np.testing.assert_allclose(ta[:, :, 2], gap.sum(axis=1), rtol=1e-12)
    assert da.shape[1] == 1  # one district


def test_region_levels_no_offset_and_chunking_free(tmp_path: Path) -> None:
    from tools.synthetic_region import make_region

    region = capacity.load_district(make_region(tmp_path / "region", 3, 11, seed=1))
    scen = scenario_from_dict({"name": "r", "horizon": 2024,
                               "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.5}}})
    a, da, ta = run_summary(region, scen, draws=6, seed=2, scheduler="synchronous", area_chunk=3)
    b, db, tb = run_summary(region, scen, draws=6, seed=2, scheduler="threads", area_chunk=20)
    assert np.array_equal(a, b) and np.array_equal(da, db) and np.array_equal(ta, tb)
    assert [r[0] for r in district_runs(region.area_codes)] == ["990001", "990002", "990003"]
    # a district's mean shortfall is the sum of its streets' (no offsetting), and the region's of the districts'
    short = SUMMARY.index("shortfall")
    np.testing.assert_allclose(da[..., short], a[..., short].reshape(a.shape[0], 3, 11, -1).sum(axis=2), rtol=1e-12)
    np.testing.assert_allclose(ta[:, :, 3].mean(axis=-1), da[..., short].sum(axis=1), rtol=1e-12)
    assert (da[..., short] >= np.maximum(-da[..., SUMMARY.index("gap")], 0) - 1e-6).all()
    frame = summary_frame(region, scen, a, da, ta)
    assert sorted(set(frame["level"])) == ["area", "district", "region"]


@pytest.mark.slow
def test_processes_give_the_same_bytes(tmp_path: Path) -> None:
    demo = capacity.load_district(write_district(tmp_path / "demo"))
    scen = scenario_from_dict(RANDOM)
    files = [from_runs(Results, [model.run(demo, scen, draws=23, seed=4, scheduler=scheduler, chunks=(1, 5))]).files()
             for scheduler in ("synchronous", "processes")]
    for name in ("gap.csv", "schedule.csv", "plan_comparison.csv", "indicators.csv"):
        assert files[1][name] == files[0][name], name
    a = run_summary(demo, scen, draws=17, seed=5, scheduler="synchronous", area_chunk=1)
    b = run_summary(demo, scen, draws=17, seed=5, scheduler="processes", area_chunk=1)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")
def test_the_district_is_sent_once_not_with_every_chunk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed: Any = pytest.importorskip("distributed")
    region = _region(tmp_path, 6, 10)
    scen = scenario_from_dict({"name": "r", "horizon": 2024,
                               "migration": {"uncertainty": {"dist": "normal", "mean": 1.0, "sd": 0.5}}})
    pickled: list[int] = []
    reduce = type(region).__reduce_ex__

    def counting(self: Any, protocol: Any) -> Any:
        pickled.append(1)
        return reduce(self, protocol)

    monkeypatch.setattr(type(region), "__reduce_ex__", counting)
    reference = run_summary(region, scen, draws=8, seed=2, scheduler="synchronous", area_chunk=2)
    assert not pickled
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        remote = run_summary(region, scen, draws=8, seed=2, scheduler=cluster.scheduler_address, area_chunk=2)
    assert all(np.array_equal(x, y) for x, y in zip(reference, remote))
    assert 1 <= len(pickled) <= 2  # once (or once per worker), for 6 chunks


@pytest.mark.slow
def test_parquet_summaries_same_bytes_whatever_the_scheduler(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    from capacity.cli import main

    folder = write_district(tmp_path / "data" / "districts" / "demo")
    scen = tmp_path / "r.toml"
    scen.write_text('name = "r"\nhorizon = 2030\n[fertility]\nuncertainty = { dist = "lognormal", median = 1.0, '
                    'sigma = 0.2 }\n[projects.delay_uncertainty]\n"*" = { dist = "poisson", mean = 1.0 }\n',
                    encoding="utf-8")
    written = []
    for scheduler in ("synchronous", "threads"):
        out = tmp_path / scheduler
        assert main(["run", str(scen), "--district", str(folder), "--draws", "9", "--format", "parquet",
                     "--scheduler", scheduler, "--out", str(out), "--quiet"]) == 0
        written.append({p.name: p.read_bytes() for p in out.glob("*.parquet")})
    assert sorted(written[0]) == ["summary-990001.parquet", "summary-total.parquet"]
    assert written[0] == written[1]
