"""Benchmark: runs of synthetic regions of 18 to 18,000 areas, reduced chunk by chunk.

Prints, per region size (areas = districts x streets of ``tools/synthetic_region.py``,
baseline scenario): the wall time of :func:`capacity.run_summary` (projection, demand,
places, gap and their summaries per area, chunk by chunk: memory bounded by the chunks
in flight) on the synchronous scheduler, the peak resident memory of the process (or of
each worker), the time per area-draw, and the 1-minute load average of the machine when
the run ended (this benchmark's own processes included: about 1 for a synchronous run,
2 to 3 for the 2-worker one). ``load s`` is the time to import, read the region's files
and run it once with 2 draws (the first call's own costs), before the timed run. Then
the same run of the smallest region of at least 1,800 areas on a
``distributed.LocalCluster`` of 1 and of 2 worker processes (one thread each), with
Dask's default worker settings and again with the workers started without Dask's
``MALLOC_TRIM_THRESHOLD_=65536`` (which makes every array of more than 128 KiB fresh
memory: ``docs/scaling.md``). No assertions.

    python benchmarks/bench_region.py [--areas 18 180 1800 18000] [--draws 1000] [--large-draws N]

Regions of more than 2,000 areas run with ``--large-draws`` draws (default: ``--draws``;
the table says which).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
t0 = time.perf_counter()
import capacity
from capacity import model
from capacity.summary import run_summary
folder, draws, scheduler, workers, trim = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
if trim == "unset":  # workers started without Dask's MALLOC_TRIM_THRESHOLD_ (docs/scaling.md)
    import dask

    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
district = capacity.load_district(folder)
scenario = capacity.load_scenario("baseline")
run_summary(district, scenario, draws=2, seed=1, scheduler="synchronous")  # first-call costs (lazy imports)
t1 = time.perf_counter()
peaks = []
if scheduler == "cluster":
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            client.run(lambda: __import__("capacity.model"))  # workers warm (imports) before timing
            t1 = time.perf_counter()
            run_summary(district, scenario, draws=draws, seed=1, scheduler=cluster.scheduler_address)
            t2 = time.perf_counter()
            peaks = list(client.run(lambda: int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
                                    / 1024).values())
else:
    run_summary(district, scenario, draws=draws, seed=1, scheduler=scheduler)
    t2 = time.perf_counter()
status = open("/proc/self/status").read()
peaks.append(int(status.split("VmHWM:")[1].split()[0]) / 1024)
print(json.dumps({"load": t1 - t0, "run": t2 - t1, "peaks": peaks, "loadavg": os.getloadavg()[0]}))
"""


def child(folder: Path, draws: int, scheduler: str, workers: int = 1, trim: str = "default") -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(draws), scheduler, str(workers), trim],
                          capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def shape(areas: int) -> tuple[int, int]:
    """Districts x streets of a region of ``areas`` areas (18 streets per district, as Haizhu)."""
    return max(1, areas // 18), 18 if areas >= 18 else areas


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--areas", type=int, nargs="+", default=[18, 180, 1800, 18000])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--large-draws", type=int, default=None, help="draws of regions of more than 2,000 areas")
    parser.add_argument("--no-cluster", action="store_true", help="skip the 1 vs 2 worker comparison")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from tools.synthetic_region import make_region

    large = args.large_draws or args.draws
    print(f"{os.cpu_count()} cores; 1-minute load average before: {os.getloadavg()[0]:.2f}")
    print(f"{'areas':>6} {'draws':>6} {'scheduler':>12} {'load s':>7} {'run s':>8} {'peak MiB':>9} "
          f"{'us/area-draw':>12} {'loadavg':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        folders = {}
        for areas in args.areas:
            districts, streets = shape(areas)
            folders[areas] = make_region(Path(tmp) / f"r{areas}", districts, streets, seed=0)
            draws = args.draws if areas <= 2000 else large
            r = child(folders[areas], draws, "synchronous")
            run = float(r["run"])  # type: ignore[arg-type]
            peaks = r["peaks"]
            assert isinstance(peaks, list)
            print(f"{areas:>6} {draws:>6} {'synchronous':>12} {float(r['load']):>7.2f} {run:>8.2f} "  # type: ignore[arg-type]
                  f"{max(peaks):>9.0f} {run / (areas * draws) * 1e6:>12.2f} {float(r['loadavg']):>7.2f}",  # type: ignore[arg-type]
                  flush=True)
        big = [a for a in args.areas if a >= 1800]
        if big and not args.no_cluster:
            areas = min(big)
            draws = args.draws if areas <= 2000 else large
            for trim, mark in (("default", ""), ("unset", "*")):
                times = {}
                for workers in (1, 2):
                    r = child(folders[areas], draws, "cluster", workers, trim)
                    times[workers] = float(r["run"])  # type: ignore[arg-type]
                    peaks = r["peaks"]
                    assert isinstance(peaks, list)
                    per_worker = "/".join(f"{p:.0f}" for p in peaks[:-1])
                    label = f"{workers} worker{'s' if workers > 1 else ''}{mark}"
                    print(f"{areas:>6} {draws:>6} {label:>12} {float(r['load']):>7.2f} "  # type: ignore[arg-type]
                          f"{times[workers]:>8.2f} {per_worker:>9} {times[workers] / (areas * draws) * 1e6:>12.2f} "
                          f"{float(r['loadavg']):>7.2f}", flush=True)  # type: ignore[arg-type]
                print(f"speed-up of 2 workers{mark} over 1 on {areas} areas: {times[1] / times[2]:.2f}", flush=True)
            print("* workers started without Dask's MALLOC_TRIM_THRESHOLD_=65536 (docs/scaling.md)")
    print("peak MiB: the process's VmHWM; for a cluster, each worker's (the client process apart); "
          "loadavg: 1-minute load average when the run ended")
    return 0


if __name__ == "__main__":
    sys.exit(main())
