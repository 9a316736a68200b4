"""Rebuild ``capacity/data/districts/haizhu`` from ``data/sources``: ``python -m tools.build_haizhu [OUT_DIR]``."""

from __future__ import annotations

import sys
from pathlib import Path

from tools.build_haizhu.write import DISTRICT, build


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DISTRICT
    build(out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
