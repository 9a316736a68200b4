"""Benchmark of the cohort-component engine (prints figures, asserts nothing).

Run::

    python benchmarks/bench_cohort.py            # 1, 100, 1 000 and 10 000 draws
    python benchmarks/bench_cohort.py --quick    # 1, 100 and 1 000 draws, smaller probe

Problem: 18 areas x 2 sexes x 101 single-year ages (0 .. 100+) x 16 one-year steps, with
per-draw rates: a fertility multiplier per draw (fertility shape ``(1, 1, 1, 35, D)``)
and net migration per area, sex, age and draw (``(1, 18, 2, 101, D)``); life table
``(1, 1, 2, 101, 1)``; only ages 0-17 are kept (``keep_ages=slice(0, 18)``).

Figures printed per number of draws D:

* ``time``: wall time of :func:`capacity.core.project_cohort` (best of a few runs),
  including input validation, on one thread and on 2 Dask workers (threads scheduler,
  the draws cut in two chunks, as :mod:`capacity.execute` does; this row includes joining
  the two halves of the output, one more copy of it).
* ``peak``: peak of the memory allocated during the call (``tracemalloc``, which sees
  numpy's buffers), in a separate run; it includes the returned output.
* ``GB/s``: effective bytes per second. The bytes counted are those a step-by-step
  engine has to move per step, summed over the 16 steps: read the state
  ``P(t)`` and write the state ``P(t+1)`` (each ``18 x 2 x 101 x D`` float64), read the
  step's rates (migration ``18 x 2 x 101 x D``, fertility ``35 x D``, survival
  ``2 x 101``) and write the kept output (``18 x 2 x 18 x D``); plus reading the base and
  writing the output's first year once. The engine keeps each block of draws in cache
  across all steps, so it can exceed the DRAM copy bandwidth on this count.
* ``of copy bw``: those GB/s as a fraction of this machine's memory bandwidth, measured
  in the same run by ``np.copyto`` of a large float64 array (best of several; counted as
  bytes read + bytes written).
* ``leslie``: the time of the baseline a user would write with
  :func:`scipy.linalg.leslie`: per draw, one ``2G x 2G`` projection matrix per area
  (female Leslie matrix with births from the average of start and end women, an open
  group, the male block fed by the female births), a migration vector, and 16
  ``matmul`` steps batched over areas. For more than ``--leslie-draws`` draws it is
  timed on that many draws and scaled linearly (the per-draw loop is linear in D).
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from capacity.core import CohortInputs, project_cohort, survival_ratios

AREAS, AGES, STEPS, KEPT = 18, 101, 16, 18
FERTILE_FIRST, FERTILE_AGES = 15, 35
SRB = 1.10
RADIX = 100_000.0


@dataclass(frozen=True)
class Inputs:
    base: np.ndarray  # (area, sex, age)
    nLx: np.ndarray  # (1, 1, 2, age, 1)
    fertility: np.ndarray  # (1, 1, 1, K, draw)
    migration: np.ndarray  # (1, area, sex, age, draw)


def make_inputs(draws: int, rng: np.random.Generator) -> Inputs:
    """Plausible synthetic inputs with per-draw fertility and migration."""
    ages = np.arange(AGES)
    shape = 9000.0 * np.exp(-((ages - 35.0) / 30.0) ** 2) + 500.0
    base = shape * rng.uniform(0.5, 1.5, (AREAS, 2, 1))
    # Gompertz-like mortality: lx, then nLx by the trapezoid rule, T at the open age
    hazard = 5e-5 * np.exp(0.09 * ages) + np.where(ages == 0, 3e-3, 0.0)
    lx = RADIX * np.exp(-np.concatenate([[0.0], np.cumsum(hazard)]))
    L = (lx[:-1] + lx[1:]) / 2.0
    L[-1] = lx[-2] / (hazard[-1] + 0.05)  # T of the open age
    nLx = np.stack([L, L * (1 - 0.02 * ages / AGES)])[np.newaxis, np.newaxis, :, :, np.newaxis]
    asfr = 0.09 * np.exp(-(((np.arange(FERTILE_AGES) + FERTILE_FIRST) - 29.0) / 6.0) ** 2)
    multiplier = rng.lognormal(0.0, 0.15, draws)
    fertility = asfr[np.newaxis, np.newaxis, np.newaxis, :, np.newaxis] * multiplier
    mean_migration = 0.01 * base * np.where((ages >= 18) & (ages <= 35), 2.0, 0.3)
    noise = rng.uniform(-0.5, 1.5, (1, AREAS, 2, AGES, draws))
    migration = mean_migration[np.newaxis, ..., np.newaxis] * noise
    return Inputs(base, nLx, fertility, np.ascontiguousarray(migration))


def run_engine(x: Inputs, workers: int = 1) -> np.ndarray:
    draws = x.fertility.shape[-1]
    if 1 < workers <= draws:  # draws cut into one chunk per worker, run on Dask's threads scheduler
        import dask

        edges = np.linspace(0, draws, workers + 1).astype(int)
        parts = [Inputs(x.base, x.nLx, x.fertility[..., a:b], x.migration[..., a:b])
                 for a, b in zip(edges, edges[1:])]
        done = dask.compute(*[dask.delayed(run_engine)(part) for part in parts], scheduler="threads",
                            num_workers=workers)
        return np.concatenate(done, axis=-1)
    inputs = CohortInputs(
        x.base,
        steps=STEPS,
        nLx=x.nLx,
        fertility=x.fertility,
        fertility_first_age=FERTILE_FIRST,
        sex_ratio_at_birth=SRB,
        net_migration=x.migration,
    )
    result = project_cohort(inputs, keep_ages=slice(0, KEPT))
    return result.population


def run_leslie(x: Inputs, draws: int) -> np.ndarray:
    """Baseline: per draw, Leslie matrices per area and 16 batched ``matmul`` steps."""
    S = survival_ratios(x.nLx, radix=RADIX)[0, 0, :, :, 0]  # (sex, age)
    G = AGES
    girls, boys = 1.0 / (1.0 + SRB), SRB / (1.0 + SRB)
    out = np.empty((STEPS + 1, AREAS, 2, KEPT, draws))
    # survival part (no births) of the female block, and migration weights
    sub = [np.diag(S[s, 1:], -1) for s in range(2)]
    for s in range(2):
        sub[s][-1, -1] = S[s, -1]
    weight = (1.0 + S) / 2.0  # persons at the end per net migrant
    for d in range(draws):
        F = np.zeros(G)
        F[FERTILE_FIRST : FERTILE_FIRST + FERTILE_AGES] = x.fertility[0, 0, 0, :, d]
        # births per woman at the start: n/2 (F_x + F_{x+1} S_{x+1}) (PHG eq. 6.x)
        per_woman = 0.5 * (F + F @ sub[0])
        female = scipy.linalg.leslie(S[0, 0] * girls * per_woman, S[0, 1:])
        female[-1, -1] = S[0, -1]
        male_births = np.zeros((G, G))
        male_births[0] = S[1, 0] * boys * per_woman
        matrix = np.block([[female, np.zeros((G, G))], [male_births, sub[1]]])
        m = x.migration[0, :, :, :, d]  # (area, sex, age)
        v = (weight * m).reshape(AREAS, 2 * G)
        born = 0.5 * (v[:, 1:G] @ F[1:])  # births to migrant women at the end
        v[:, 0] += S[0, 0] * girls * born
        v[:, G] += S[1, 0] * boys * born
        P = x.base.reshape(AREAS, 2 * G, 1).copy()
        out[0, ..., d] = x.base[:, :, :KEPT]
        for t in range(STEPS):
            P = np.matmul(matrix, P)
            P[..., 0] += v
            out[t + 1, ..., d] = P.reshape(AREAS, 2, G)[:, :, :KEPT]
    return out


def copy_bandwidth(size_bytes: int, repeats: int) -> float:
    """Best ``np.copyto`` bandwidth in bytes/s (read + write counted)."""
    src = np.ones(size_bytes // 8)
    dst = np.empty_like(src)
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best


def bytes_moved(draws: int) -> int:
    """Bytes a step-by-step engine reads and writes (see module docstring)."""
    state = AREAS * 2 * AGES * draws * 8
    per_step = (
        2 * state  # read P(t), write P(t+1)
        + AREAS * 2 * AGES * draws * 8  # migration of the step
        + FERTILE_AGES * draws * 8  # fertility of the step
        + 2 * AGES * 8  # survival
        + AREAS * 2 * KEPT * draws * 8  # kept output
    )
    return STEPS * per_step + state + AREAS * 2 * KEPT * draws * 8


def best_time(function: Callable[[], object], repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def peak_memory(function: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run")
    parser.add_argument(
        "--leslie-draws", type=int, default=500, help="max draws the Leslie baseline runs"
    )
    args = parser.parse_args()
    counts = [1, 100, 1000] if args.quick else [1, 100, 1000, 10_000]
    probe = (256 if args.quick else 1024) * 2**20
    bandwidth = copy_bandwidth(probe, repeats=5)
    print(f"copy probe: {probe / 2**20:.0f} MiB np.copyto, {bandwidth / 1e9:.2f} GB/s "
          "(read + write)")
    print(f"problem: {AREAS} areas x 2 sexes x {AGES} ages x {STEPS} steps, "
          f"keep ages 0-{KEPT - 1}, float64")
    header = (f"{'draws':>6} {'workers':>7} {'time s':>8} {'peak MiB':>9} {'GB/s':>7} "
              f"{'of copy bw':>10} {'leslie s':>9} {'leslie/engine':>13} {'max rel diff':>12}")
    print(header)
    rng = np.random.default_rng(20240601)
    for draws in counts:
        x = make_inputs(draws, rng)
        repeats = 5 if draws < 10_000 else 3
        population = run_engine(x)
        sub = min(draws, args.leslie_draws)
        x_sub = Inputs(x.base, x.nLx, x.fertility[..., :sub], x.migration[..., :sub])
        start = time.perf_counter()
        baseline = run_leslie(x_sub, sub)
        leslie = (time.perf_counter() - start) * draws / sub
        diff = np.abs(baseline - population[..., :sub]).max() / population[..., :sub].max()
        scaled = "*" if sub < draws else " "
        for workers in (1, 2):
            elapsed = best_time(lambda x=x, workers=workers: run_engine(x, workers), repeats)
            peak = peak_memory(lambda x=x, workers=workers: run_engine(x, workers))
            rate = bytes_moved(draws) / elapsed
            print(f"{draws:>6} {workers:>7} {elapsed:>8.3f} {peak / 2**20:>9.1f} "
                  f"{rate / 1e9:>7.2f} {rate / bandwidth:>10.2f} {leslie:>8.2f}{scaled} "
                  f"{leslie / elapsed:>13.1f} {diff:>12.1e}")
    print("* Leslie baseline timed on --leslie-draws draws and scaled linearly")


if __name__ == "__main__":
    main()
