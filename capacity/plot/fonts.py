"""Finding a font that draws Chinese street names.

Matplotlib's default font (DejaVu Sans) has no CJK glyphs: drawing ``南洲街道`` with it
gives empty boxes and a "Glyph ... missing from font" warning. :func:`cjk_font` looks for
a font that has them, in this order:

1. the file named by the environment variable ``CAPACITY_CJK_FONT`` (``.ttf``, ``.otf``
   or ``.ttc``);
2. a font matplotlib already knows, by family name (:data:`CJK_FAMILIES`: Noto Sans CJK,
   Source Han Sans, WenQuanYi, ...);
3. the system's font folders, by file name (``wqy-microhei.ttc``, ``NotoSansCJK-*.ttc``,
   ...); a font found there is registered with matplotlib (its font cache may predate
   the font's installation).

Each candidate must have a glyph for every character of :data:`PROBE`. If none is found,
:func:`cjk_font` returns None and the maps label streets in English: no warning is
issued. On Debian and Ubuntu ``apt-get install fonts-wqy-microhei`` (5 MB) or
``fonts-noto-cjk`` provides one.

Nothing here changes matplotlib's global settings: callers pass the returned
:class:`~matplotlib.font_manager.FontProperties` to the texts that hold Chinese.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.font_manager import FontProperties

#: Environment variable naming a CJK font file to use.
FONT_ENV = "CAPACITY_CJK_FONT"

#: Family names tried in order (static, regular-weight fonts first).
CJK_FAMILIES: tuple[str, ...] = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Source Han Sans",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Droid Sans Fallback",
)

#: File names (regular expressions, case-insensitive) searched in the system font folders.
CJK_FILES: tuple[str, ...] = (
    r"NotoSansCJK(sc)?-Regular\.(ttc|otf)$",
    r"SourceHanSans(SC|CN)?-Regular\.(ttc|otf)$",
    r"wqy-microhei\.ttc$",
    r"wqy-zenhei\.ttc$",
    r"DroidSansFallback(Full)?\.ttf$",
)

#: Characters a font must have: the commonest in Haizhu's street names, plus 街道区.
PROBE = "海珠区街道南华洲赤岗沙园新港江"

_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def has_cjk(text: str) -> bool:
    """True if ``text`` holds a CJK character."""
    return bool(_CJK.search(text or ""))


def _covers(path: str, text: str) -> bool:
    """True if the font file has a glyph for every character of ``text``."""
    from matplotlib.font_manager import get_font

    try:
        font = get_font(path)
    except (OSError, RuntimeError, ValueError):
        return False
    return all(font.get_char_index(ord(ch)) != 0 for ch in text)


def _register(path: str) -> str | None:
    """Add a font file to matplotlib's font manager; its family name, or None."""
    from matplotlib import font_manager as fm

    try:
        fm.fontManager.addfont(path)
        return str(fm.FontProperties(fname=path).get_name())
    except (OSError, RuntimeError, ValueError):
        return None


def _from_env() -> str | None:
    path = os.environ.get(FONT_ENV, "")
    if path and Path(path).is_file() and _covers(path, PROBE):
        return path
    return None


def _from_manager() -> str | None:
    from matplotlib import font_manager as fm

    by_name: dict[str, list[tuple[int, str]]] = {}
    for entry in fm.fontManager.ttflist:
        if entry.style != "normal":
            continue
        weight = entry.weight if isinstance(entry.weight, int) else 400
        by_name.setdefault(entry.name, []).append((abs(weight - 400), entry.fname))
    for family in CJK_FAMILIES:
        for _, path in sorted(by_name.get(family, [])):
            if _covers(path, PROBE):
                return path
    return None


def _from_system() -> str | None:
    from matplotlib import font_manager as fm

    try:
        files = fm.findSystemFonts(fontext="ttf") + fm.findSystemFonts(fontext="otf")  # type: ignore[arg-type]  # the stubs know ttf and afm only; otf works
    except OSError:  # pragma: no cover - unreadable font folder
        return None
    for pattern in CJK_FILES:
        rx = re.compile(pattern, re.IGNORECASE)
        for path in sorted(files):
            if rx.search(os.path.basename(path)) and _covers(path, PROBE):
                return path
    return None


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """Path of a font file that draws Chinese, or None (cached for the process)."""
    for find in (_from_env, _from_manager, _from_system):
        path = find()
        if path is not None:
            _register(path)
            return path
    return None


def cjk_font(size: float | None = None, weight: str | None = None) -> FontProperties | None:
    """Font properties for Chinese text, or None if no CJK font is installed.

    Parameters
    ----------
    size : float, optional
        Font size in points.
    weight : str, optional
        E.g. ``"bold"`` (used only if the font file has it; otherwise the regular face).
    """
    from matplotlib.font_manager import FontProperties

    path = cjk_font_path()
    if path is None:
        return None
    props = FontProperties(fname=path)
    if size is not None:
        props.set_size(size)
    if weight is not None:
        props.set_weight(weight)
    return props


def text_font(text: str, size: float | None = None) -> FontProperties | None:
    """Font properties to draw ``text``: the CJK font if it holds Chinese, else None (default)."""
    if has_cjk(text):
        return cjk_font(size)
    return None


def can_draw_chinese() -> bool:
    """True if a CJK font was found."""
    return cjk_font_path() is not None


def reset() -> None:
    """Forget the cached font (for tests that change ``CAPACITY_CJK_FONT``)."""
    cjk_font_path.cache_clear()


__all__ = ["CJK_FAMILIES", "FONT_ENV", "PROBE", "can_draw_chinese", "cjk_font", "cjk_font_path", "has_cjk",
           "reset", "text_font"]
