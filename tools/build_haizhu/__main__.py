"""Rebuild ``capacity/data/districts/haizhu`` from ``data/sources``: ``python -m tools.build_haizhu [--uncalibrated] [OUT_DIR]``.

``--uncalibrated`` writes the estimate before it is fitted to ``observed.csv``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tools.build_haizhu.write import DISTRICT, build


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    calibrated = "--uncalibrated" not in args
    args = [a for a in args if a != "--uncalibrated"]
    out = Path(args[0]) if args else DISTRICT
    build(out, calibrated=calibrated)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
