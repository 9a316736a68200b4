"""The candidate actions table (``candidates.csv``), described by a pandera model.

One row per action the optimiser may take (``docs/optimise.md``): a new school at a site
(``new_school``, one unit; options sharing a ``site`` exclude each other), whole classes
added at the existing schools of a street (``expansion``, permanent or, with
``duration_years > 0``, temporary) or rooms of one stage turned into classes of another
(``conversion``). Costs are in 10,000 CNY (万元) per unit. Every row names its ``source``
and says whether its figures are an ``estimate``: the table carries its own provenance.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace as _Row
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.typing.pandas import Series

from capacity.errors import InputError, Problem

__all__ = ["KINDS", "Candidates", "read_candidates"]

KINDS = ["new_school", "expansion", "conversion"]
COLUMNS = ["action_id", "kind", "area_code", "stage", "from_stage", "places_per_unit", "from_places_per_unit",
           "max_units", "max_units_per_year", "cost_per_unit", "earliest_year", "duration_years", "site",
           "estimate", "source"]


class Candidates(pa.DataFrameModel):
    """``candidates.csv``: actions the optimiser may choose, with their provenance."""

    action_id: Series[str] = pa.Field(str_length={"min_value": 1})
    kind: Series[str] = pa.Field(isin=KINDS)
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    stage: Series[str] = pa.Field(str_length={"min_value": 1})
    #: a conversion's source stage; empty otherwise
    from_stage: Series[str]
    #: places added per unit (a class: the stage's class size)
    places_per_unit: Series[float] = pa.Field(gt=0, le=1e5)
    #: places removed from ``from_stage`` per unit (conversions; 0 otherwise)
    from_places_per_unit: Series[float] = pa.Field(ge=0, le=1e5)
    max_units: Series[int] = pa.Field(ge=1, le=10_000)
    max_units_per_year: Series[int] = pa.Field(ge=1, le=10_000)
    #: 10,000 CNY per unit
    cost_per_unit: Series[float] = pa.Field(ge=0, le=1e7)
    earliest_year: Series[int] = pa.Field(ge=1990, le=2100)
    #: 0: permanent; else the years a temporary unit lasts
    duration_years: Series[int] = pa.Field(ge=0, le=100)
    #: options with the same site exclude each other; empty: none
    site: Series[str]
    estimate: Series[str] = pa.Field(isin=["yes", "no"])
    source: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        unique = ["action_id"]
        strict = True
        coerce = True


def read_candidates(path: str | Path, areas: Sequence[str], stages: Sequence[str], shown: str | None = None) -> pd.DataFrame:
    """Read and check a candidates table.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    areas, stages : sequence of str
        The district's area codes and stages (the foreign keys).
    shown : str, optional
        The file as named in errors (default ``path``).

    Returns
    -------
    DataFrame
        The columns of :class:`Candidates`, empty text as ``""``.

    Raises
    ------
    InputError
        One line naming the file, the row (line number), the column, what was expected
        and what was found.
    """
    name = shown or str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise InputError.one(name, "", "", "expected a candidates table (docs/optimise.md), found none") from None
    missing = [c for c in COLUMNS if c not in raw.columns]
    if missing:
        raise InputError.one(name, "header", missing[0], f"expected the column, found columns {', '.join(raw.columns)}")
    floats = ("places_per_unit", "from_places_per_unit", "cost_per_unit")
    for column in (*floats, "max_units", "max_units_per_year", "earliest_year", "duration_years"):
        numbers = pd.to_numeric(raw[column], errors="coerce")
        bad = numbers.isna() if column in floats else numbers.isna() | (numbers % 1 != 0)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            kind = "a number" if column in floats else "a whole number"
            raise InputError.one(name, f"row {i + 2}", column, f"expected {kind}, found {raw[column].iloc[i]!r}")
    try:
        table = Candidates.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as error:
        cases = error.failure_cases
        first = cases.iloc[0]
        column = str(first["column"]) if first["column"] is not None else ""
        index = first["index"]
        where = f"row {int(index) + 2}" if index is not None and index == index else "header"
        raise InputError.one(name, where, column, f"expected {first['check']}, found {first['failure_case']!r}") from None
    problems: list[Problem] = []
    records: list[dict[Any, Any]] = table.to_dict("records")
    for i, rec in enumerate(records):
        row = _Row(**rec)
        where = f"row {i + 2}"
        if row.area_code not in areas:
            problems.append(Problem(name, where, "area_code", f"expected one of the district's areas, found {row.area_code!r}"))
        if row.stage not in stages:
            problems.append(Problem(name, where, "stage", f"expected one of {', '.join(stages)}, found {row.stage!r}"))
        if row.kind == "conversion":
            if row.from_stage not in stages or row.from_stage == row.stage:
                problems.append(Problem(name, where, "from_stage",
                                        f"expected a stage other than {row.stage!r} for a conversion, found {row.from_stage!r}"))
        elif row.from_stage or row.from_places_per_unit:
            problems.append(Problem(name, where, "from_stage", f"expected empty (and from_places_per_unit 0) for kind {row.kind}, found {row.from_stage!r}"))
        if row.kind == "new_school" and row.max_units != 1:
            problems.append(Problem(name, where, "max_units", f"expected 1 for a new school, found {row.max_units}"))
    if problems:
        raise InputError(problems)
    return table
