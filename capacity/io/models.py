"""What valid inputs look like: pandera models of the tables, a pydantic model of the settings.

``docs/data-format.md`` describes the same files for people. Each table is a
:class:`pandera.pandas.DataFrameModel`: column types, ranges, allowed values and the key
columns (``Config.unique``, checked in linear time by :mod:`capacity.io.checks`). Two
things a static model cannot say are in a column's ``metadata``: ``{"le": "open_age"}``
(the bound is the ``open_age`` of the district) and ``{"references": "areas"}`` /
``{"references": "stages"}`` (a foreign key). :class:`Settings` is ``district.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

import pandera.pandas as pa
from pandera.typing.pandas import Series
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["PLAN_INDICATORS", "RENAMED_INDICATORS", "TABLES", "DistrictFile", "Settings", "TableInfo", "describe_column", "describe_key"]

SEXES = ["female", "male"]
SECTORS = ["public", "private"]
TEXT: dict[str, Any] = {"str_length": {"min_value": 1}}
OPEN_AGE: dict[str, Any] = {"metadata": {"le": "open_age"}}
#: Indicators of ``plan.csv`` and, for the shares, the stage named in its ``stage`` column.
PLAN_INDICATORS = ["need", "public_places_added", "public_affordable_share", "private_affordable_share"]
#: Old indicator names -> (new name, stage).
RENAMED_INDICATORS = {
    "kindergarten_public_affordable_share": ("public_affordable_share", "kindergarten"),
    "kindergarten_private_affordable_share": ("private_affordable_share", "kindergarten"),
}


class _Table(pa.DataFrameModel):
    class Config:
        strict = True


class Areas(_Table):
    """Properties of the features of the areas file."""

    area_code: Series[str] = pa.Field(**TEXT)
    name_zh: Series[str] = pa.Field(**TEXT)
    name_en: Series[str] = pa.Field(**TEXT)

    class Config:
        unique = ["area_code"]


class Stages(_Table):
    """``stages.csv``: school stages and enrolment."""

    stage: Series[str] = pa.Field(**TEXT)
    first_age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    last_age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    class_size: Series[int] = pa.Field(gt=0)
    enrolment_rate: Series[float] = pa.Field(ge=0, le=2)
    migrant_share: Series[float] = pa.Field(ge=0, le=1)
    local_public_share: Series[float] = pa.Field(ge=0, le=1)
    migrant_public_share: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        unique = ["stage"]


class Population(_Table):
    """``population.csv``: base population by area x sex x age."""

    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    population: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "sex", "age"]


class Fertility(_Table):
    """``fertility.csv``: age-specific fertility rates."""

    age: Series[int] = pa.Field(ge=10, le=55)
    rate: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        unique = ["age"]


class LifeTable(_Table):
    """``life_table.csv``: a period life table by sex x age."""

    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    lx: Series[float] = pa.Field(gt=0, le=100000)
    Lx: Series[float] = pa.Field(gt=0)

    class Config:
        unique = ["sex", "age"]


class Migration(_Table):
    """``migration.csv``: net migrants per year by area x sex x age."""

    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    net_migrants: Series[float]

    class Config:
        unique = ["area_code", "sex", "age"]


class Places(_Table):
    """``places.csv``: existing places by area x stage x sector."""

    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    stage: Series[str] = pa.Field(metadata={"references": "stages"})
    sector: Series[str] = pa.Field(isin=SECTORS)
    places: Series[int] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "stage", "sector"]


class Projects(_Table):
    """The projects table: one row per project and stage."""

    project_id: Series[str] = pa.Field(**TEXT)
    name_zh: Series[str] = pa.Field(**TEXT)
    name_en: Series[str]
    stage: Series[str] = pa.Field(metadata={"references": "stages"})
    places: Series[int] = pa.Field(gt=0)
    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    location_basis: Series[str] = pa.Field(**TEXT)
    location_confidence: Series[str] = pa.Field(isin=["high", "medium", "low"])
    kind: Series[str] = pa.Field(isin=["new", "expansion", "conversion"])
    ownership: Series[str] = pa.Field(isin=SECTORS)
    opening_year: Series[int] = pa.Field(ge=1990, le=2100)
    opening_year_basis: Series[str] = pa.Field(**TEXT)
    source: Series[str] = pa.Field(**TEXT)

    class Config:
        unique = ["project_id", "stage"]


class Plan(_Table):
    """``plan.csv`` (optional): the needs and targets of the district's plan."""

    indicator: Series[str] = pa.Field(isin=PLAN_INDICATORS)
    stage: Series[str]
    year: Series[int] = pa.Field(ge=1990, le=2100)
    value: Series[float] = pa.Field(ge=0)
    source: Series[str] = pa.Field(**TEXT)

    class Config:
        unique = ["indicator", "stage"]


class Sources(_Table):
    """``sources.csv``: where every figure of every file came from."""

    file: Series[str] = pa.Field(**TEXT)
    column: Series[str] = pa.Field(**TEXT)
    estimate: Series[str] = pa.Field(isin=["yes", "no"])
    source: Series[str] = pa.Field(**TEXT)
    method: Series[str]

    class Config:
        unique = ["file", "column"]


@dataclass(frozen=True)
class TableInfo:
    """A table of a district: its model, its file name and the fewest rows it may have."""

    model: type[pa.DataFrameModel]
    file: str
    min_rows: int = 1


#: The tables in reading order (the projects file is named by ``district.toml``).
TABLES: dict[str, TableInfo] = {
    "areas": TableInfo(Areas, "areas.geojson"),
    "stages": TableInfo(Stages, "stages.csv"),
    "population": TableInfo(Population, "population.csv"),
    "fertility": TableInfo(Fertility, "fertility.csv"),
    "life_table": TableInfo(LifeTable, "life_table.csv"),
    "migration": TableInfo(Migration, "migration.csv"),
    "places": TableInfo(Places, "places.csv", 0),
    "projects": TableInfo(Projects, "projects.csv", 0),
    "plan": TableInfo(Plan, "plan.csv"),
    "sources": TableInfo(Sources, "sources.csv"),
}

_ORIGINS = {"areas": "the area codes of the areas file", "stages": "the stages of stages.csv"}


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def describe_bounds(noun: str, integer: bool, ge: float | None, gt: float | None, le: float | None, lt: float | None) -> str:
    """``"an integer in 0..100"``, ``"a number in [0, 1]"``, ``"a number >= 0"`` ..."""
    lo = ("[", ">=", ge) if ge is not None else ("(", ">", gt) if gt is not None else None
    hi = ("]", "<=", le) if le is not None else (")", "<", lt) if lt is not None else None
    if lo and hi:
        if integer and lo[0] == "[" and hi[0] == "]":
            return f"{noun} in {_fmt(lo[2])}..{_fmt(hi[2])}"
        return f"{noun} in {lo[0]}{_fmt(lo[2])}, {_fmt(hi[2])}{hi[0]}"
    if lo or hi:
        _, op, bound = lo or hi  # type: ignore[misc]
        return f"{noun} {op} {_fmt(bound)}"
    return noun


def describe_column(column: pa.Column, values: tuple[str, ...] | None = None) -> str:
    """What a valid cell of a column looks like, to follow "expected".

    Parameters
    ----------
    column : pandera.pandas.Column
        The column of a schema built from a model (bounds already resolved).
    values : tuple of str, optional
        The values a foreign-key column may take (listed when there are at most 8).

    Returns
    -------
    str
    """
    stats = {check.name: check.statistics for check in column.checks}
    if "isin" in stats:
        return "one of " + ", ".join(f"'{v}'" for v in stats["isin"]["allowed_values"])
    origin = (column.metadata or {}).get("references")
    if origin is not None:
        listed = f" ({', '.join(repr(v) for v in values)})" if values is not None and 0 < len(values) <= 8 else ""
        return f"one of {_ORIGINS[origin]}{listed}"
    kind = str(column.dtype)
    if kind not in ("int64", "float64"):
        return "a non-empty text" if "str_length" in stats else "text"

    def bound(name: str, key: str) -> float | None:
        return stats[name][key] if name in stats else None

    return describe_bounds(
        "an integer" if kind == "int64" else "a number",
        kind == "int64",
        bound("greater_than_or_equal_to", "min_value"),
        bound("greater_than", "min_value"),
        bound("less_than_or_equal_to", "max_value"),
        bound("less_than", "max_value"),
    )


# ---------------------------------------------------------------------------- district.toml


def _inside(path: str) -> str:
    """A path relative to the district folder that stays inside it."""
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise ValueError("an absolute path")
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        raise ValueError("a path leaving the district folder ('..')")
    return path


NonEmpty = Annotated[str, Field(pattern=r"\S")]


class Settings(BaseModel):
    """The district's settings (``district.toml`` without the file keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: NonEmpty
    name_zh: str = ""
    code: NonEmpty
    base_year: Annotated[int, Field(ge=1990, le=2100)]
    open_age: Annotated[int, Field(ge=10, le=130)]
    sex_ratio_at_birth: Annotated[float, Field(ge=0.8, le=1.5, allow_inf_nan=False)]
    attribution: NonEmpty


class DistrictFile(Settings):
    """``district.toml``: the settings and the path of the projects table."""

    projects: Annotated[NonEmpty, AfterValidator(_inside)]


def describe_key(model: type[BaseModel], name: str) -> str:
    """What a valid value of a settings key looks like (``"an integer in 10..130"``)."""
    info = model.model_fields[name]
    if info.annotation is str:
        return "a path inside the district folder" if name == "projects" else "text" if not info.is_required() else "a non-empty text"
    bounds = {op: getattr(m, op) for m in info.metadata for op in ("ge", "gt", "le", "lt") if hasattr(m, op)}
    integer = info.annotation is int
    return describe_bounds("an integer" if integer else "a number", integer, bounds.get("ge"), bounds.get("gt"), bounds.get("le"), bounds.get("lt"))
