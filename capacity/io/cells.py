"""Cells and text: the syntax of numeric cells, and input files decoded as UTF-8.

Numbers in input files are written one way only: no thousands separators, ``.`` as the
decimal mark, no ``NaN`` or infinity, integers that fit in 64 bits. :func:`parse_cell`
reads a cell by these rules and :func:`number_problem` says what is wrong with one that
breaks them. Every text file is strict UTF-8 (:func:`decode_text`, :func:`read_text`).
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING

from capacity.errors import Problem

if TYPE_CHECKING:
    from capacity.io.schema import ColumnSpec

__all__ = ["decode_text", "number_problem", "parse_cell", "read_text"]

_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}([,\u00a0 ']\d{3})+(\.\d*)?")
_BOM = b"\xef\xbb\xbf"


def parse_cell(spec: ColumnSpec, cell: str) -> int | float | None:
    """The value of a numeric cell, or ``None`` if it is not a valid number of its type.

    Surrounding spaces are ignored; no thousands separators, ``.`` as decimal mark, no
    ``NaN`` or infinity; integers must fit in 64 bits.

    Parameters
    ----------
    spec : ColumnSpec
        The column (``integer`` or ``number``).
    cell : str
        The cell as written.

    Returns
    -------
    int, float or None
    """
    cell = cell.strip()
    if spec.type == "integer":
        if _INTEGER.fullmatch(cell) is None:
            return None
        value = int(cell)
        return value if -(2**63) < value < 2**63 else None
    if _NUMBER.fullmatch(cell) is None:
        return None
    number = float(cell)
    return number if math.isfinite(number) else None


def number_problem(spec: ColumnSpec, raw: str, desc: str) -> str:
    """The "expected ..., found ..." text for a cell that is not a valid number.

    Parameters
    ----------
    spec : ColumnSpec
        The column.
    raw : str
        The cell as written.
    desc : str
        The description of a valid cell (:meth:`ColumnSpec.describe`).

    Returns
    -------
    str
    """
    if raw.strip() == "":
        return f"expected {desc}, found an empty cell"
    stripped = raw.strip()
    if _THOUSANDS.fullmatch(stripped):
        return f"expected {desc}, found '{raw}': thousands separators are not allowed"
    if spec.type == "integer" and _INTEGER.fullmatch(stripped):
        return f"expected {desc}, found '{raw}' (too large)"
    if spec.type == "integer" and _NUMBER.fullmatch(stripped):
        return f"expected {desc}, found '{raw}' (not a whole number)"
    if "," in stripped and _NUMBER.fullmatch(stripped.replace(",", ".")):
        return f"expected {desc}, found '{raw}': the decimal mark is '.'"
    return f"expected {desc}, found '{raw}'"


def decode_text(data: bytes, file: str) -> tuple[str | None, Problem | None]:
    """Decode a file's bytes as strict UTF-8 (a leading byte-order mark is dropped).

    Parameters
    ----------
    data : bytes
        The file's content.
    file : str
        File name to put in the problem.

    Returns
    -------
    text : str or None
        The text, or ``None`` if it is not UTF-8.
    problem : Problem or None
        On failure, a problem naming the line (``row N``), the column when the line is a
        row of a comma-separated table whose header could be read, and the byte offset.
    """
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
        offset = len(_BOM)
    else:
        offset = 0
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        start = error.start
        line = data.count(b"\n", 0, start) + 1
        line_start = data.rfind(b"\n", 0, start) + 1
        column = ""
        if line > 1 and file.endswith(".csv"):
            header = data.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip("\r").split(",")
            field_index = data.count(b",", line_start, start)
            if field_index < len(header):
                column = header[field_index].strip()
        bad = data[start : start + 2].hex(" ")
        return None, Problem(
            file,
            f"row {line}",
            column,
            f"expected UTF-8 text, found bytes {bad} at byte offset {start + offset} "
            "that are not UTF-8 (GBK or another legacy encoding?); re-save the file as UTF-8",
        )


def read_text(path: Path, shown: str, hashes: dict[str, str], key: str) -> tuple[str | None, Problem | None]:
    """Read an existing file as UTF-8 text, recording the SHA-256 of its bytes.

    Parameters
    ----------
    path : Path
        The file (it must exist).
    shown : str
        File name to put in the problem.
    hashes : dict of str to str
        Receives ``key`` -> hex digest of the file's bytes (also when they are not UTF-8).
    key : str
        Name of the file in ``hashes``.

    Returns
    -------
    text : str or None
        The text, or ``None`` if it is not UTF-8.
    problem : Problem or None
        What :func:`decode_text` found wrong.
    """
    data = path.read_bytes()
    hashes[key] = hashlib.sha256(data).hexdigest()
    return decode_text(data, shown)
