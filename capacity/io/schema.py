"""The input schema: ``schema.toml`` read into specs, and pandera schemas built from them.

The schema is kept as data in ``capacity/io/schema.toml``. This module reads it into
:class:`TableSpec` / :class:`ColumnSpec` / :class:`KeySpec` objects and validates tables in
two pandera passes, both lazy (every failure is collected):

1. *cells*, on the raw text of the file: the header (missing and unknown columns), the
   syntax of every number, empty cells, allowed values and references to other tables;
2. *values*, on the coerced table: ranges and the uniqueness of the key columns.

Failures are turned into :class:`capacity.errors.Problem` s naming the file, the row (the
line number in the file, the header being line 1), the column, what was expected and what
was found.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from capacity.errors import Problem

__all__ = [
    "ColumnSpec",
    "KeySpec",
    "Schema",
    "TableSpec",
    "check_keys",
    "load_schema",
    "number_problem",
    "parse_cell",
    "validate_table",
]

Bound = int | float | str | None

TYPES = ("text", "integer", "number")
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}([,\u00a0 ']\d{3})+(\.\d*)?")
_ORIGINS = {"areas": "the area codes of the areas file", "stages": "the stages of stages.csv"}


def _fmt(value: float | int) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True)
class ColumnSpec:
    """One column of a table (or one key of ``district.toml``) as ``schema.toml`` gives it.

    Parameters
    ----------
    name : str
        Column name.
    type : str
        ``"text"``, ``"integer"`` or ``"number"``.
    required : bool
        The column must be present.
    empty : bool
        A cell may be empty.
    ge, gt, le, lt : int, float, str or None
        Bounds; a string names a parameter (a ``district.toml`` key such as ``open_age``).
    allowed : tuple of str or None
        Allowed values of a text column.
    values_from : str or None
        Name of a value set supplied at validation time (``"areas"``, ``"stages"``).
    """

    name: str
    type: str = "text"
    required: bool = True
    empty: bool = False
    ge: Bound = None
    gt: Bound = None
    le: Bound = None
    lt: Bound = None
    allowed: tuple[str, ...] | None = None
    values_from: str | None = None

    @property
    def numeric(self) -> bool:
        """Whether the column holds numbers (``integer`` or ``number``)."""
        return self.type in ("integer", "number")

    def bounds(self, params: Mapping[str, Any]) -> dict[str, float | int]:
        """The bounds with parameter names resolved; unresolvable bounds are left out.

        Parameters
        ----------
        params : mapping
            Parameter values, e.g. ``{"open_age": 100}``.

        Returns
        -------
        dict
            Keys among ``ge``, ``gt``, ``le``, ``lt``.
        """
        out: dict[str, float | int] = {}
        for op in ("ge", "gt", "le", "lt"):
            value = getattr(self, op)
            if isinstance(value, str):
                value = params.get(value)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    continue
            if value is not None:
                out[op] = value
        return out

    def describe(self, params: Mapping[str, Any] | None = None, sets: Mapping[str, Any] | None = None) -> str:
        """What a valid cell looks like, e.g. ``"an integer in 0..100"``.

        Parameters
        ----------
        params : mapping, optional
            Parameter values used to resolve symbolic bounds.
        sets : mapping, optional
            Value sets used to list the values of a ``values_from`` column.

        Returns
        -------
        str
            A phrase to follow "expected".
        """
        if self.type == "text":
            if self.allowed is not None:
                return "one of " + ", ".join(f"'{v}'" for v in self.allowed)
            if self.values_from is not None:
                origin = _ORIGINS.get(self.values_from, f"the values of {self.values_from}")
                values = (sets or {}).get(self.values_from)
                if values is not None and 0 < len(values) <= 8:
                    return f"one of {origin} (" + ", ".join(f"'{v}'" for v in values) + ")"
                return f"one of {origin}"
            return "text" if self.empty else "a non-empty text"
        noun = "an integer" if self.type == "integer" else "a number"
        b = self.bounds(params or {})
        lo = ("ge", b["ge"]) if "ge" in b else ("gt", b["gt"]) if "gt" in b else None
        hi = ("le", b["le"]) if "le" in b else ("lt", b["lt"]) if "lt" in b else None
        if lo and hi:
            if self.type == "integer" and lo[0] == "ge" and hi[0] == "le":
                return f"{noun} in {_fmt(lo[1])}..{_fmt(hi[1])}"
            left = "[" if lo[0] == "ge" else "("
            right = "]" if hi[0] == "le" else ")"
            return f"{noun} in {left}{_fmt(lo[1])}, {_fmt(hi[1])}{right}"
        if lo:
            return f"{noun} {'>=' if lo[0] == 'ge' else '>'} {_fmt(lo[1])}"
        if hi:
            return f"{noun} {'<=' if hi[0] == 'le' else '<'} {_fmt(hi[1])}"
        return noun


# A key of district.toml is described exactly like a column.
KeySpec = ColumnSpec


@dataclass(frozen=True)
class TableSpec:
    """One table of a district folder.

    Parameters
    ----------
    name : str
        Table name (``"population"``).
    file : str
        File name inside the district folder; empty when given by a ``district.toml`` key.
    file_key : str
        The ``district.toml`` key holding the file's path (``"projects"``), or empty.
    columns : dict of str to ColumnSpec
        The columns in documented order.
    unique : tuple of str
        Columns identifying a row.
    min_rows : int
        Fewest data rows allowed.
    row_label : str
        ``"row"`` (line number) or ``"feature"`` (1-based feature number).
    optional : bool
        The file may be absent.
    """

    name: str
    file: str
    file_key: str
    columns: dict[str, ColumnSpec]
    unique: tuple[str, ...] = ()
    min_rows: int = 1
    row_label: str = "row"
    optional: bool = False


@dataclass(frozen=True)
class Schema:
    """The whole input schema.

    Parameters
    ----------
    district_file : str
        Name of the district's settings file (``district.toml``).
    keys : dict of str to KeySpec
        The keys of ``district.toml``.
    tables : dict of str to TableSpec
        The tables, in the order they are loaded.
    """

    district_file: str
    keys: dict[str, KeySpec]
    tables: dict[str, TableSpec] = field(default_factory=dict)


_COLUMN_FIELDS = {"type", "required", "empty", "ge", "gt", "le", "lt", "allowed", "values_from"}
_TABLE_FIELDS = {"file", "file_key", "columns", "unique", "min_rows", "row_label", "optional"}


def _column(name: str, raw: Mapping[str, Any], where: str) -> ColumnSpec:
    unknown = set(raw) - _COLUMN_FIELDS
    if unknown:
        raise ValueError(f"schema.toml, {where}: unknown fields {sorted(unknown)}")
    if raw.get("type", "text") not in TYPES:
        raise ValueError(f"schema.toml, {where}: type must be one of {TYPES}")
    allowed = raw.get("allowed")
    return ColumnSpec(
        name=name,
        type=raw.get("type", "text"),
        required=bool(raw.get("required", True)),
        empty=bool(raw.get("empty", False)),
        ge=raw.get("ge"),
        gt=raw.get("gt"),
        le=raw.get("le"),
        lt=raw.get("lt"),
        allowed=None if allowed is None else tuple(str(v) for v in allowed),
        values_from=raw.get("values_from"),
    )


def parse_schema(doc: Mapping[str, Any]) -> Schema:
    """Build a :class:`Schema` from the parsed content of a ``schema.toml``.

    Parameters
    ----------
    doc : mapping
        The TOML document.

    Returns
    -------
    Schema
    """
    district = doc["district"]
    keys = {k: _column(k, v, f"district.keys.{k}") for k, v in district["keys"].items()}
    tables: dict[str, TableSpec] = {}
    for name, raw in doc["tables"].items():
        unknown = set(raw) - _TABLE_FIELDS
        if unknown:
            raise ValueError(f"schema.toml, tables.{name}: unknown fields {sorted(unknown)}")
        columns = {c: _column(c, v, f"tables.{name}.columns.{c}") for c, v in raw["columns"].items()}
        unique = tuple(raw.get("unique", ()))
        if not set(unique) <= set(columns):
            raise ValueError(f"schema.toml, tables.{name}: unique names unknown columns")
        tables[name] = TableSpec(
            name=name,
            file=raw.get("file", ""),
            file_key=raw.get("file_key", ""),
            columns=columns,
            unique=unique,
            min_rows=int(raw.get("min_rows", 1)),
            optional=bool(raw.get("optional", False)),
            row_label=raw.get("row_label", "row"),
        )
    return Schema(district_file=district["file"], keys=keys, tables=tables)


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """Read the packaged ``schema.toml``.

    Returns
    -------
    Schema
        The schema (cached; do not mutate).
    """
    text = resources.files("capacity.io").joinpath("schema.toml").read_text(encoding="utf-8")
    return parse_schema(tomllib.loads(text))


# ----------------------------------------------------------------------------- cells


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


def _text_check(spec: ColumnSpec, values: Collection[str] | None) -> pa.Check | None:
    """One check per text column: not empty (unless allowed), among the allowed values."""
    allowed = set(spec.allowed) if spec.allowed is not None else None
    if values is not None:
        allowed = set(values) if allowed is None else allowed & set(values)
    if spec.empty and allowed is None:
        return None

    def ok(series: pd.Series) -> pd.Series:
        good = [
            (spec.empty if cell.strip() == "" else (allowed is None or cell in allowed))
            for cell in series.astype(str).tolist()
        ]
        return pd.Series(good, index=series.index, dtype=bool)

    return pa.Check(ok, name="text")


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


def _syntax_check(spec: ColumnSpec) -> pa.Check:
    def ok(series: pd.Series) -> pd.Series:
        good = [parse_cell(spec, cell) is not None for cell in series.astype(str).tolist()]
        return pd.Series(good, index=series.index, dtype=bool)

    return pa.Check(ok, name=f"syntax_{spec.type}")


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
    b = spec.bounds(params)
    if not b:
        return []

    def ok(series: pd.Series) -> pd.Series:
        x = series.to_numpy(dtype=np.float64, na_value=np.nan)
        good = np.isnan(x)
        with np.errstate(invalid="ignore"):
            inside = np.ones(len(x), dtype=bool)
            if "ge" in b:
                inside &= x >= b["ge"]
            if "gt" in b:
                inside &= x > b["gt"]
            if "le" in b:
                inside &= x <= b["le"]
            if "lt" in b:
                inside &= x < b["lt"]
        return pd.Series(good | inside, index=series.index, dtype=bool)

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


def _row_number(problem: Problem) -> int:
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
    problems.sort(key=_row_number)
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


def check_keys(doc: Mapping[str, Any], keys: Mapping[str, KeySpec], file: str) -> list[Problem]:
    """Check the keys of a parsed TOML settings file against their specs.

    Parameters
    ----------
    doc : mapping
        The parsed document.
    keys : mapping of str to KeySpec
        The allowed keys.
    file : str
        File name to put in problems.

    Returns
    -------
    list of Problem
        Missing keys, unknown keys, wrong types and values out of range, in key order.
    """
    problems: list[Problem] = []
    for name, spec in keys.items():
        if name not in doc:
            if spec.required:
                problems.append(Problem(file, f"key {name}", "", f"expected {spec.describe()}, found no such key"))
            continue
        value = doc[name]
        desc = spec.describe()
        found = _toml_repr(value)
        if spec.type == "text":
            if not isinstance(value, str):
                problems.append(Problem(file, f"key {name}", "", f"expected {desc} (a quoted string), found {found}"))
            elif not spec.empty and value.strip() == "":
                problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found an empty string"))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = f"the text {found}" if isinstance(value, str) else found
            problems.append(Problem(file, f"key {name}", "", f"expected {desc} (unquoted), found {what}"))
            continue
        if spec.type == "integer" and not isinstance(value, int):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
            continue
        b = spec.bounds({})
        if (
            ("ge" in b and value < b["ge"])
            or ("gt" in b and value <= b["gt"])
            or ("le" in b and value > b["le"])
            or ("lt" in b and value >= b["lt"])
        ):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
    for name in doc:
        if name not in keys:
            allowed = ", ".join(keys)
            problems.append(Problem(file, f"key {name}", "", f"expected only the keys {allowed}, found unknown key '{name}'"))
    return problems


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"


# ----------------------------------------------------------------------------- text

_BOM = b"\xef\xbb\xbf"


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
