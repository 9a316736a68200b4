"""The history format for backtests: pandera models, ``history.toml`` and reading to arrays.

A history folder (``docs/data-format.md``, "History for backtests") holds

* ``history.toml`` -- the set's name, the enrolment's level kind and the stages scored;
* ``areas.csv`` -- ``area_code, area_name, border_change, note``;
* ``population.csv`` (optional) -- ``area_code, year, sex, age, population``, single years
  of age, counted on the same date every year; ``sex`` female and male, or ``both`` in
  every row (both sexes counted together);
* ``women.csv`` (with a population by ``both`` sexes) -- ``area_code, year, women``: women
  aged 15-49 on the same date, for the child-woman ratio;
* ``births.csv`` (optional) -- ``area_code, year, births``: births in the 12 months ending
  on that date;
* ``enrolment.csv`` (optional) -- ``area_code, year, level, pupils``, ``level`` a grade
  (kindergarten 0) or an age.

:func:`read_history` turns the folder into :class:`Table` arrays, axis order
``(year, area, sex, level)``; missing cells (a year absent from the source) are NaN. A
district's own ``history/`` folder is read with the district
(:mod:`capacity.forecast.district_history`).
"""

from __future__ import annotations

import hashlib
import io
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors
from pandera.typing.pandas import Series
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from capacity.errors import InputError
from capacity.problems import key_problems

__all__ = ["History", "HistoryFile", "StageSpec", "Table", "read_history", "validate_frames"]

Array = np.ndarray
SEXES = ["female", "male"]
#: ``sex`` of a population counted for both sexes together (then in every row).
BOTH = "both"


class HistoryAreas(pa.DataFrameModel):
    """``areas.csv``: the areas of a history and whether their borders changed."""
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    area_name: Series[str]
    border_change: Series[bool]
    note: Series[str] = pa.Field(nullable=True)

    class Config:
        unique = ["area_code"]


class HistoryPopulation(pa.DataFrameModel):
    """``population.csv``: persons by area x year x sex x single year of age."""
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[int] = pa.Field(ge=1900, le=2100)
    sex: Series[str] = pa.Field(isin=[*SEXES, BOTH])
    age: Series[int] = pa.Field(ge=0, le=130)
    population: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "year", "sex", "age"]


class HistoryBirths(pa.DataFrameModel):
    """``births.csv``: live births by area x year (12 months ending on the count date)."""
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[int] = pa.Field(ge=1900, le=2100)
    births: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "year"]


class HistoryWomen(pa.DataFrameModel):
    """``women.csv``: women aged 15-49 by area x year (with a population by both sexes)."""
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[int] = pa.Field(ge=1900, le=2100)
    women: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "year"]


class HistoryEnrolment(pa.DataFrameModel):
    """``enrolment.csv``: pupils by area (or school) x year x level (grade or age)."""
    area_code: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[int] = pa.Field(ge=1900, le=2100)
    level: Series[int] = pa.Field(ge=-1, le=30)
    pupils: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "year", "level"]


MODELS: dict[str, type[pa.DataFrameModel]] = {
    "areas": HistoryAreas, "population": HistoryPopulation,
    "births": HistoryBirths, "enrolment": HistoryEnrolment, "women": HistoryWomen,
}


class StageSpec(BaseModel):
    """One ``[[stages]]`` table: a scored group of ages or levels of one table."""
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    stage: Annotated[str, Field(pattern=r"\S")]
    table: Literal["population", "enrolment"]
    first: Annotated[int, Field(ge=-1, le=130)]
    last: Annotated[int, Field(ge=-1, le=130)]


class HistoryFile(BaseModel):
    """``history.toml``."""
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    name: Annotated[str, Field(pattern=r"\S")]
    source: str = ""
    #: "grade" (kindergarten 0) or "age": what ``enrolment.csv``'s ``level`` counts
    enrolment_by: Literal["grade", "age"] = "grade"
    #: years from birth to the entry level (births of year t - lag enter at t); 0: none
    entry_lag: Annotated[int, Field(ge=0, le=20)] = 0
    #: whether the last enrolment level is open (pupils of that level and older)
    open_last_level: bool = False
    #: past years averaged by the naive ratio method
    naive_years: Annotated[int, Field(ge=1, le=20)] = 5
    stages: list[StageSpec]


@dataclass(frozen=True)
class Table:
    """One table of a history as arrays.

    Attributes
    ----------
    kind : {"population", "enrolment"}
    years : ndarray of int, shape (year,)
        Consecutive years, first to last of the table.
    areas : tuple of str
    levels : ndarray of int, shape (level,)
        Consecutive ages (population, 0 .. last) or levels (enrolment).
    counts : ndarray, shape (year, area, sex, level)
        Persons; sex length 2 (female, male) for population, 1 for enrolment or for a
        population by both sexes; NaN where the source has no row for that year and area.
    open_last : bool
        The last level holds that level and all above (population: always).
    births : ndarray, shape (year, area) or None
        Births of the 12 months ending in ``years[i]`` (enrolment with an entry lag).
    entry_lag : int
        Births of year ``t - entry_lag`` enter level ``levels[0]`` in year ``t``.
    women : ndarray, shape (year, area) or None
        Women aged 15-49 (persons) of a population by both sexes, which has no female
        rows to take them from; None otherwise.
    """

    kind: str
    years: Array
    areas: tuple[str, ...]
    levels: Array
    counts: Array
    open_last: bool
    births: Array | None = None
    entry_lag: int = 0
    women: Array | None = None

    def year_index(self, year: int) -> int:
        """Position of ``year`` on the year axis."""
        return int(year) - int(self.years[0])


@dataclass(frozen=True)
class History:
    """A history folder, read: its settings, areas and tables.

    ``rows`` (when read from files): the rows of ``population.csv`` per (year, area) of the
    population table, to tell a complete year from one with ages left out (read as 0).
    """
    settings: HistoryFile
    areas: pd.DataFrame
    tables: dict[str, Table]
    rows: Array | None = None


_TEXTS = {"int64": "a whole number", "float64": "a number", "bool": "True or False"}
_BOUNDS = {"greater_than_or_equal_to": ">=", "less_than_or_equal_to": "<=", "greater_than": ">", "less_than": "<"}


def _expected(check: str) -> str:
    """What a pandera check asks for, in words (``greater_than_or_equal_to(0)`` -> ``a number >= 0``)."""
    name, _, arg = check.partition("(")
    arg = arg.rstrip(")")
    if name in _BOUNDS:
        return f"a number {_BOUNDS[name]} {arg}"
    if name == "isin":
        return "one of " + arg.strip("[]")
    if name == "str_length":
        return "a non-empty text"
    if name == "multiple_fields_uniqueness":
        return "each key once, found it again"
    if name == "column_in_dataframe":
        return "the column (a header cell)"
    if name == "dtype":
        return _TEXTS.get(arg.strip("'"), arg)
    return check


def _problem(name: str, error: SchemaError | SchemaErrors, prefix: str = "") -> InputError:
    name = prefix + name
    cases = error.failure_cases
    if isinstance(cases, pd.DataFrame) and len(cases):
        first = cases.iloc[0]
        index = first.get("index")
        row = f"row {int(index) + 2}" if index is not None and pd.notna(index) else ""
        column = str(first.get("column") or "")
        check = str(first.get("check"))
        if check == "multiple_fields_uniqueness":
            return InputError.one(f"{name}.csv", row, column, "expected each key once, found a repeat")
        case = first.get("failure_case")
        case = case.item() if isinstance(case, np.generic) else case
        found = "no such column" if check == "column_in_dataframe" else repr(case)
        return InputError.one(f"{name}.csv", row, column, f"expected {_expected(str(first.get('check')))}, found {found}")
    return InputError.one(f"{name}.csv", "", "", f"expected a valid table, found {error}")


def _coerce(name: str, frame: pd.DataFrame, model: type[pa.DataFrameModel], prefix: str = "") -> pd.DataFrame:
    """Numbers and booleans from their text, naming the first cell that is neither."""
    name = prefix + name
    frame = frame.copy()
    for column, spec in model.to_schema().columns.items():
        if column not in frame.columns:
            raise InputError.one(f"{name}.csv", "", str(column), "expected the column (a header cell), found no such column")
        kind = str(spec.dtype)
        raw = frame[column]
        if kind in ("int64", "float64"):
            value = pd.to_numeric(raw, errors="coerce")
            bad = value.isna() | (~np.isfinite(value.astype(float)))
            if kind == "int64":
                bad |= value.astype(float) % 1 != 0
        elif kind == "bool":
            text = raw.astype(str).str.strip().str.lower()
            value = text.map({"true": True, "false": False, "1": True, "0": False})
            bad = value.isna()
        else:
            continue
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError.one(f"{name}.csv", f"row {row + 2}", str(column), f"expected {_TEXTS[kind]}, found {raw.iloc[row]!r}")
        frame[column] = value.astype(kind)
    return frame


def validate_frames(frames: dict[str, pd.DataFrame], prefix: str = "") -> dict[str, pd.DataFrame]:
    """Validate history tables against their pandera models (one-line :class:`InputError`).

    Rows are named as in a file: ``row 2`` is the first row under the header; files as
    ``prefix + name + ".csv"`` (``prefix`` e.g. ``"district/history/"``).
    """
    out: dict[str, pd.DataFrame] = {}
    for name, frame in frames.items():
        model = MODELS[name]
        frame = _coerce(name, frame.reset_index(drop=True), model, prefix)
        keys = [str(k) for k in getattr(model.Config, "unique", [])]
        repeated = frame.duplicated(keys)
        if repeated.any():
            row = int(np.flatnonzero(repeated.to_numpy())[0])
            first = int(np.flatnonzero((frame[keys] == frame[keys].iloc[row]).all(axis=1).to_numpy())[0])
            raise InputError.one(f"{prefix}{name}.csv", f"row {row + 2}", ", ".join(keys),
                                 f"expected each key once, found a repeat of row {first + 2}")
        try:
            out[name] = model.validate(frame, lazy=True)
        except (SchemaError, SchemaErrors) as error:
            raise _problem(name, error, prefix) from None
    return out


def _grid(name: str, frame: pd.DataFrame, value: str, levels_col: str, sexes: list[str] | None,
          areas: tuple[str, ...], prefix: str = "") -> tuple[Array, Array, Array]:
    years = np.arange(int(frame["year"].min()), int(frame["year"].max()) + 1)
    levels = np.arange(int(frame[levels_col].min()), int(frame[levels_col].max()) + 1)
    n_sex = len(sexes) if sexes else 1
    counts = np.full((len(years), len(areas), n_sex, len(levels)), np.nan)
    area_pos = {a: i for i, a in enumerate(areas)}
    a = frame["area_code"].map(area_pos).to_numpy()
    if np.isnan(a.astype(float)).any():
        row = int(np.flatnonzero(pd.isna(a))[0])
        raise InputError.one(f"{prefix}{name}.csv", f"row {row + 2}", "area_code",
                             f"expected an area code of areas.csv, found {frame['area_code'].iloc[row]!r}")
    y = frame["year"].to_numpy() - years[0]
    s = frame["sex"].map({x: i for i, x in enumerate(sexes)}).to_numpy() if sexes else np.zeros(len(frame), int)
    lv = frame[levels_col].to_numpy() - levels[0]
    present = np.zeros((len(years), len(areas)), bool)
    present[y, a.astype(int)] = True
    counts[present] = 0.0
    np.add.at(counts, (y, a.astype(int), s.astype(int), lv), frame[value].to_numpy(float))
    return years, levels, counts


def _population(frames: dict[str, pd.DataFrame], areas: tuple[str, ...], prefix: str = "") -> Table:
    """The population table; by both sexes (``sex = both`` in every row) with ``women.csv``."""
    frame = frames["population"]
    both = (frame["sex"] == BOTH).to_numpy()
    if both.any() and not both.all():
        row = int(np.flatnonzero(both != both[0])[0])
        raise InputError.one(f"{prefix}population.csv", f"row {row + 2}", "sex",
                             f"expected {frame['sex'].iloc[0]!r} as in row 2 (both sexes in every row, or female and "
                             f"male in every row), found {frame['sex'].iloc[row]!r}")
    years, ages, counts = _grid("population", frame, "population", "age", [BOTH] if both.all() else SEXES, areas, prefix)
    if ages[0] != 0:
        raise InputError.one(f"{prefix}population.csv", "", "age", f"expected ages from 0, found {ages[0]} first")
    women = None
    if both.all():
        if "women" not in frames:
            raise InputError.one(f"{prefix}women.csv", "", "", "expected women aged 15-49 by area and year with a population "
                                 "by both sexes (population.csv sex = both), found no such file")
        w = frames["women"].assign(level=0, sex=BOTH)
        w_years, _, w_counts = _grid("women", w, "women", "level", [BOTH], areas, prefix)
        women = np.full((len(years), len(areas)), np.nan)
        lo, hi = max(w_years[0], years[0]), min(w_years[-1], years[-1])
        if lo <= hi:
            women[lo - years[0]: hi - years[0] + 1] = w_counts[lo - w_years[0]: hi - w_years[0] + 1, :, 0, 0]
    return Table("population", years, areas, ages, counts, True, women=women)


def _text(path: Path, shown: str, digests: dict[str, str]) -> str:
    """A file's text as strict UTF-8 (a byte-order mark dropped); its SHA-256 in ``digests`` by file name."""
    data = path.read_bytes()
    digests[path.name] = hashlib.sha256(data).hexdigest()
    try:
        return data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise InputError.one(shown, f"row {line}", "", f"expected UTF-8 text, found bytes {data[error.start:error.start + 2].hex(' ')} "
                             f"at byte offset {error.start} that are not UTF-8; re-save the file as UTF-8") from None


def _table(path: Path, shown: str, digests: dict[str, str]) -> pd.DataFrame:
    """A CSV file as text cells (one-line :class:`InputError` if it is not UTF-8 or not CSV)."""
    text = _text(path, shown, digests)
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError.one(shown, "", "", f"expected a CSV table with a header row, found: {' '.join(str(error).split())}") from None
    if not len(frame):
        raise InputError.one(shown, "row 2", "", "expected at least one row under the header, found none")
    return frame


def read_history(folder: str | Path, shown: str | None = None, hashes: dict[str, str] | None = None) -> History:
    """Read and validate a history folder.

    Parameters
    ----------
    folder : str or Path
        The history folder.
    shown : str, optional
        The folder as problems name it (``district/history``): files are then named
        ``shown/population.csv``; by default ``history.toml`` by its path and the tables by
        their file name alone.
    hashes : dict, optional
        Filled with the SHA-256 of every file read, by file name (``population.csv``).

    Raises
    ------
    InputError
        A missing or malformed file, key or cell (one line naming it).
    """
    root = Path(folder)
    prefix = "" if shown is None else os.path.join(shown, "")
    toml_path = root / "history.toml"
    toml_shown = str(toml_path) if shown is None else prefix + "history.toml"
    digests = hashes if hashes is not None else {}
    if not toml_path.is_file():
        raise InputError.one(toml_shown, "", "", "expected a history folder holding history.toml, found no such file")
    try:
        settings = HistoryFile.model_validate(tomllib.loads(_text(toml_path, toml_shown, digests)))
    except tomllib.TOMLDecodeError as error:
        raise InputError.one(toml_shown, "", "", f"expected TOML, found {error}") from None
    except ValidationError as error:
        raise InputError(key_problems(error.errors(), toml_shown, HistoryFile)) from None
    frames = {}
    for name in MODELS:
        path = root / f"{name}.csv"
        if path.is_file():
            frames[name] = _table(path, f"{prefix}{name}.csv", digests)
        elif name == "areas":
            raise InputError.one(str(path) if shown is None else f"{prefix}areas.csv", "", "",
                                 "expected the areas of the history, found no such file")
    frames = validate_frames(frames, prefix)
    areas_frame = frames["areas"]
    areas = tuple(str(a) for a in areas_frame["area_code"])
    tables: dict[str, Table] = {}
    rows: Array | None = None
    if "population" in frames:
        table = tables["population"] = _population(frames, areas, prefix)
        pop = frames["population"]
        rows = np.zeros(table.counts.shape[:2], dtype=np.int64)
        np.add.at(rows, (pop["year"].to_numpy() - table.years[0], pop["area_code"].map({c: i for i, c in enumerate(areas)}).to_numpy()), 1)
    if "enrolment" in frames:
        years, levels, counts = _grid("enrolment", frames["enrolment"], "pupils", "level", None, areas, prefix)
        births = None
        if "births" in frames and settings.entry_lag > 0:
            b = frames["births"].assign(level=0, sex="female")
            b_years, _, b_counts = _grid("births", b, "births", "level", None, areas, prefix)
            births = np.full((len(years), len(areas)), np.nan)
            lo, hi = max(b_years[0], years[0]), min(b_years[-1], years[-1])
            if lo <= hi:
                births[lo - years[0]: hi - years[0] + 1] = b_counts[lo - b_years[0]: hi - b_years[0] + 1, :, 0, 0]
        tables["enrolment"] = Table("enrolment", years, areas, levels, counts, settings.open_last_level,
                                    births, settings.entry_lag)
    for spec in settings.stages:
        if spec.table not in tables:
            raise InputError.one(toml_shown, f"key stages.{spec.stage}", "table",
                                 f"expected a table the folder holds ({', '.join(tables) or 'none'}), found {spec.table!r}")
    return History(settings, areas_frame, tables, rows)
