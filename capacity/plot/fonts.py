"""Finding a font that draws Chinese street names.

Matplotlib's default font (DejaVu Sans) has no CJK glyphs: drawing ``南洲街道`` with it
gives empty boxes and a "Glyph ... missing from font" warning. :func:`cjk_font` looks for
a font that has them, in this order:

1. the file named by the environment variable ``CAPACITY_CJK_FONT`` (``.ttf``, ``.otf``
   or ``.ttc``);
2. the font shipped with the package, :data:`PACKAGED_FONT`: a 1.3 MB subset of WenQuanYi
   Micro Hei (Apache-2.0, licence next to it) holding every character of GB 2312, so a
   pip-only install draws Chinese (rebuilt by ``python -m tools.build_font``);
3. a font matplotlib already knows, by family name (:data:`CJK_FAMILIES`: Noto Sans CJK,
   Source Han Sans, WenQuanYi, ...);
4. the system's font folders, by file name (``wqy-microhei.ttc``, ``NotoSansCJK-*.ttc``,
   ...); a font found there is registered with matplotlib (its font cache may predate
   the font's installation).

Each candidate must have a glyph for every character of :data:`PROBE`. Output asked for in
Chinese (``--lang zh``) checks with :func:`require` that the font has every character it
will draw; if not, :class:`capacity.errors.InputError` says how to fix it (the command line
exits 2): never a silent fallback to English or to empty boxes. :func:`rc` gives the
matplotlib settings that draw a whole figure in the CJK font (TrueType embedded in PDF as
Type 42, so the text can be copied and searched).

Nothing here changes matplotlib's global settings: callers pass the returned
:class:`~matplotlib.font_manager.FontProperties` to the texts that hold Chinese.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.font_manager import FontProperties

#: Environment variable naming a CJK font file to use.
FONT_ENV = "CAPACITY_CJK_FONT"

#: The font shipped with the package (a GB 2312 subset of WenQuanYi Micro Hei).
PACKAGED_FONT = Path(__file__).resolve().parents[1] / "fonts" / "wqy-microhei-gb2312.ttf"

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


def _packaged() -> str | None:
    return str(PACKAGED_FONT) if PACKAGED_FONT.is_file() and _covers(str(PACKAGED_FONT), PROBE) else None


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
    for find in (_from_env, _packaged, _from_manager, _from_system):
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


def missing(text: str) -> str:
    """The characters of ``text`` the CJK font cannot draw (all of its CJK characters if there is none)."""
    path = cjk_font_path()
    chars = "".join(dict.fromkeys(ch for ch in text if ord(ch) > 0x7F and not ch.isspace()))
    if path is None:
        return "".join(ch for ch in chars if has_cjk(ch))
    from matplotlib.font_manager import get_font

    font = get_font(path)
    return "".join(ch for ch in chars if font.get_char_index(ord(ch)) == 0)


def require(text: str = PROBE) -> str:
    """Path of the CJK font, checked to draw every character of ``text``.

    Raises
    ------
    capacity.errors.InputError
        If no CJK font is found or it lacks some characters; the message names them and the fix.
    """
    from capacity.errors import InputError
    from capacity.i18n import EN

    lacking = missing(text)
    path = cjk_font_path()
    if path is None or lacking:
        raise InputError.one("capacity", "--lang zh", "font", EN["font.missing"].format(chars=lacking[:20] or PROBE))
    return path


def rc(lang: str) -> dict[str, Any]:
    """matplotlib settings for figures in ``lang``, with Type 42 fonts in PDF (searchable text).

    ``zh``: the CJK font for every text (:func:`require` checks there is one). ``en``:
    DejaVu Sans, falling back to the CJK font (if there is one) for the Chinese names and
    sources an English page quotes.
    """
    from matplotlib.font_manager import FontProperties

    if lang != "zh":
        path = cjk_font_path()
        if path is None:
            return {"pdf.fonttype": 42}
        return {"font.family": ["DejaVu Sans", FontProperties(fname=path).get_name()], "pdf.fonttype": 42}
    path = require()
    _register(path)
    return {"font.family": [FontProperties(fname=path).get_name(), "DejaVu Sans"], "pdf.fonttype": 42,
            "axes.unicode_minus": False}


def reset() -> None:
    """Forget the cached font (for tests that change ``CAPACITY_CJK_FONT``)."""
    cjk_font_path.cache_clear()


__all__ = ["CJK_FAMILIES", "FONT_ENV", "PACKAGED_FONT", "PROBE", "can_draw_chinese", "cjk_font", "cjk_font_path",
           "has_cjk", "missing", "rc", "require", "reset", "text_font"]
