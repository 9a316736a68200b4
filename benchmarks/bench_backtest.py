"""Benchmark: the whole Norwegian-ward backtest (all methods, 12 origins, 5 horizons).

Converts the shared Norwegian ward file into a history folder in a temporary folder
(timed apart), then times reading it and ``run_backtest`` with every default method,
origins 2010-2021, horizons 1-5, the default selection rule (the target: under a minute),
and the same for the New Zealand regions, New York City districts and the Norwegian municipalities (the
development set of the selection rule). Prints figures, no assertions. Needs
``../shared/data/backtest`` next to the repository.

    python benchmarks/bench_backtest.py
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from capacity.forecast.backtest import run_backtest  # noqa: E402
from capacity.forecast.history import read_history  # noqa: E402
from capacity.forecast.methods import DEFAULT_METHODS, parse_method  # noqa: E402
from tools.history import norway, norway_municipalities, nyc, nz  # noqa: E402
from tools.history.common import SHARED  # noqa: E402

SETS = [("Norway wards", norway, (2010, 2021)), ("New Zealand regions", nz, (2006, 2015)),
        ("New York City districts", nyc, (2008, 2016)),
        ("Norway municipalities (development set)", norway_municipalities, (2010, 2021))]


def main() -> int:
    if not SHARED.is_dir():
        print(f"shared backtest data not found at {SHARED}")
        return 1
    methods = [parse_method(m) for m in DEFAULT_METHODS]
    with tempfile.TemporaryDirectory() as tmp:
        for name, module, origins in SETS:
            folder = Path(tmp) / module.__name__.rsplit(".", 1)[-1]
            t0 = time.perf_counter()
            module.main([str(folder), "--source", str(SHARED)])
            t1 = time.perf_counter()
            history = read_history(folder)
            t2 = time.perf_counter()
            result = run_backtest(history, methods, origins, (1, 5))
            t3 = time.perf_counter()
            print(f"{name}: convert {t1 - t0:.2f} s, read {t2 - t1:.2f} s, backtest {t3 - t2:.2f} s "
                  f"({len(methods)} methods, origins {origins[0]}-{origins[1]}, horizons 1-5, "
                  f"{len(result.forecasts):,} scored forecasts); read + backtest {t3 - t1:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
