"""Rebuild the CJK font shipped with the package: ``capacity/fonts/wqy-microhei-gb2312.ttf``.

A subset of WenQuanYi Micro Hei 0.2.0-beta (Apache-2.0, or GPL-3+ with the font
exception; Debian package ``fonts-wqy-microhei``): every character of GB 2312 (the 6,763
hanzi of levels 1 and 2 and its symbols), printable ASCII and Latin-1, general and CJK
punctuation, full-width forms, and every character of the embedded Haizhu district's
files. TrueType outlines (``glyf``), so matplotlib embeds it in PDF as Type 42 and the text
can be copied and searched. The licence is copied next to it.

Usage::

    python -m tools.build_font [PATH_TO_wqy-microhei.ttc]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
OUT = ROOT / "capacity" / "fonts" / "wqy-microhei-gb2312.ttf"


def gb2312_chars() -> set[int]:
    """Code points of every character GB 2312 encodes (rows 0xA1-0xF7, cells 0xA1-0xFE)."""
    out: set[int] = set()
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                out.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return out


def wanted() -> set[int]:
    chars = gb2312_chars()
    chars |= set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    chars |= set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    chars |= {0x2212, 0x2264, 0x2265, 0x00D7, 0x2192, 0x2190, 0x2013, 0x2014, 0x2026, 0x25CF, 0x25CB}
    for path in (ROOT / "capacity" / "data").rglob("*"):
        if path.is_file() and path.suffix in (".csv", ".toml", ".geojson"):
            chars |= {ord(c) for c in path.read_text(encoding="utf-8") if ord(c) > 0x7F}
    return chars


def main(argv: list[str]) -> None:
    from fontTools import subset
    from fontTools.ttLib import TTCollection

    source = Path(argv[0]) if argv else SOURCE
    font = TTCollection(str(source)).fonts[0]  # WenQuanYi Micro Hei (not Mono)
    opts = subset.Options()
    opts.name_IDs = ["*"]
    opts.name_languages = ["*"]
    opts.notdef_outline = True
    opts.hinting = False
    opts.layout_features = ["*"]
    sub = subset.Subsetter(opts)
    sub.populate(unicodes=sorted(wanted()))
    sub.subset(font)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(OUT))
    print(f"wrote {OUT.relative_to(ROOT)}: {OUT.stat().st_size:,} bytes, {len(font.getGlyphOrder()):,} glyphs")


if __name__ == "__main__":
    main(sys.argv[1:])
