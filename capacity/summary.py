"""Runs too large to keep every draw: reduced chunk by chunk, written as partitioned Parquet.

:func:`run_summary` cuts a region into chunks of whole areas with all their draws
(:mod:`capacity.execute`), computes each chunk as :func:`capacity.model.chunk_outputs`
does and keeps only its summaries over the draws, so memory is bounded by the chunks in
flight, not by areas x draws (a province of 18,000 areas at 1,000 draws would need
37 GB per variable with every draw kept). The districts' and the region's no-offset
totals per draw are added piece by piece in area order, the same bytes whatever the
scheduler and the chunking (a chunk holding a whole district adds its pieces itself, in
the same order, and returns the district's total).

``capacity run --format parquet`` writes the summaries as Parquet, one file per district
of the region (the first six digits of the area codes): ``summary-<district>.parquet``
with the columns ``scenario, year, area_code, stage``, :data:`SUMMARY` and ``level``
(the district's areas and the district itself, no-offset sums), and the region's own rows
(``area_code`` = the region's code, no-offset sums) in ``summary-total.parquet``;
``gap.csv`` stays the output of runs that fit in memory.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from capacity.core.supply import ProjectArrays
from capacity.execute import CHUNK_CELLS, Chunk, map_chunks
from capacity.inputs import AreaArrays, project_table
from capacity.io.district import District
from capacity.model import chunk_outputs
from capacity.scenario import Scenario
from capacity.scenario_check import check_scenario
from capacity.stats import QUANTILES, THRESHOLD

#: Areas of a district summed one after the other into one partial total (a piece); chunks
#: are made of whole pieces, so the totals do not depend on the chunking.
AREA_BLOCK = 8

#: Columns of :func:`summary_chunk` (last axis): means over draws and the gap's quantiles.
SUMMARY = ("demand", "places", "gap", "shortfall", "gap_p10", "gap_p50", "gap_p90", "p_shortfall")


def district_runs(codes: Sequence[str]) -> list[tuple[str, int, int]]:
    """Runs of consecutive areas of one district (the first six digits of the area code): ``(code, start, stop)``."""
    runs: list[tuple[str, int, int]] = []
    for i, code in enumerate(codes):
        if runs and runs[-1][0] == code[:6]:
            runs[-1] = (runs[-1][0], runs[-1][1], i + 1)
        else:
            runs.append((code[:6], i, i + 1))
    return runs


def pieces(codes: Sequence[str]) -> list[tuple[int, int, int]]:
    """``(run, start, stop)``: each district run cut into pieces of up to :data:`AREA_BLOCK` areas."""
    return [(r, a, min(a + AREA_BLOCK, stop)) for r, (_, start, stop) in enumerate(district_runs(codes))
            for a in range(start, stop, AREA_BLOCK)]


Unit = tuple[int, int, int, bool]
"""``(run, start, stop, whole)``: a whole district run (``whole``) or one of its pieces."""


def plan_units(codes: Sequence[str], target: int) -> list[Unit]:
    """The units chunks are made of, in area order: a district of at most ``2 x target``
    areas whole (its chunk adds its pieces itself and returns its total), a larger one cut
    into its pieces (:func:`pieces`; their sums are added by :class:`Totals`)."""
    units: list[Unit] = []
    for r, (_, start, stop) in enumerate(district_runs(codes)):
        if stop - start <= max(2 * target, AREA_BLOCK):
            units.append((r, start, stop, True))
        else:
            units += [(r, a, min(a + AREA_BLOCK, stop), False) for a in range(start, stop, AREA_BLOCK)]
    return units


def plan_summary_chunks(units: Sequence[Unit], target: int, draws: int) -> list[Chunk]:
    """Chunks of consecutive whole units with all ``draws``, each as close to ``target`` areas as the
    units allow (a unit joins the chunk before it when that brings the chunk closer to ``target``)."""
    chunks: list[Chunk] = []
    for _, start, stop, _ in units:
        if chunks and abs(stop - chunks[-1].a0 - target) <= abs(chunks[-1].a1 - chunks[-1].a0 - target):
            chunks[-1] = Chunk(chunks[-1].a0, stop, 0, draws)
        else:
            chunks.append(Chunk(start, stop, 0, draws))
    return chunks


def stats(demand: NDArray[np.float64], places: NDArray[np.float64], gap: NDArray[np.float64],
          shortfall: NDArray[np.float64]) -> NDArray[np.float64]:
    """:data:`SUMMARY` over the last (draw) axis, stacked on a new last axis."""
    out = np.empty((*gap.shape[:-1], len(SUMMARY)))
    for k, arr in enumerate((demand, places, gap, shortfall)):
        out[..., k] = arr.mean(axis=-1)
    out[..., 4:7] = np.moveaxis(np.percentile(gap, QUANTILES, axis=-1), 0, -1)
    out[..., 7] = (shortfall > THRESHOLD).mean(axis=-1)
    return out


def summary_chunk(district: District, scenario: Scenario, years: NDArray[np.int64], seed: int, draws: int,
                  arrays: AreaArrays, projects: ProjectArrays, units: tuple[Unit, ...],
                  chunk: Chunk) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """One chunk of whole units of areas (with all their draws) reduced over the draws.

    Returns ``(year, a1 - a0, stage, len(SUMMARY))``: per area the means over draws of
    demand, places, gap and shortfall (sectors summed), the gap's P10/P50/P90 and the share
    of draws with a shortfall (:data:`capacity.stats.THRESHOLD`); and per unit of the chunk
    (``units``, :func:`plan_units`) the sums of demand, places, gap and shortfall per draw,
    ``(year, unit, stage, 4, draw)``: of a piece, its areas added one after the other; of a
    whole district, its pieces' sums added one after the other (as :class:`Totals` adds them).

    The gap, shortfall, summaries and sums are made one area at a time (no chunk-sized
    arrays of gap and shortfall; an area's arrays, a few hundred KiB, stay in the cache
    from one step to the next).
    """
    _, _, _, demand, places, _, _, _ = chunk_outputs(district, scenario, years, seed, draws, arrays, projects, chunk)
    n_year, n_area, n_stage, n_draw = demand.shape
    out = np.empty((n_year, n_area, n_stage, len(SUMMARY)))
    mine = [u for u in units if chunk.a0 <= u[1] < chunk.a1]
    sums = np.empty((n_year, len(mine), n_stage, 4, n_draw))
    piece = np.empty((n_year, n_stage, 4, n_draw))
    gap = np.empty((n_year, n_stage, n_draw))
    shortfall = np.empty_like(gap)
    for k, (_, start, stop, _) in enumerate(mine):  # a piece has at most AREA_BLOCK areas
        total = sums[:, k]
        for a in range(start - chunk.a0, stop - chunk.a0):
            np.subtract(places[:, a], demand[:, a], out=gap)
            np.negative(gap, out=shortfall)
            np.maximum(shortfall, 0.0, out=shortfall)
            values = (demand[:, a], places[:, a], gap, shortfall)
            out[:, a] = stats(*values)
            # the unit's areas added one after the other, by pieces of AREA_BLOCK areas for a
            # whole district (its first piece in ``total``, the next ones in ``piece``, then
            # added to ``total``): the order of :class:`Totals`
            offset = a - (start - chunk.a0)
            into = total if offset < AREA_BLOCK else piece
            for j, value in enumerate(values):
                if offset % AREA_BLOCK == 0:
                    np.copyto(into[:, :, j], value)
                else:
                    np.add(into[:, :, j], value, out=into[:, :, j])
            if offset >= AREA_BLOCK and (offset % AREA_BLOCK == AREA_BLOCK - 1 or a == stop - chunk.a0 - 1):
                np.add(total, piece, out=total)
    return out, sums


class Totals:
    """No-offset totals of districts and of the region, from the chunks' unit sums.

    Units are taken in area order whatever order their chunks arrive in (early chunks
    wait): a district's total is its own (a whole unit) or its pieces' sums added one after
    the other, the region's its districts' totals added one after the other, so the floats
    are the same bytes for any scheduler and chunking. A district's :data:`SUMMARY` is
    taken as soon as its total is complete, and its per-draw total dropped (memory: the
    districts in flight).
    """

    def __init__(self, units: Sequence[Unit], chunk_starts: Sequence[int], n_runs: int) -> None:
        self.units = list(units)
        self.order = {a0: i for i, a0 in enumerate(chunk_starts)}
        self.next_chunk = 0
        self.next_unit = 0
        self.waiting: dict[int, NDArray[np.float64]] = {}
        self.current: NDArray[np.float64] | None = None
        self.region: NDArray[np.float64] | None = None
        self.districts: list[NDArray[np.float64] | None] = [None] * n_runs

    def add(self, chunk: Chunk, part: NDArray[np.float64]) -> None:
        """Take a chunk's unit sums ``(year, unit, stage, 4, draw)``; add those whose turn has come."""
        self.waiting[self.order[chunk.a0]] = part
        while self.next_chunk in self.waiting:
            value = self.waiting.pop(self.next_chunk)
            for k in range(value.shape[1]):
                run, _, _, whole = self.units[self.next_unit]
                if whole:
                    self.current = value[:, k]
                else:
                    self.current = value[:, k].copy() if self.current is None else self.current + value[:, k]
                self.next_unit += 1
                if self.next_unit == len(self.units) or self.units[self.next_unit][0] != run:
                    t = self.current
                    self.districts[run] = stats(t[:, :, 0], t[:, :, 1], t[:, :, 2], t[:, :, 3])
                    self.region = t.copy() if self.region is None else self.region + t
                    self.current = None
            self.next_chunk += 1

    def region_total(self) -> NDArray[np.float64]:
        assert self.region is not None and not self.waiting
        return self.region


def run_summary(district: District, scenario: Scenario, *, draws: int, seed: int = 0,
                scheduler: str = "threads", area_chunk: int | None = None
                ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """A run reduced chunk by chunk: memory bounded by the chunks in flight, not by areas x draws.

    Each chunk holds whole units of areas (:func:`plan_units`: small districts whole, larger
    ones in pieces) with all their draws, so the summaries per area are exact; the
    districts' and the region's no-offset totals per draw are added in area order
    (:class:`Totals`): the same bytes whatever the scheduler and the chunking. A chunk
    returns one total per whole district it holds (not one per piece), so little more than
    a district's per-draw total per task travels back to the caller.

    ``area_chunk`` is the target number of areas of a chunk (default: :data:`CHUNK_CELLS`
    area-draws); a chunk may hold a district of up to twice as many.

    Returns
    -------
    summary : ndarray (year, area, stage, len(SUMMARY))
    by_district : ndarray (year, run, stage, len(SUMMARY))
        The same of each district (each run of :func:`district_runs`), no-offset sums.
    totals : ndarray (year, stage, 4, draw)
        Demand, places, gap and shortfall summed over all areas, per draw.
    """
    check_scenario(district, scenario)
    if draws > 0:  # a forecasting method's draws need its errors measured on the district's history
        from capacity.forecast.driver import check_measurable

        check_measurable(district, scenario)
    years = np.arange(district.base_year, scenario.horizon + 1)
    n_draw, n_area, n_stage = max(draws, 1), len(district.area_codes), len(district.stage_names)
    projects = project_table(district, scenario, seed=seed, draws=draws)
    target = area_chunk or max(1, CHUNK_CELLS // n_draw)
    units = plan_units(district.area_codes, target)
    parts = plan_summary_chunks(units, target, n_draw)
    summary = np.empty((len(years), n_area, n_stage, len(SUMMARY)))
    n_runs = len(district_runs(district.area_codes))
    totals = Totals(units, [c.a0 for c in parts], n_runs)
    shared = (district, scenario, years, seed, draws, AreaArrays.of(district, scenario), projects.arrays, tuple(units))
    map_chunks(summary_chunk, parts, shared,
               (summary, totals.add), scheduler=scheduler, reduced=True)
    by_district = np.stack([d for d in totals.districts if d is not None], axis=1)
    return summary, by_district, totals.region_total()


def summary_frame(district: District, scenario: Scenario, summary: NDArray[np.float64],
                  by_district: NDArray[np.float64], totals: NDArray[np.float64]) -> pd.DataFrame:
    """The summaries as a long table: one row per year, area, district and region, and stage.

    Columns ``scenario, year, area_code, stage``, :data:`SUMMARY` and ``level``: ``area``,
    ``district`` (the first six digits of the area codes; left out when they are the
    region's own code, as for a single district) and ``region`` (the district folder's
    code). District and region rows are no-offset sums over their areas, draw by draw, then
    summarised; their ``p_shortfall`` is the share of draws whose summed shortfall exceeds
    :data:`capacity.stats.THRESHOLD` (a shortfall anywhere in them).
    """
    years = np.arange(district.base_year, district.base_year + summary.shape[0])
    region = stats(totals[:, :, 0], totals[:, :, 1], totals[:, :, 2], totals[:, :, 3])[:, None]
    runs = [code for code, _, _ in district_runs(district.area_codes)]
    keep = [i for i, code in enumerate(runs) if code != district.code]
    blocks = [(summary, list(district.area_codes), "area"), (by_district[:, keep], [runs[i] for i in keep], "district"),
              (region, [district.code], "region")]
    frames = []
    for values, codes, level in blocks:
        if not codes:
            continue
        index = pd.MultiIndex.from_product([years, codes, list(district.stage_names)],
                                           names=["year", "area_code", "stage"])
        frame = pd.DataFrame(values.reshape(-1, len(SUMMARY)), index=index, columns=list(SUMMARY)).reset_index()
        frame["level"] = level
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table.insert(0, "scenario", scenario.name)
    return table


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
    part = np.where(table["level"] == "region", "total", table["area_code"].str[:6])
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
        summary, by_district, totals = run_summary(district, scenario, draws=draws, seed=seed, scheduler=scheduler)
        frames.append(summary_frame(district, scenario, summary, by_district, totals))
    files = parquet_files(frames, district.code)
    meta = {"capacity_version": __version__, "district": {"name": district.name, "code": district.code},
            "inputs_sha256": district.input_hashes(), "scenarios": [s.to_dict() for s in scenarios],
            "seed": seed, "draws": draws, "estimated_inputs": estimates(district),
            "outputs_sha256": {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}}
    files["meta.json"] = (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    write_files(out, files, input_folders=[district.path],
                input_files=[s.source for s in scenarios if s.source])
    return files


__all__ = ["AREA_BLOCK", "SUMMARY", "Totals", "Unit", "district_runs", "pieces", "parquet_files", "plan_summary_chunks",
           "plan_units", "run_parquet", "run_summary", "summary_chunk", "summary_frame"]
