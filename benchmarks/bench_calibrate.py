"""Benchmark: time of ``capacity.calibrate.fit`` on the embedded Haizhu district, and of the whole ``calibrate`` (folder written).

Prints the wall time of each (best of ``--repeat``), the number of parameters and observations,
and the fit's verdict. No assertions.

    python benchmarks/bench_calibrate.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    import capacity
    from capacity.calibrate import calibrate, fit

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    district = capacity.load_district()
    reference = capacity.load_scenario("baseline")
    best = float("inf")
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = fit(district, reference)
        best = min(best, time.perf_counter() - start)
    used = int((result.residuals["used"] == "yes").sum())
    print(f"fit: {best * 1000:.0f} ms for {len(result.parameters)} parameters, {used} observations; {result.status}")
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        calibrate(None, Path(tmp) / "calibrated", reference)
        print(f"calibrate (fit, files, chart, atomic writes): {time.perf_counter() - start:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
