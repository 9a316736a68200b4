"""Benchmark: `capacity run` on the baseline at 1,000 and 10,000 draws.

Each size runs in a fresh process so that peak memory (max resident set size) belongs to
that run alone. Prints wall time for the whole command (load, project, tables, write) and
for its parts, and the peak memory; no assertions.

    python benchmarks/bench_run.py [--draws 1000 10000] [--scenario scenarios/baseline.toml]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
t0 = time.perf_counter()
import capacity
from capacity.atomic import write_files
scen, draws, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
district = capacity.load_district()
t1 = time.perf_counter()
res = capacity.run(scen, district, draws=draws, seed=1)
t2 = time.perf_counter()
files = res.files()
t3 = time.perf_counter()
write_files(out, files)
t4 = time.perf_counter()
print(json.dumps({"load": t1 - t0, "run": t2 - t1, "tables": t3 - t2, "write": t4 - t3, "total": t4 - t0,
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "gap_csv_mib": len(files["gap.csv"]) / 2**20}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 1000, 10000])
    parser.add_argument("--scenario", default="baseline")
    args = parser.parse_args()
    print(f"{'draws':>7} {'total s':>8} {'load s':>7} {'run s':>7} {'tables s':>8} {'write s':>7} "
          f"{'peak MiB':>9} {'gap.csv MiB':>11}")
    for draws in args.draws:
        with tempfile.TemporaryDirectory() as tmp:
            proc = subprocess.run([sys.executable, "-c", CHILD, args.scenario, str(draws), str(Path(tmp) / "out")],
                                  capture_output=True, text=True, check=True, cwd=REPO)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{draws:>7} {r['total']:>8.2f} {r['load']:>7.2f} {r['run']:>7.2f} {r['tables']:>8.2f} "
              f"{r['write']:>7.2f} {r['peak_mib']:>9.0f} {r['gap_csv_mib']:>11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
