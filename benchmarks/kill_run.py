"""Kill ``capacity run`` with SIGKILL at random moments and check what is left in ``--out``.

Every file must be either the previous complete version or the new complete one, and
``meta.json`` may be new only when every other output is new; the next run must leave no
temporary files. Prints a tally:

    python benchmarks/kill_run.py [--kills 20] [--draws 2000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from capacity.atomic import TMP_MARK


def run(out: Path, draws: int, seed: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "capacity", "run", "--quiet", "--draws", str(draws), "--seed", str(seed), "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file's bytes; ``meta.json`` without the two fields that change from run to run."""
    out = {}
    for p in folder.iterdir():
        data = p.read_bytes()
        if p.name == "meta.json":
            try:
                record = json.loads(data)
            except ValueError:
                record = None  # a torn record stays torn
            if isinstance(record, dict):
                record.pop("created_utc", None)
                record.pop("elapsed_seconds", None)
                data = json.dumps(record, sort_keys=True).encode()
        out[p.name] = data
    return out


def kill_test(kills: int, draws: int, seed: int, work: Path) -> dict[str, int]:
    """Run the kill test; returns the tally."""
    rng = random.Random(seed)
    old_dir, new_dir = work / "old", work / "new"
    start = time.perf_counter()
    if run(old_dir, draws, 1).wait() != 0 or run(new_dir, draws, 2).wait() != 0:
        raise SystemExit("the reference runs failed")
    full = (time.perf_counter() - start) / 2
    old, new = snapshot(old_dir), snapshot(new_dir)
    assert old["gap.csv"] != new["gap.csv"], "the two seeds must give different outputs"
    tally = {"kills": 0, "untouched": 0, "partly new": 0, "all new": 0, "torn files": 0, "meta early": 0,
             "temporary files left": 0, "left after next run": 0}
    for _ in range(kills):
        out = work / "out"
        shutil.rmtree(out, ignore_errors=True)
        shutil.copytree(old_dir, out)
        proc = run(out, draws, 2)
        time.sleep(rng.uniform(0.3, 1.1) * full if rng.random() < 0.5 else rng.uniform(0.9, 1.02) * full)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        tally["kills"] += 1
        files = snapshot(out)
        temps = [n for n in files if n.startswith(TMP_MARK)]
        tally["temporary files left"] += len(temps)
        outputs = {n: b for n, b in files.items() if not n.startswith(TMP_MARK)}
        torn = [n for n, b in outputs.items() if b not in (old.get(n), new.get(n))]
        tally["torn files"] += len(torn)
        newer = [n for n, b in outputs.items() if b == new.get(n) and b != old.get(n)]
        if outputs.get("meta.json") == new["meta.json"] and any(outputs[n] != new[n] for n in new if n != "meta.json"):
            tally["meta early"] += 1
        differing = [n for n in new if old.get(n) != new[n]]
        key = "untouched" if not newer else "all new" if set(newer) == set(differing) else "partly new"
        tally[key] += 1
        if run(out, draws, 2).wait() != 0:
            raise SystemExit("the run after a kill failed")
        tally["left after next run"] += sum(1 for p in out.iterdir() if p.name.startswith(TMP_MARK))
    return tally


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        tally = kill_test(args.kills, args.draws, args.seed, Path(tmp))
    for key, value in tally.items():
        print(f"{key:>22}: {value}")
    bad = tally["torn files"] + tally["meta early"] + tally["left after next run"]
    print("every file old or new and complete" if bad == 0 else f"FAILURES: {bad}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
