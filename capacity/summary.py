"""Runs too large to keep every draw: reduced chunk by chunk, written as partitioned Parquet.

:func:`run_summary` cuts a region into chunks of whole areas with all their draws
(:mod:`capacity.execute`), computes each chunk as :func:`capacity.model.chunk_outputs`
does and keeps only its summaries over the draws, so memory is bounded by the chunks in
flight, not by areas x draws (a province of 18,000 areas at 1,000 draws would need
37 GB per variable with every draw kept). The region's no-offset totals per draw are
added block by block in area order, the same bytes whatever the scheduler and the
chunking.

``capacity run --format parquet`` writes the summaries as Parquet, one file per district
of the region (the first six digits of the area codes): ``summary-<district>.parquet``
with the columns ``scenario, year, area_code, stage`` and :data:`SUMMARY`, the region's
own rows (``area_code`` = the region's code, no-offset sums) in ``summary-total.parquet``;
``gap.csv`` stays the output of runs that fit in memory.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from capacity.core.supply import ProjectArrays
from capacity.execute import CHUNK_CELLS, Chunk, map_chunks, plan_chunks
from capacity.io.district import District
from capacity.model import chunk_outputs, project_table
from capacity.scenario import Scenario
from capacity.scenario_check import check_scenario
from capacity.stats import QUANTILES, THRESHOLD

#: Areas summed one after the other into one partial total (chunks of :func:`run_summary`
#: start at multiples of it, so the totals do not depend on the chunking).
AREA_BLOCK = 8

#: Columns of :func:`summary_chunk` (last axis): means over draws and the gap's quantiles.
SUMMARY = ("demand", "places", "gap", "shortfall", "gap_p10", "gap_p50", "gap_p90", "p_shortfall")


def summary_chunk(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                  projects: ProjectArrays, chunk: Chunk) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One chunk of areas (with all its draws) reduced over the draws.

    Returns ``(year, a1 - a0, stage, len(SUMMARY))``: the means over draws of demand,
    places, gap and shortfall (sectors summed), the gap's P10/P50/P90 and the share of
    draws with a shortfall (:data:`capacity.stats.THRESHOLD`); and the sums over the
    chunk's areas of demand, places, gap and shortfall per draw, one per block of
    :data:`AREA_BLOCK` areas (added one area after the other), ``(year, block, stage, 4,
    draw)``, for the no-offset totals of the region.
    """
    _, _, _, demand, places, _ = chunk_outputs(district, scenario, years, seed, draws, projects, chunk)
    gap = places - demand
    shortfall = np.maximum(-gap, 0.0)
    out = np.empty((*gap.shape[:3], len(SUMMARY)))
    for k, arr in enumerate((demand, places, gap, shortfall)):
        out[..., k] = arr.mean(axis=-1)
    out[..., 4:7] = np.moveaxis(np.percentile(gap, QUANTILES, axis=-1), 0, -1)
    out[..., 7] = (shortfall > THRESHOLD).mean(axis=-1)
    per_area = np.stack([demand, places, gap, shortfall], axis=3)  # (year, area, stage, 4, draw)
    sums = np.empty((per_area.shape[0], -(-per_area.shape[1] // AREA_BLOCK), *per_area.shape[2:]))
    for k, first in enumerate(range(0, per_area.shape[1], AREA_BLOCK)):
        total = per_area[:, first].copy()
        for a in range(first + 1, min(first + AREA_BLOCK, per_area.shape[1])):
            total += per_area[:, a]
        sums[:, k] = total
    return out, sums


def run_summary(district: District, scenario: Scenario, *, draws: int, seed: int = 0,
                scheduler: str = "threads", area_chunk: int | None = None
                ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """A run reduced chunk by chunk: memory bounded by the chunks in flight, not by areas x draws.

    Each chunk holds whole areas with all their draws, so the summaries per area are
    exact; the region's no-offset totals per draw are partial sums over blocks of
    :data:`AREA_BLOCK` areas, added block after block in area order (the same bytes
    whatever the scheduler and the chunking).

    Returns
    -------
    summary : ndarray (year, area, stage, len(SUMMARY))
    totals : ndarray (year, stage, 4, draw)
        Demand, places, gap and shortfall summed over all areas, per draw.
    """
    check_scenario(district, scenario)
    years = np.arange(district.base_year, scenario.horizon + 1)
    n_draw, n_area, n_stage = max(draws, 1), len(district.area_codes), len(district.stage_names)
    projects = project_table(district, scenario, seed=seed, draws=draws)
    area_chunk = area_chunk or max(1, CHUNK_CELLS // n_draw)
    area_chunk = -(-area_chunk // AREA_BLOCK) * AREA_BLOCK  # whole blocks
    parts = plan_chunks(n_area, n_draw, area_chunk=area_chunk, draw_chunk=n_draw)
    summary = np.empty((len(years), n_area, n_stage, len(SUMMARY)))
    totals = OrderedSum([c.a0 for c in parts])
    map_chunks(summary_chunk, parts, (district, scenario, years, seed, draws, projects.arrays),
               (summary, totals.add), scheduler=scheduler, reduced=True)
    return summary, totals.total()


class OrderedSum:
    """A sum of the chunks' parts added in a fixed order (``keys``), whatever order they arrive in.

    Parts that arrive early wait until the ones before them are in, so the float sum is
    the same bytes for any scheduler.
    """

    def __init__(self, keys: list[int]) -> None:
        self.order = {k: i for i, k in enumerate(keys)}
        self.next = 0
        self.waiting: dict[int, NDArray[np.float64]] = {}
        self.sum: NDArray[np.float64] | None = None

    def add(self, chunk: Chunk, part: NDArray[np.float64]) -> None:
        """Add a chunk's partial sums ``(year, block, ...)``, block after block, when its turn comes."""
        self.waiting[self.order[chunk.a0]] = part
        while self.next in self.waiting:
            value = self.waiting.pop(self.next)
            for k in range(value.shape[1]):
                self.sum = value[:, k].copy() if self.sum is None else self.sum + value[:, k]
            self.next += 1

    def total(self) -> NDArray[np.float64]:
        assert self.sum is not None and not self.waiting
        return self.sum


def summary_frame(district: District, scenario: Scenario, summary: NDArray[np.float64],
                  totals: NDArray[np.float64], draws: int) -> pd.DataFrame:
    """The summaries as a long table: one row per year, area (then the region) and stage.

    The region's rows use its code and the totals per draw: means of demand, places, gap
    and the no-offset shortfall, the gap's quantiles, and the share of draws in which the
    region is short anywhere is not known from the totals, so its ``p_shortfall`` is the
    share of draws with a region-wide shortfall sum above the threshold.
    """
    years = np.arange(district.base_year, district.base_year + summary.shape[0])
    region = np.empty((summary.shape[0], 1, summary.shape[2], len(SUMMARY)))
    for k in range(4):
        region[:, 0, :, k] = totals[:, :, k].mean(axis=-1) if draws else totals[:, :, k, 0]
    region[:, 0, :, 4:7] = np.moveaxis(np.percentile(totals[:, :, 2], QUANTILES, axis=-1), 0, -1)
    region[:, 0, :, 7] = (totals[:, :, 3] > THRESHOLD).mean(axis=-1)
    values = np.concatenate([summary, region], axis=1)
    codes = [*district.area_codes, district.code]
    index = pd.MultiIndex.from_product([years, codes, list(district.stage_names)], names=["year", "area_code", "stage"])
    frame = pd.DataFrame(values.reshape(-1, len(SUMMARY)), index=index, columns=list(SUMMARY)).reset_index()
    frame.insert(0, "scenario", scenario.name)
    return frame


def parquet_files(frames: Sequence[pd.DataFrame], region_code: str) -> dict[str, bytes]:
    """Parquet bytes per district (area codes' first six digits) and for the region's rows."""
    try:
        pq = __import__("pyarrow.parquet", fromlist=["write_table"])
        pa = __import__("pyarrow")
    except ImportError:
        from capacity.errors import InputError

        raise InputError.one("--format", "parquet", "", "expected pyarrow installed (pip install pyarrow), "
                             "found it missing") from None
    table = pd.concat(frames, ignore_index=True)
    part = np.where(table["area_code"] == region_code, "total", table["area_code"].str[:6])
    files = {}
    for name in sorted(set(part)):
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pandas(table[part == name], preserve_index=False), buffer)
        files[f"summary-{name}.parquet"] = buffer.getvalue()
    return files


def run_parquet(scenarios: Sequence[Scenario], district: District, out: str, *, draws: int, seed: int,
                scheduler: str) -> dict[str, bytes]:
    """Run scenarios with :func:`run_summary`, write the Parquet files and ``meta.json`` into ``out``.

    Returns the files written (name -> bytes), ``meta.json`` last.
    """
    import hashlib
    import json

    from capacity import __version__
    from capacity.atomic import write_files
    from capacity.results.write import estimates

    frames = []
    for scenario in scenarios:
        summary, totals = run_summary(district, scenario, draws=draws, seed=seed, scheduler=scheduler)
        frames.append(summary_frame(district, scenario, summary, totals, draws))
    files = parquet_files(frames, district.code)
    meta = {"capacity_version": __version__, "district": {"name": district.name, "code": district.code},
            "inputs_sha256": district.input_hashes(), "scenarios": [s.to_dict() for s in scenarios],
            "seed": seed, "draws": draws, "estimated_inputs": estimates(district),
            "outputs_sha256": {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}}
    files["meta.json"] = (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    write_files(out, files, input_folders=[district.path],
                input_files=[s.source for s in scenarios if s.source])
    return files


__all__ = ["AREA_BLOCK", "OrderedSum", "SUMMARY", "parquet_files", "run_parquet", "run_summary", "summary_chunk", "summary_frame"]
