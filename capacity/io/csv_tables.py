"""CSV tables of a district folder: read as text, then validated against ``schema.toml``.

:func:`read_csv_text` reads a file strictly (UTF-8, well-formed CSV, one header naming each
column once, every row as wide as the header) into text cells with their line numbers;
:func:`read_table` then validates the cells (:func:`capacity.io.pandera_bridge.validate_table`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from capacity.errors import Problem
from capacity.io.cells import read_text
from capacity.io.pandera_bridge import validate_table
from capacity.io.schema import TableSpec

__all__ = ["Table", "read_csv_text", "read_table"]


@dataclass
class Table:
    """A CSV table as read and validated.

    Attributes
    ----------
    frame : pandas.DataFrame or None
        The coerced table in file order, or ``None`` if anything was wrong with it.
    lines : list of int
        Line number in the file of each data row (empty when the file could not be read).
    """

    frame: pd.DataFrame | None
    lines: list[int]


def read_csv_text(path: Path, shown: str, problems: list[Problem], hashes: dict[str, str], key: str) -> tuple[pd.DataFrame, list[int]] | None:
    """Read a CSV file as text cells; ``None`` (and problems) if it cannot be read.

    Parameters
    ----------
    path : Path
        The file.
    shown : str
        File name to put in problems.
    problems : list of Problem
        Receives what is wrong with the file: missing, not UTF-8, empty, not well-formed
        CSV, a column named twice, a row with the wrong number of fields (left out).
    hashes : dict of str to str
        Receives ``key`` -> SHA-256 of the file.
    key : str
        Name of the file in ``hashes``.

    Returns
    -------
    tuple of (pandas.DataFrame, list of int) or None
        The table, every cell text, and the line number of each row.
    """
    if not path.is_file():
        problems.append(Problem(shown, "", "", "expected the file, found none"))
        return None
    text, problem = read_text(path, shown, hashes, key)
    if problem is not None:
        problems.append(problem)
        return None
    assert text is not None
    if text.strip() == "":
        problems.append(Problem(shown, "row 1", "", "expected a header row naming the columns, found an empty file"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    duplicate_header = False
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record or all(cell.strip() == "" for cell in record):
                continue
            if header is None:
                header = [name.strip() for name in record]
                seen: set[str] = set()
                for name in header:
                    if name in seen:
                        problems.append(Problem(shown, f"row {start}", name, "expected each column once in the header, found it twice"))
                        duplicate_header = True
                    seen.add(name)
                continue
            if len(record) != len(header):
                problems.append(
                    Problem(shown, f"row {start}", "", f"expected {len(header)} fields as in the header, found {len(record)}")
                )
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as error:
        problems.append(Problem(shown, f"row {reader.line_num}", "", f"expected well-formed CSV, found: {error}"))
        return None
    if header is None or duplicate_header:
        return None
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame({h: pd.Series([], dtype=str) for h in header})
    return frame, lines


def read_table(
    folder: Path,
    rel: str,
    table: TableSpec,
    display: Callable[[str], str],
    problems: list[Problem],
    files: dict[str, Path],
    hashes: dict[str, str],
    params: Mapping[str, Any],
    sets: Mapping[str, Any],
) -> Table:
    """Read a CSV table of a district folder and validate it against its spec.

    Parameters
    ----------
    folder : Path
        The district folder.
    rel : str
        The file, relative to ``folder``.
    table : TableSpec
        Its spec.
    display : callable
        Maps a file name relative to the folder to the name used in problems.
    problems : list of Problem
        Receives everything wrong with the file.
    files : dict of str to Path
        Receives ``rel`` -> path.
    hashes : dict of str to str
        Receives ``rel`` -> SHA-256 of the file.
    params, sets : mapping
        Passed to :func:`capacity.io.pandera_bridge.validate_table`.

    Returns
    -------
    Table
        The validated table (``frame`` is ``None`` on any problem).
    """
    path = folder / rel
    shown = display(rel)
    files[rel] = path
    read = read_csv_text(path, shown, problems, hashes, rel)
    if read is None:
        return Table(None, [])
    raw, lines = read
    frame, found = validate_table(raw, table, shown, lines=lines, params=params, sets=sets)
    problems.extend(found)
    return Table(frame, lines)
