"""What valid inputs look like: pandera models of the tables, a pydantic model of the settings.

``docs/data-format.md`` describes the same files for people. Each table is a
:class:`pandera.pandas.DataFrameModel`: column types, ranges, allowed values and the key
columns (``Config.unique``, checked in linear time by :mod:`capacity.io.checks`). Two
things a static model cannot say are in a column's ``metadata``: ``{"le": "open_age"}``
(the bound is the ``open_age`` of the district) and ``{"references": "areas"}`` /
``{"references": "stages"}`` (a foreign key). :class:`Settings` is ``district.toml``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any

import pandera.pandas as pa
from pandera.typing.pandas import Series
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from capacity.errors import Problem

__all__ = ["PLAN_INDICATORS", "RENAMED_INDICATORS", "TABLES", "DistrictFile", "Settings", "TableInfo", "describe_column", "describe_key", "settings_problems"]

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


class Areas(pa.DataFrameModel):
    """Properties of the features of the areas file."""
    area_code: Series[str] = pa.Field(**TEXT)
    name_zh: Series[str] = pa.Field(**TEXT)
    name_en: Series[str] = pa.Field(**TEXT)

    class Config:
        unique = ["area_code"]


class Stages(pa.DataFrameModel):
    """``stages.csv``: school stages and enrolment."""
    stage: Series[str] = pa.Field(**TEXT)
    first_age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    last_age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    class_size: Series[int] = pa.Field(gt=0)
    enrolment_rate: Series[float] = pa.Field(ge=0, le=2)
    migrant_share: Series[float] = pa.Field(ge=0, le=1)
    local_public_share: Series[float] = pa.Field(ge=0, le=1)
    migrant_public_share: Series[float] = pa.Field(ge=0, le=1)
    #: optional: the stage's name in tables and figures (default: the stage, title-cased)
    label: Series[str] | None

    class Config:
        unique = ["stage"]


class Population(pa.DataFrameModel):
    """``population.csv``: base population by area x sex x age."""
    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    population: Series[float] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "sex", "age"]


class Fertility(pa.DataFrameModel):
    """``fertility.csv``: age-specific fertility rates."""
    age: Series[int] = pa.Field(ge=10, le=55)
    rate: Series[float] = pa.Field(ge=0, le=1)

    class Config:
        unique = ["age"]


class LifeTable(pa.DataFrameModel):
    """``life_table.csv``: a period life table by sex x age."""
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    lx: Series[float] = pa.Field(gt=0, le=100000)
    Lx: Series[float] = pa.Field(gt=0)

    class Config:
        unique = ["sex", "age"]


class Migration(pa.DataFrameModel):
    """``migration.csv``: net migrants per year by area x sex x age."""
    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(ge=0, le=130, **OPEN_AGE)
    net_migrants: Series[float]

    class Config:
        unique = ["area_code", "sex", "age"]


class Places(pa.DataFrameModel):
    """``places.csv``: existing places by area x stage x sector."""
    area_code: Series[str] = pa.Field(metadata={"references": "areas"})
    stage: Series[str] = pa.Field(metadata={"references": "stages"})
    sector: Series[str] = pa.Field(isin=SECTORS)
    places: Series[int] = pa.Field(ge=0)

    class Config:
        unique = ["area_code", "stage", "sector"]


class Projects(pa.DataFrameModel):
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


class Plan(pa.DataFrameModel):
    """``plan.csv`` (optional): the needs and targets of the district's plan."""
    indicator: Series[str] = pa.Field(isin=PLAN_INDICATORS)
    stage: Series[str]
    year: Series[int] = pa.Field(ge=1990, le=2100)
    value: Series[float] = pa.Field(ge=0)
    source: Series[str] = pa.Field(**TEXT)

    class Config:
        unique = ["indicator", "stage"]


class Sources(pa.DataFrameModel):
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


def describe_bounds(integer: bool, bounds: dict[str, float]) -> str:
    """``"an integer in 0..100"``, ``"a number in [0, 1]"``, ``"a number >= 0"`` ... from bounds ``ge``, ``gt``, ``le``, ``lt``."""
    noun = "an integer" if integer else "a number"
    lo = next((("[" if op == "ge" else "(", ">=" if op == "ge" else ">", bounds[op]) for op in ("ge", "gt") if op in bounds), None)
    hi = next((("]" if op == "le" else ")", "<=" if op == "le" else "<", bounds[op]) for op in ("le", "lt") if op in bounds), None)
    if lo and hi:
        if integer and lo[0] == "[" and hi[0] == "]":
            return f"{noun} in {_fmt(lo[2])}..{_fmt(hi[2])}"
        return f"{noun} in {lo[0]}{_fmt(lo[2])}, {_fmt(hi[2])}{hi[0]}"
    return f"{noun} {(lo or hi)[1]} {_fmt((lo or hi)[2])}" if lo or hi else noun  # type: ignore[index]


_CHECKS = {"greater_than_or_equal_to": "ge", "greater_than": "gt", "less_than_or_equal_to": "le", "less_than": "lt"}


def describe_column(column: pa.Column, values: tuple[str, ...] | None = None) -> str:
    """What a valid cell of a schema's column looks like, to follow "expected".

    ``values``: the values a foreign-key column may take, listed when at most 8.
    """
    stats = {check.name: check.statistics for check in column.checks}
    origin = (column.metadata or {}).get("references")
    if "isin" in stats:
        return "one of " + ", ".join(f"'{v}'" for v in stats["isin"]["allowed_values"])
    if origin is not None:
        listed = f" ({', '.join(repr(v) for v in values)})" if values is not None and 0 < len(values) <= 8 else ""
        return f"one of {_ORIGINS[origin]}{listed}"
    if str(column.dtype) not in ("int64", "float64"):
        return "a non-empty text" if "str_length" in stats else "text"
    bounds = {op: next(iter(stats[name].values())) for name, op in _CHECKS.items() if name in stats}
    return describe_bounds(str(column.dtype) == "int64", bounds)


# ---------------------------------------------------------------------------- district.toml


def _inside(path: str) -> str:
    """A path relative to the district folder that stays inside it."""
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise ValueError("an absolute path")
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        raise ValueError("a path leaving the district folder ('..')")
    return path


NonEmpty = Annotated[str, Field(pattern=r"\S")]


def _language(value: str) -> str:
    if value not in ("", "en", "zh"):
        raise ValueError("the outputs' default language is en or zh")
    return value


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
    language: Annotated[str, AfterValidator(_language)] = ""  # the outputs' default language (capacity.i18n)


def describe_key(model: type[BaseModel], name: str) -> str:
    """What a valid value of a settings key looks like (``"an integer in 10..130"``)."""
    info = model.model_fields[name]
    if info.annotation is str:
        return "a path inside the district folder" if name == "projects" else "text" if not info.is_required() else "a non-empty text"
    return describe_bounds(info.annotation is int, {op: getattr(m, op) for m in info.metadata for op in ("ge", "gt", "le", "lt") if hasattr(m, op)})


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, int | float):
        return repr(value)
    return "a table" if isinstance(value, dict) else "an array" if isinstance(value, list) else f"a {type(value).__name__}"


def settings_problems(model: type[BaseModel], doc: Mapping[str, Any], file: str, noun: str, problems: list[Problem]) -> dict[str, Any]:
    """Check settings against their pydantic model, one problem per bad key; the valid keys and values.

    ``model`` is :class:`DistrictFile` (``district.toml``, ``noun`` ``"key"``) or
    :class:`Settings` (a District's attributes, ``noun`` ``"attribute"``); ``file`` names
    the file (or ``"District"``) in problems.
    """
    try:
        model.model_validate(doc)
        return dict(doc)
    except ValidationError as error:
        bad = {str(e["loc"][0]): e for e in reversed(error.errors()) if e["loc"]}
    for name, info in model.model_fields.items():
        if name not in bad:
            continue
        desc, value, kind = describe_key(model, name), doc.get(name), bad[name]["type"]
        if kind == "missing":
            text = f"expected {desc}, found no such key"
        elif info.annotation is str and not isinstance(value, str):
            text = f"expected {desc} (a quoted string), found {_toml_repr(value)}"
        elif info.annotation is str and kind == "value_error":
            text = f"expected {desc}, found {_toml_repr(value)}: {bad[name]['msg'].removeprefix('Value error, ')}"
        elif info.annotation is str:
            text = f"expected {desc}, found an empty string"
        elif isinstance(value, bool | str) or not isinstance(value, int | float):
            text = f"expected {desc} (unquoted), found {'the text ' if isinstance(value, str) else ''}{_toml_repr(value)}"
        else:
            text = f"expected {desc}, found {_toml_repr(value)}"
        problems.append(Problem(file, f"{noun} {name}", "", text))
    allowed = ", ".join(model.model_fields)
    for name in doc:
        if name not in model.model_fields:
            problems.append(Problem(file, f"{noun} {name}", "", f"expected only the keys {allowed}, found unknown key '{name}'"))
    return {k: v for k, v in doc.items() if k in model.model_fields and k not in bad}
