"""The pandera bridge: one table validated against its spec in two lazy pandera passes.

1. *cells*, on the raw text of the file (:func:`cell_schema`): the header (missing and
   unknown columns), the syntax of every number, empty cells, allowed values and
   references to other tables;
2. *values*, on the coerced table (:func:`value_schema`): ranges and the uniqueness of the
   key columns.

Both passes collect every failure; :func:`validate_table` turns them into
:class:`capacity.errors.Problem` s naming the file, the row (the line number in the file,
the header being line 1), the column, what was expected and what was found. This is the
only module that imports pandera.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from capacity.errors import Problem
from capacity.io.cells import number_problem, parse_cell
from capacity.io.schema import ColumnSpec, TableSpec

__all__ = ["cell_schema", "coerce", "row_number", "validate_table", "value_schema"]


def _cell_check(good: Callable[[str], bool], name: str) -> pa.Check:
    """A check that ``good`` holds for every cell, taken as text."""

    def ok(series: pd.Series) -> pd.Series:
        return pd.Series([good(cell) for cell in series.astype(str).tolist()], index=series.index, dtype=bool)

    return pa.Check(ok, name=name)


def _text_check(spec: ColumnSpec, values: Collection[str] | None) -> pa.Check | None:
    """One check per text column: not empty (unless allowed), among the allowed values."""
    allowed = set(spec.allowed) if spec.allowed is not None else None
    if values is not None:
        allowed = set(values) if allowed is None else allowed & set(values)
    if spec.empty and allowed is None:
        return None
    return _cell_check(lambda cell: spec.empty if cell.strip() == "" else (allowed is None or cell in allowed), "text")


def _syntax_check(spec: ColumnSpec) -> pa.Check:
    """One check per numeric column: every cell a valid number of its type."""
    return _cell_check(lambda cell: parse_cell(spec, cell) is not None, f"syntax_{spec.type}")


def cell_schema(table: TableSpec, sets: Mapping[str, Collection[str] | None]) -> pa.DataFrameSchema:
    """The first-pass pandera schema, applied to the table as read (all cells text).

    One check per column: the number syntax of numeric columns; for text columns, not
    empty (unless ``empty``), among ``allowed`` and among the ``values_from`` set.

    Parameters
    ----------
    table : TableSpec
        The table.
    sets : mapping
        Value sets for ``values_from`` columns; a set that is ``None`` (its table failed to
        load) is not checked.

    Returns
    -------
    pandera.pandas.DataFrameSchema
    """
    columns: dict[str, pa.Column] = {}
    for spec in table.columns.values():
        if spec.numeric:
            check: pa.Check | None = _syntax_check(spec)
        else:
            values = sets.get(spec.values_from) if spec.values_from is not None else None
            check = _text_check(spec, values)
        checks = [check] if check is not None else []
        columns[spec.name] = pa.Column(checks=checks, required=spec.required, nullable=True)
    return pa.DataFrameSchema(columns, strict=True, name=table.name)


def _range_checks(spec: ColumnSpec, params: Mapping[str, Any]) -> list[pa.Check]:
    """One check for all the bounds of a numeric column (missing values pass)."""
    if not spec.bounds(params):
        return []

    def ok(series: pd.Series) -> pd.Series:
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore"):
            inside = spec.admits(x, params)
        return pd.Series(np.isnan(x) | inside, index=series.index, dtype=bool)

    return [pa.Check(ok, name="range")]


def value_schema(table: TableSpec, params: Mapping[str, Any], unique: bool = True) -> pa.DataFrameSchema:
    """The second-pass pandera schema, applied to the coerced table.

    Checks the ranges of numeric columns (cells that failed the first pass are missing
    values and are ignored here) and the uniqueness of the key columns.

    Parameters
    ----------
    table : TableSpec
        The table.
    params : mapping
        Parameter values for symbolic bounds.
    unique : bool
        Whether to check the uniqueness of the key columns (they must all be present).

    Returns
    -------
    pandera.pandas.DataFrameSchema
    """
    columns = {
        spec.name: pa.Column(checks=_range_checks(spec, params), required=False, nullable=True)
        for spec in table.columns.values()
        if spec.numeric
    }
    keys = list(table.unique) if unique and table.unique else None
    return pa.DataFrameSchema(columns, unique=keys, report_duplicates="exclude_first", name=table.name)


def coerce(raw: pd.DataFrame, table: TableSpec) -> pd.DataFrame:
    """Convert the numeric columns of a table read as text.

    Cells that are not valid numbers become missing values (the first pass reports them).

    Parameters
    ----------
    raw : pandas.DataFrame
        The table with text cells.
    table : TableSpec
        The table.

    Returns
    -------
    pandas.DataFrame
        Integer columns as ``Int64``, number columns as ``float64``, text unchanged.
    """
    out = raw.copy()
    for spec in table.columns.values():
        if spec.name not in out.columns or not spec.numeric:
            continue
        parsed = [parse_cell(spec, cell) for cell in out[spec.name].astype(str).tolist()]
        if spec.type == "integer":
            out[spec.name] = pd.array(parsed, dtype="Int64")
        else:
            out[spec.name] = np.array([np.nan if v is None else v for v in parsed], dtype=np.float64)
    return out


def _where(table: TableSpec, index: Any, lines: Sequence[int] | None) -> str:
    if index is None or (isinstance(index, float) and math.isnan(index)):
        return ""
    i = int(index)
    if lines is not None:
        return f"{table.row_label} {lines[i]}"
    return f"{table.row_label} {i + 1}"


def _failures(error: pa.errors.SchemaErrors) -> list[dict[str, Any]]:
    cases = error.failure_cases
    records = []
    for rec in cases.to_dict("records"):
        rec = {k: (None if _isna(v) else v) for k, v in rec.items()}
        records.append(rec)
    return records


def _isna(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _problems_from_cells(
    error: pa.errors.SchemaErrors,
    table: TableSpec,
    file: str,
    raw: pd.DataFrame,
    lines: Sequence[int] | None,
    params: Mapping[str, Any],
    sets: Mapping[str, Collection[str] | None],
) -> list[Problem]:
    problems: list[Problem] = []
    header = "row 1" if table.row_label == "row" else ""
    known = ", ".join(f"'{c}'" for c in table.columns)
    for rec in _failures(error):
        check = str(rec.get("check"))
        column = rec.get("column")
        index = rec.get("index")
        if check == "column_in_schema":
            name = str(rec["failure_case"])
            problems.append(Problem(file, header, name, f"expected only the columns {known}, found unknown column '{name}'"))
            continue
        if check == "column_in_dataframe":
            name = str(rec["failure_case"])
            problems.append(Problem(file, header, name, f"expected a column '{name}', found none"))
            continue
        spec = table.columns.get(str(column)) if column is not None else None
        where = _where(table, index, lines)
        value = str(raw.at[index, column]) if (index is not None and spec is not None) else str(rec.get("failure_case"))
        if spec is None:
            problems.append(Problem(file, where, str(column or ""), f"failed check {check}, found '{value}'"))
            continue
        desc = spec.describe(params, sets)
        if check.startswith("syntax_"):
            text = number_problem(spec, value, desc)
        elif value.strip() == "":
            text = f"expected {desc}, found an empty cell"
        else:
            text = f"expected {desc}, found '{value}'"
        problems.append(Problem(file, where, spec.name, text))
    return problems


def _problems_from_values(
    error: pa.errors.SchemaErrors,
    table: TableSpec,
    file: str,
    raw: pd.DataFrame,
    values: pd.DataFrame,
    lines: Sequence[int] | None,
    params: Mapping[str, Any],
) -> list[Problem]:
    problems: list[Problem] = []
    duplicates: set[Any] = set()
    for rec in _failures(error):
        check = str(rec.get("check"))
        column = rec.get("column")
        index = rec.get("index")
        where = _where(table, index, lines)
        if check in ("multiple_fields_uniqueness", "field_uniqueness"):
            if index is None or index in duplicates:
                continue
            duplicates.add(index)
            keys = list(table.unique)
            key_values = tuple(values.at[index, k] for k in keys)
            same = values[keys].eq(pd.Series(key_values, index=keys)).all(axis=1)
            first = same[same].index[0]
            found = ", ".join(f"{k}={raw.at[index, k]}" for k in keys)
            problems.append(
                Problem(
                    file,
                    where,
                    keys[-1],
                    f"expected one {table.row_label} per {' x '.join(keys)}, found a second one for {found} "
                    f"(first at {_where(table, first, lines)})",
                )
            )
            continue
        spec = table.columns.get(str(column)) if column is not None else None
        if spec is None or index is None:
            problems.append(Problem(file, where, str(column or ""), f"failed check {check}, found '{rec.get('failure_case')}'"))
            continue
        problems.append(Problem(file, where, spec.name, f"expected {spec.describe(params)}, found '{raw.at[index, spec.name]}'"))
    return problems


def row_number(problem: Problem) -> int:
    """Sort key of problems: the number of the row or feature they name (0 if none).

    Parameters
    ----------
    problem : Problem
        A problem whose ``where`` is ``"row N"``, ``"feature N"`` or anything else.

    Returns
    -------
    int
    """
    parts = problem.where.split()
    if len(parts) == 2 and parts[1].isdigit():
        return int(parts[1])
    return 0


def validate_table(
    raw: pd.DataFrame,
    table: TableSpec,
    file: str,
    *,
    lines: Sequence[int] | None = None,
    params: Mapping[str, Any] | None = None,
    sets: Mapping[str, Collection[str] | None] | None = None,
) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Validate a table read as text against its spec, collecting every problem.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table, all cells text, with a default ``RangeIndex``.
    table : TableSpec
        Its spec.
    file : str
        File name to put in problems.
    lines : sequence of int, optional
        Line number in the file of each row (defaults to the index + 1 for features).
    params : mapping, optional
        Parameter values for symbolic bounds (``open_age``); a missing parameter disables
        the bound.
    sets : mapping, optional
        Value sets for ``values_from`` columns.

    Returns
    -------
    frame : pandas.DataFrame or None
        The coerced table (integers as ``int64``, numbers as ``float64``, text as ``str``)
        in file order if there is no problem, else ``None``.
    problems : list of Problem
        Problems, header problems first, then by row.
    """
    params = params or {}
    sets = sets or {}
    problems: list[Problem] = []
    try:
        cell_schema(table, sets).validate(raw, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as error:
        problems.extend(_problems_from_cells(error, table, file, raw, lines, params, sets))
    values = coerce(raw, table)
    keys_present = all(c in values.columns for c in table.unique)
    try:
        value_schema(table, params, unique=keys_present).validate(values, lazy=True, inplace=True)
    except pa.errors.SchemaErrors as error:
        problems.extend(_problems_from_values(error, table, file, raw, values, lines, params))
    if len(raw) < table.min_rows:
        where = f"row {len(raw) + 2}" if table.row_label == "row" else ""
        problems.append(Problem(file, where, "", f"expected at least {table.min_rows} data {table.row_label}(s), found {len(raw)}"))
    problems.sort(key=row_number)
    if problems:
        return None, problems
    out = values[[c for c in table.columns if c in values.columns]].copy()
    for spec in table.columns.values():
        if spec.name not in out.columns:
            continue
        if spec.type == "integer":
            out[spec.name] = out[spec.name].astype(np.int64)
        elif spec.type == "number":
            out[spec.name] = out[spec.name].astype(np.float64)
        else:
            out[spec.name] = out[spec.name].astype(str)
    return out.reset_index(drop=True), []
