"""The input schema: ``schema.toml`` read into table, column and key specs.

The schema is kept as data in ``capacity/io/schema.toml``. This module reads it into
:class:`Schema`, :class:`TableSpec` and :class:`ColumnSpec` / :class:`KeySpec` objects,
which also say in words what a valid cell looks like (:meth:`ColumnSpec.describe`).

What is done with the specs lives next door, and the names are re-exported here:

- :mod:`capacity.io.cells`: the syntax of numeric cells and UTF-8 decoding
  (``parse_cell``, ``number_problem``, ``decode_text``);
- :mod:`capacity.io.pandera_bridge`: a table validated in two pandera passes
  (``validate_table``, ``cell_schema``, ``value_schema``, ``coerce``), imported on first
  use so that importing this module does not import pandera;
- :mod:`capacity.io.settings`: the keys of ``district.toml`` (``check_keys``).
"""

from __future__ import annotations

import operator
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from capacity.io.cells import decode_text, number_problem, parse_cell
from capacity.io.settings import check_keys

if TYPE_CHECKING:
    from capacity.io.pandera_bridge import validate_table

__all__ = [
    "ColumnSpec",
    "KeySpec",
    "Schema",
    "TableSpec",
    "check_keys",
    "decode_text",
    "load_schema",
    "number_problem",
    "parse_cell",
    "validate_table",
]

#: Names re-exported from :mod:`capacity.io.pandera_bridge`, imported on first use.
_PANDERA_BRIDGE = ("cell_schema", "coerce", "validate_table", "value_schema")


def __getattr__(name: str) -> Any:
    if name in _PANDERA_BRIDGE:
        from capacity.io import pandera_bridge

        return getattr(pandera_bridge, name)
    raise AttributeError(f"module 'capacity.io.schema' has no attribute {name!r}")


Bound = int | float | str | None

TYPES = ("text", "integer", "number")
_ORIGINS = {"areas": "the area codes of the areas file", "stages": "the stages of stages.csv"}
_COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {"ge": operator.ge, "gt": operator.gt, "le": operator.le, "lt": operator.lt}


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

    def admits(self, value: Any, params: Mapping[str, Any] | None = None) -> Any:
        """Whether a value, or each element of an array, lies within the bounds.

        Parameters
        ----------
        value : int, float or numpy.ndarray
            The value(s); NaN lies within no bound.
        params : mapping, optional
            Parameter values used to resolve symbolic bounds (see :meth:`bounds`).

        Returns
        -------
        bool or numpy.ndarray
            ``True`` (elementwise for an array) where every bound holds.
        """
        inside: Any = True
        for op, bound in self.bounds(params or {}).items():
            inside = inside & _COMPARISONS[op](value, bound)
        return inside

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

