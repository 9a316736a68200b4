"""Benchmark: `capacity run` on the baseline at 1,000 and 10,000 draws, against the time to import its dependencies.

Each size runs in a fresh process so that peak memory (its resident set's high-water mark,
VmHWM) belongs to that run alone. Prints wall time for the whole job (imports, load,
project, tables, write) and for its parts, and the peak memory; no assertions.

``imports s`` is the time a fresh process takes to import the third-party modules that the
run itself loaded (every module in ``sys.modules`` at its end outside the standard library
and ``capacity``), measured right after the run, under the same load; ``ratio`` is
``total s / imports s``: what the job costs beyond importing its dependencies. ``--repeat``
alternates run and import measurement that many times per size.

    python benchmarks/bench_run.py [--draws 1000 10000] [--scenario baseline] [--repeat 1]
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
import json, sys, time
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
hwm = [line.split()[1] for line in open("/proc/self/status") if line.startswith("VmHWM")]
std = set(sys.stdlib_module_names)
modules = sorted(m for m in sys.modules if m.split(".")[0] not in std and m.split(".")[0] != "capacity"
                 and not m.startswith("_"))
print(json.dumps({"load": t1 - t0, "run": t2 - t1, "tables": t3 - t2, "write": t4 - t3, "total": t4 - t0,
                  "peak_mib": int(hwm[0]) / 1024, "gap_csv_mib": len(files["gap.csv"]) / 2**20, "modules": modules}))
"""

IMPORTS = r"""
import importlib, json, sys, time
modules = json.load(open(sys.argv[1]))
t0 = time.perf_counter()
for name in modules:
    try:
        importlib.import_module(name)
    except Exception:  # a module only importable as a side effect of another: imported by then
        pass
print(json.dumps({"imports": time.perf_counter() - t0}))
"""


def _child(code: str, *args: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True, cwd=REPO)
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, nargs="+", default=[0, 1000, 10000])
    parser.add_argument("--scenario", default="baseline")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    print(f"{'draws':>7} {'total s':>8} {'load s':>7} {'run s':>7} {'tables s':>8} {'write s':>7} "
          f"{'peak MiB':>9} {'gap.csv MiB':>11} {'imports s':>9} {'ratio':>6}")
    for draws in args.draws:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as tmp:
                r = _child(CHILD, args.scenario, str(draws), str(Path(tmp) / "out"))
                listed = Path(tmp) / "modules.json"
                listed.write_text(json.dumps(r["modules"]))
                imports = float(str(_child(IMPORTS, str(listed))["imports"]))
            total = float(str(r["total"]))
            print(f"{draws:>7} {total:>8.2f} {r['load']:>7.2f} {r['run']:>7.2f} {r['tables']:>8.2f} "
                  f"{r['write']:>7.2f} {r['peak_mib']:>9.0f} {r['gap_csv_mib']:>11.2f} {imports:>9.2f} {total / imports:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
