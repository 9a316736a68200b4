"""Benchmark of the planners' outputs (prints figures, asserts nothing).

Run::

    python benchmarks/bench_outputs.py            # 3 scenarios, 0 and 50 draws

For the embedded Haizhu district and the scenarios baseline, low_fertility and
three_child_rebound, deterministic and with draws, prints per output and language the
wall time to build and write it (the model run excluded) and the file's size: the PDF
report (and its page count), the Excel workbook, the offline web map, and the four-stage
gap map page (PNG at 300 dpi). Also the size of the CJK font the package ships.
"""

from __future__ import annotations

import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity.export import export  # noqa: E402
from capacity.plot import PlotAccessor, fonts, save_figure  # noqa: E402
from capacity.report import write_report  # noqa: E402

SCENARIOS = ["baseline", "low_fertility", "three_child_rebound"]


def main() -> None:
    print(f"shipped CJK font: {fonts.PACKAGED_FONT.name}, {fonts.PACKAGED_FONT.stat().st_size:,} bytes")
    print(f"{'draws':>5} {'lang':>4} {'output':<14} {'seconds':>8} {'bytes':>11} {'pages':>5}")
    for draws in (0, 50):
        res = capacity.run(SCENARIOS, draws=draws, seed=1, progress=False)
        for lang in ("en", "zh"):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(tmp)
                t = time.perf_counter()
                path = write_report(res, out / "report.pdf", lang=lang)
                pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", path.read_bytes()))
                rows = [("report.pdf", time.perf_counter() - t, path.stat().st_size, str(pages))]
                for fmt, name in (("xlsx", "capacity.xlsx"), ("html", "map.html")):
                    t = time.perf_counter()
                    export(res, out, formats=(fmt,), lang=lang)
                    rows.append((name, time.perf_counter() - t, (out / name).stat().st_size, ""))
                t = time.perf_counter()
                (png,) = save_figure(PlotAccessor(res).small_multiples(lang=lang), out, "maps", formats=("png",))
                rows.append(("gap_maps.png", time.perf_counter() - t, png.stat().st_size, ""))
                for name, sec, size, pages_text in rows:
                    print(f"{draws:>5} {lang:>4} {name:<14} {sec:>8.2f} {size:>11,} {pages_text:>5}")


if __name__ == "__main__":
    main()
