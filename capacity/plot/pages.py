"""Report pages: a titled A4 page, wrapped paragraphs and typeset tables that run over pages.

Text is wrapped by width in characters; a CJK character counts as two (it is about twice as
wide as a Latin letter), so Chinese and English wrap alike. A table's cells wrap within
their column; rows that do not fit go on a continuation page with the header repeated.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

PAGE = (11.69, 8.27)  # A4 landscape, inches
LEFT, RIGHT, TOP, BOTTOM = 0.05, 0.95, 0.875, 0.06
CHAR_IN = 0.0085  # width of a Latin character per point of font size, inches (DejaVu Sans, bold: about)


def _width(text: str) -> int:
    """Columns ``text`` takes: a CJK character two, any other one."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width`` columns (a CJK character is two columns)."""
    if _width(text) == len(text):
        return textwrap.wrap(text, width) or [""]
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for word in _tokens(para):
            if _width(line + word) > width and line:
                lines.append(line.rstrip())
                line = word.lstrip()
            else:
                line += word
        lines.append(line.rstrip())
    return lines or [""]


def _tokens(text: str) -> list[str]:
    """Words of Latin text and single CJK characters, keeping spaces with the words."""
    out: list[str] = []
    word = ""
    for ch in text:
        if unicodedata.east_asian_width(ch) in ("W", "F"):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        elif ch == " ":
            out.append(word + ch)
            word = ""
        else:
            word += ch
    if word:
        out.append(word)
    return out


def page(title: str, subtitle: str = "") -> Figure:
    """An empty A4 landscape page with a title and an optional subtitle."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE, dpi=100)
    fig.text(LEFT, 0.955, title, fontsize=15, fontweight="bold", ha="left", va="top")
    if subtitle:
        fig.text(LEFT, 0.915, subtitle, fontsize=9, ha="left", va="top", color="#333333")
    return fig


def paragraphs(fig: Figure, texts: Sequence[str], top: float, fontsize: float = 10.0,
               bullet: str = "\u2022 ") -> float:
    """Write wrapped paragraphs from ``top`` (figure fraction) down; returns the y below them."""
    cols = int((RIGHT - LEFT) * PAGE[0] / (CHAR_IN * fontsize)) - 3
    step = fontsize * 1.55 / 72 / PAGE[1]
    y = top
    for text in texts:
        for k, line in enumerate(wrap(text, cols)):
            fig.text(LEFT, y, (bullet if k == 0 else " " * len(bullet) * 2) + line if bullet else line,
                     fontsize=fontsize, ha="left", va="top")
            y -= step
        y -= step * 0.45
    return y


def table_pages(title: str, subtitle: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
                widths: Sequence[float], *, fontsize: float = 7.5, align: Sequence[str] | None = None,
                first: Figure | None = None, top: float = TOP) -> list[Figure]:
    """A table typeset over as many pages as it needs.

    Parameters
    ----------
    widths
        Relative column widths.
    align
        ``"left"`` or ``"right"`` per column (default left).
    first, top
        Start on this page at ``top`` instead of a new page.
    """
    total = sum(widths)
    span = RIGHT - LEFT
    col_w = [w / total * span for w in widths]
    cols = [max(4, int(w * PAGE[0] / (CHAR_IN * fontsize)) - 1) for w in col_w]
    align = list(align) if align is not None else ["left"] * len(headers)
    line_h = fontsize * 1.45 / 72 / PAGE[1]
    pages: list[Figure] = []
    fig = first if first is not None else page(title, subtitle)
    pages.append(fig)
    y = top

    def header_row(fig: Figure, y: float) -> float:
        cells = [wrap(h, c) for h, c in zip(headers, cols)]
        n = max(len(c) for c in cells)
        _row(fig, y, cells, col_w, align, fontsize, line_h, bold=True)
        y -= n * line_h + line_h * 0.5
        fig.add_artist(_rule(y + line_h * 0.25, 0.8))
        return y

    y = header_row(fig, y)
    for row in rows:
        cells = [wrap(str(v), c) for v, c in zip(row, cols)]
        n = max(len(c) for c in cells)
        if y - n * line_h < BOTTOM:
            fig = page(f"{title} ({len(pages) + 1})", subtitle)
            pages.append(fig)
            y = header_row(fig, TOP)
        _row(fig, y, cells, col_w, align, fontsize, line_h)
        y -= n * line_h + line_h * 0.35
        fig.add_artist(_rule(y + line_h * 0.2, 0.3))
    return pages


def _row(fig: Figure, y: float, cells: list[list[str]], col_w: list[float], align: list[str], fontsize: float,
         line_h: float, bold: bool = False) -> None:
    x = LEFT
    for lines, w, a in zip(cells, col_w, align):
        for k, line in enumerate(lines):
            fig.text(x + (w - 0.006 if a == "right" else 0.0), y - k * line_h, line, fontsize=fontsize,
                     ha="right" if a == "right" else "left", va="top", fontweight="bold" if bold else "normal")
        x += w


def _rule(y: float, lw: float) -> Line2D:
    from matplotlib.lines import Line2D

    return Line2D([LEFT, RIGHT], [y, y], lw=lw, color="#888888")


__all__ = ["PAGE", "page", "paragraphs", "table_pages", "wrap"]
