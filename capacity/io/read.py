"""Strict reading of input files: UTF-8 text, CSV tables as text cells, numeric cells.

Nothing is guessed: strict UTF-8 (a byte-order mark dropped), well-formed CSV with one header naming each column once and
every row as wide as it; numbers without thousands separators, ``.`` as decimal mark, no NaN or infinity, integers within 64
bits (:func:`parse_numbers`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.errors import Problem

__all__ = ["LIMIT", "cell_problem", "parse_numbers", "read_csv", "read_text"]

_INTEGER = r"[+-]?\d+"
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:[,\u00a0 ']\d{3})+(?:\.\d*)?")
_BOM = b"\xef\xbb\xbf"
#: Most problems listed by one check (one kind, one column of one table).
LIMIT = 1000


def read_text(path: Path, shown: str, hashes: dict[str, str], key: str) -> str | Problem:
    """Read a file as strict UTF-8 (a leading byte-order mark dropped); ``hashes[key]`` gets its SHA-256.

    Returns the text, or a problem naming the line (``row N``), the column of a CSV row and the byte offset of the first byte
    that is not UTF-8, with a GBK hint.
    """
    data = path.read_bytes()
    hashes[key] = hashlib.sha256(data).hexdigest()
    offset = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return data[offset:].decode("utf-8")
    except UnicodeDecodeError as error:
        start = error.start + offset
        line = data.count(b"\n", 0, start) + 1
        header = data[offset:].split(b"\n", 1)[0].decode("utf-8", "replace").strip("\r").split(",")
        index = data.count(b",", data.rfind(b"\n", 0, start) + 1, start)
        column = header[index].strip() if line > 1 and index < len(header) and shown.endswith(".csv") else ""
        return Problem(shown, f"row {line}", column, f"expected UTF-8 text, found bytes {data[start : start + 2].hex(' ')} at byte "
                       f"offset {start} that are not UTF-8 (GBK or another legacy encoding?); re-save the file as UTF-8")


def read_csv(path: Path, shown: str, problems: list[Problem], hashes: dict[str, str], key: str) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Read a CSV file as text cells, with the line of each row (header = 1); ``hashes[key]`` gets its SHA-256.

    Blank lines (and lines of empty cells only) are skipped; a row whose width differs from the header's is reported and left
    out. Returns ``None`` (problems in ``problems``) if the file cannot be read as a table: missing, not UTF-8, empty, not
    well-formed CSV, a column named twice.
    """
    text = read_text(path, shown, hashes, key) if path.is_file() else Problem(shown, "", "", "expected the file, found none")
    if isinstance(text, Problem):
        problems.append(text)
        return None
    lines, records, starts = text.replace("\r\n", "\n").split("\n"), [], []
    if '"' in text or "\r" in text.replace("\r\n", ""):  # quotes or lone CRs: the csv module, each record at the line it starts
        reader, previous = csv.reader(io.StringIO(text, newline=""), strict=True), 0
        try:
            for record in reader:
                records.append(record)
                starts.append(previous + 1)
                previous = reader.line_num
        except csv.Error as error:
            header = next(([n.strip() for n in r] for r in records if "".join(r).strip()), [])
            problems.append(_malformed(lines, previous + 1, shown, header, str(error)))
            return None
        lines = [",".join(r) for r in records]  # only to count the fields and find blank records below
    widths = np.fromiter(map(len, records) if records else (line.count(",") + 1 for line in lines), np.int64, len(lines))
    blank = np.fromiter((not line.replace(",", "").strip() for line in lines), bool, len(lines))
    if blank.all():
        problems.append(Problem(shown, "row 1", "", "expected a header row naming the columns, found an empty file"))
        return None
    first = int(np.argmin(blank))
    header = [name.strip() for name in (records[first] if records else lines[first].split(","))]
    twice = [name for i, name in enumerate(header) if name in header[:i]]
    problems += [Problem(shown, f"row {starts[first] if records else first + 1}", name, "expected each column once in the header, found it twice")
                 for name in twice]
    if twice:
        return None
    data = ~blank & (np.arange(len(lines)) > first)
    row = np.asarray(starts, dtype=np.int64) if records else np.arange(1, len(lines) + 1)
    wide = np.flatnonzero(data & (widths != len(header)))
    more = f" ({len(wide)} such rows, only the first {LIMIT} listed)" if len(wide) > LIMIT else ""
    problems += [Problem(shown, f"row {row[i]}", "", f"expected {len(header)} fields as in the header, found {widths[i]}" + (more if k == 0 else ""))
                 for k, i in enumerate(wide[:LIMIT])]
    good = np.flatnonzero(data & (widths == len(header)))
    cells = np.array([records[i] for i in good] if records else ",".join(lines[i] for i in good).split(",") if len(good) else [],
                     dtype=object).reshape(-1, len(header))  # one row per good record
    return pd.DataFrame({h: pd.Series(cells[:, j], dtype=str) for j, h in enumerate(header)}), row[good]


def _malformed(lines: list[str], start: int, shown: str, header: list[str], error: str) -> Problem:
    """A record that is not well-formed CSV, at its first line: the column where a quoted field opens and never closes."""
    fields, quoted, opened = 0, False, 0
    for char in lines[start - 1] if start <= len(lines) else "":
        if char == '"':
            quoted, opened = not quoted, fields if not quoted else opened
        elif char == "," and not quoted:
            fields += 1
    column = header[opened] if quoted and opened < len(header) else ""
    found = "a quoted field that is never closed (a missing closing quote '\"')" if quoted else f": {error}"
    return Problem(shown, f"row {start}", column, f"expected well-formed CSV, found{'' if not quoted else ' '}{found}")


def parse_numbers(cells: pd.Series, integer: bool) -> tuple[pd.Series, np.ndarray]:
    """Parse a column of numbers (text cells, or numbers built in code), vectorised.

    Returns the values (``int64`` for an integer column without bad cells, else ``float64`` with bad cells NaN) and the mask
    of the cells that are not valid numbers of the column's type: finite, whole and within 64 bits for ``integer``.
    """
    if pd.api.types.is_numeric_dtype(cells) and not pd.api.types.is_bool_dtype(cells):
        if pd.api.types.is_integer_dtype(cells) and not cells.hasnans:
            return cells.astype(np.int64), np.zeros(len(cells), dtype=bool)
        x = cells.to_numpy(np.float64)
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(x) | (integer & ((np.floor(x) != x) | (np.abs(x) > 2.0**63)))
        return pd.Series(np.where(bad, np.nan, x), index=cells.index), bad
    text = (cells.where(cells.notna(), "") if cells.hasnans else cells).astype(str)
    if not integer:
        values = pd.to_numeric(text, errors="coerce").astype(np.float64)
        return values.where(np.isfinite(values)), ~np.isfinite(values.to_numpy())
    text = text.str.strip()
    bad = ~text.str.fullmatch(_INTEGER).to_numpy(dtype=bool)
    for i in np.flatnonzero(~bad & (text.str.len().to_numpy() >= 18)):  # only cells of 18 digits or more: exact Python integers
        bad[i] = abs(int(text.iloc[i])) > 2**63 - 1
    if not bad.any():
        return pd.Series(text.astype(np.int64).to_numpy(), index=cells.index), bad
    return pd.to_numeric(text.where(~bad, ""), errors="coerce").astype(np.float64).where(~bad), bad


def cell_problem(cells: pd.Series, desc: str, integer: bool | None = None, notes: Mapping[str, str] | None = None) -> Callable[[int], str]:
    """The "expected ..., found ..." text of cell ``i`` of ``cells``, not valid in a column described by ``desc``.

    A cell that is not a number of a numeric column (``integer`` True or False) gets a hint where it is written the wrong way
    (thousands separators, decimal comma, too large, not whole); any other cell the note ``notes`` holds for it, if any.
    """

    def text(i: int) -> str:
        raw = str(cells.iloc[i])
        cell = raw.strip()
        if not cell or (integer is not None and cell in ("nan", "None")):  # NaN or None: a number left out in code
            return f"expected {desc}, found an empty cell"
        hint = ((notes or {}).get(raw, "") if integer is None else ": thousands separators are not allowed" if _THOUSANDS.fullmatch(cell)
                else " (too large)" if integer and re.fullmatch(_INTEGER, cell)
                else " (not a whole number)" if integer and re.fullmatch(_NUMBER, cell)
                else ": the decimal mark is '.'" if "," in cell and re.fullmatch(_NUMBER, cell.replace(",", ".")) else "")
        return f"expected {desc}, found '{raw}'{hint}"

    return text
