"""What valid inputs look like: pandera models of the tables, a pydantic model of the settings.

``docs/data-format.md`` describes the same files for people, with the reason for each bound. A column's ``metadata`` says
what a static model cannot: ``{"le": "open_age"}`` (the bound is the district's ``open_age``) and ``{"references": "areas"}``
/ ``"stages"`` (a foreign key). :data:`TABLES` names each table's file and key columns (checked in linear time by
:mod:`capacity.io.checks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath
from typing import Annotated, Any, Literal

import pandera.pandas as pa
from pandera.typing.pandas import Series
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from capacity.errors import Problem
from capacity.problems import fmt, key_problems

__all__ = ["OBSERVED_INDICATORS", "OBSERVED_SHARES", "OPTIONAL_TABLES", "PLAN_INDICATORS", "RENAMED_INDICATORS", "TABLES", "DistrictFile", "Settings", "TableInfo", "describe_bounds", "describe_column", "settings_problems"]

_ORIGINS = {"areas": "the area codes of the areas file", "stages": "the stages of stages.csv"}
_CHECKS = {"greater_than_or_equal_to": "ge", "greater_than": "gt", "less_than_or_equal_to": "le", "less_than": "lt"}


def describe_bounds(integer: bool, bounds: Mapping[str, float]) -> str:
    """``"an integer in 0..100"``, ``"a number in [0, 1]"``, ``"a number >= 0"`` ... from bounds ``ge``, ``gt``, ``le``, ``lt``."""
    noun = "an integer" if integer else "a number"
    if integer and "gt" in bounds:  # > 0 is 1.. for an integer
        bounds = {"ge": bounds["gt"] + 1, **{op: v for op, v in bounds.items() if op != "gt"}}
    lo = next(((op, bounds[op]) for op in ("ge", "gt") if op in bounds), None)
    hi = next(((op, bounds[op]) for op in ("le", "lt") if op in bounds), None)
    if lo and hi and integer and (lo[0], hi[0]) == ("ge", "le"):
        return f"{noun} in {fmt(lo[1])}..{fmt(hi[1])}"
    if lo and hi:
        return f"{noun} in {'[' if lo[0] == 'ge' else '('}{fmt(lo[1])}, {fmt(hi[1])}{']' if hi[0] == 'le' else ')'}"
    signs = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    return f"{noun} {signs[(lo or hi)[0]]} {fmt((lo or hi)[1])}" if lo or hi else noun  # type: ignore[index]


def describe_column(column: pa.Column) -> str:
    """What a valid cell of a schema's column looks like, to follow "expected" (a foreign key's values listed when at most 8)."""
    stats = {check.name: check.statistics for check in column.checks}
    values = stats.get("isin", {}).get("allowed_values")
    if (column.metadata or {}).get("references") is not None:
        listed = f" ({', '.join(repr(v) for v in values)})" if values is not None and 0 < len(values) <= 8 else ""
        return f"one of {_ORIGINS[column.metadata['references']]}{listed}"
    if values is not None:
        return "one of " + ", ".join(f"'{v}'" for v in values)
    if str(column.dtype) not in ("int64", "float64"):
        return "a non-empty text" if "str_length" in stats else "text"
    return describe_bounds(str(column.dtype) == "int64", {op: next(iter(stats[n].values())) for n, op in _CHECKS.items() if n in stats})


#: Sex codes along the sex axis: index 0 = female, 1 = male.
SEXES: tuple[str, str] = ("female", "male")
#: Sectors along the sector axis: index 0 = public, 1 = private.
SECTORS: tuple[str, str] = ("public", "private")
TEXT: dict[str, Any] = {"str_length": {"min_value": 1}}
AGE: dict[str, Any] = {"ge": 0, "le": 130, "metadata": {"le": "open_age"}}
AREA: dict[str, Any] = {"metadata": {"references": "areas"}}
STAGE: dict[str, Any] = {"metadata": {"references": "stages"}}
#: Net migrants per area x sex x age cell and year may exceed the cell's population by at most this many.
MIGRATION_MARGIN = 10_000
#: Indicators of ``plan.csv`` and, for the shares, the stage named in its ``stage`` column.
PLAN_INDICATORS = ["need", "public_places_added", "public_affordable_share", "private_affordable_share"]
#: Indicators of ``observed.csv``: persons, live births in the year, pupils enrolled, pupils entering the stage's first grade, places,
#: share of the stage's enrolled children in public places.
OBSERVED_INDICATORS = ["population", "births", "enrolment", "intake", "places", "public_share"]
#: Indicators of ``observed.csv`` that are shares in [0, 1] of a stage (``stage`` required).
OBSERVED_SHARES = ["public_share"]
#: Tables a district may leave out.
OPTIONAL_TABLES = ("plan", "observed")
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


class Stages(pa.DataFrameModel):
    """``stages.csv``: school stages and enrolment."""
    stage: Series[str] = pa.Field(**TEXT)
    first_age: Series[int] = pa.Field(**AGE)
    last_age: Series[int] = pa.Field(**AGE)
    class_size: Series[int] = pa.Field(gt=0, le=100)
    enrolment_rate: Series[float] = pa.Field(ge=0, le=2)
    migrant_share: Series[float] = pa.Field(ge=0, le=1)
    local_public_share: Series[float] = pa.Field(ge=0, le=1)
    migrant_public_share: Series[float] = pa.Field(ge=0, le=1)
    #: optional: the stage's name in tables and figures (default: the stage, title-cased)
    label: Series[str] | None


class Cells(pa.DataFrameModel):
    """The key columns of a table by area x sex x age."""
    area_code: Series[str] = pa.Field(**AREA)
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(**AGE)


class Population(Cells):
    """``population.csv``: base population by area x sex x age."""
    population: Series[float] = pa.Field(ge=0, le=1e6)


class Fertility(pa.DataFrameModel):
    """``fertility.csv``: age-specific fertility rates."""
    age: Series[int] = pa.Field(ge=10, le=55, metadata={"le": "open_age"})
    rate: Series[float] = pa.Field(ge=0, le=0.5)


class LifeTable(pa.DataFrameModel):
    """``life_table.csv``: a period life table by sex x age (``Lx`` at ``open_age``: ``T``)."""
    sex: Series[str] = pa.Field(isin=SEXES)
    age: Series[int] = pa.Field(**AGE)
    lx: Series[float] = pa.Field(gt=0, le=100000)
    Lx: Series[float] = pa.Field(gt=0, le=100_000_000)


class Migration(Cells):
    """``migration.csv``: net migrants per year by area x sex x age."""
    net_migrants: Series[float] = pa.Field(ge=-100000, le=100000)


class Places(pa.DataFrameModel):
    """``places.csv``: existing places by area x stage x sector."""
    area_code: Series[str] = pa.Field(**AREA)
    stage: Series[str] = pa.Field(**STAGE)
    sector: Series[str] = pa.Field(isin=SECTORS)
    places: Series[int] = pa.Field(ge=0, le=1_000_000)


class Projects(pa.DataFrameModel):
    """The projects table: one row per project and stage."""
    project_id: Series[str] = pa.Field(**TEXT)
    name_zh: Series[str] = pa.Field(**TEXT)
    name_en: Series[str]
    stage: Series[str] = pa.Field(**STAGE)
    places: Series[int] = pa.Field(gt=0, le=100_000)
    area_code: Series[str] = pa.Field(**AREA)
    location_basis: Series[str] = pa.Field(**TEXT)
    location_confidence: Series[str] = pa.Field(isin=["high", "medium", "low"])
    kind: Series[str] = pa.Field(isin=["new", "expansion", "conversion"])
    ownership: Series[str] = pa.Field(isin=SECTORS)
    opening_year: Series[int] = pa.Field(ge=1990, le=2100)
    opening_year_basis: Series[str] = pa.Field(**TEXT)
    source: Series[str] = pa.Field(**TEXT)


class Plan(pa.DataFrameModel):
    """``plan.csv`` (optional): the needs and targets of the district's plan."""
    indicator: Series[str] = pa.Field(isin=PLAN_INDICATORS)
    stage: Series[str]
    year: Series[int] = pa.Field(ge=1990, le=2100)
    value: Series[float] = pa.Field(ge=0, le=10_000_000)
    source: Series[str] = pa.Field(**TEXT)


class Observed(pa.DataFrameModel):
    """``observed.csv`` (optional): figures observed in the district, to check and calibrate against.

    ``area_code`` is an area or the district's code; ``stage``, ``sex`` and ``age`` may be empty (a total); checked across
    tables by :func:`capacity.io.checks.check_observed`.
    """
    indicator: Series[str] = pa.Field(isin=OBSERVED_INDICATORS)
    area_code: Series[str] = pa.Field(**TEXT)
    year: Series[int] = pa.Field(ge=1990, le=2100)
    stage: Series[str]
    sex: Series[str] = pa.Field(isin=["", *SEXES])
    age: Series[str]
    value: Series[float] = pa.Field(ge=0, le=100_000_000)
    source: Series[str] = pa.Field(**TEXT)


class Sources(pa.DataFrameModel):
    """``sources.csv``: where every figure of every file came from."""
    file: Series[str] = pa.Field(**TEXT)
    column: Series[str] = pa.Field(**TEXT)
    estimate: Series[str] = pa.Field(isin=["yes", "no"])
    source: Series[str] = pa.Field(**TEXT)
    method: Series[str]


@dataclass(frozen=True)
class TableInfo:
    """A table of a district: its model, its file name, its key columns and the fewest rows it may have."""

    model: type[pa.DataFrameModel]
    file: str
    keys: tuple[str, ...]
    min_rows: int = 1


#: The tables in reading order (the projects file is named by ``district.toml``).
TABLES: dict[str, TableInfo] = {
    "areas": TableInfo(Areas, "areas.geojson", ("area_code",)),
    "stages": TableInfo(Stages, "stages.csv", ("stage",)),
    "population": TableInfo(Population, "population.csv", ("area_code", "sex", "age")),
    "fertility": TableInfo(Fertility, "fertility.csv", ("age",)),
    "life_table": TableInfo(LifeTable, "life_table.csv", ("sex", "age")),
    "migration": TableInfo(Migration, "migration.csv", ("area_code", "sex", "age")),
    "places": TableInfo(Places, "places.csv", ("area_code", "stage", "sector"), 0),
    "projects": TableInfo(Projects, "projects.csv", ("project_id", "stage"), 0),
    "plan": TableInfo(Plan, "plan.csv", ("indicator", "stage")),
    "observed": TableInfo(Observed, "observed.csv", ("indicator", "area_code", "year", "stage", "sex", "age")),
    "sources": TableInfo(Sources, "sources.csv", ("file", "column")),
}


# ---------------------------------------------------------------------------- district.toml


def _inside(path: str) -> str:
    if PurePosixPath(path).is_absolute() or PureWindowsPath(path).is_absolute() or PureWindowsPath(path).drive:
        raise ValueError(f"a path inside the district folder, found {path!r}: an absolute path")
    if ".." in PurePosixPath(path.replace("\\", "/")).parts:
        raise ValueError(f"a path inside the district folder, found {path!r}: a path leaving the district folder ('..')")
    return path


def _bounded(integer: bool, **bounds: float) -> Any:
    """A field within ``bounds`` (``ge``, ``gt``, ``le``, ``lt``), described in problems in the words of :func:`describe_bounds`."""
    return Field(**bounds, description=describe_bounds(integer, bounds))  # type: ignore[call-overload]


NonEmpty = Annotated[str, Field(pattern=r"\S", description="a non-empty text")]
#: How problems of ``district.toml`` and of a District's attributes read where other formats word them differently.
TEMPLATES = {"unquoted": "expected {expected} (unquoted), found the text {found}", "string_type": "expected {expected} (a quoted string), "
             "found {found}", "extra_forbidden": "expected only the keys {keys}, found unknown key {found}"}


class Settings(BaseModel):
    """The district's settings (``district.toml`` without the file keys)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    name: NonEmpty
    name_zh: str = ""
    code: NonEmpty
    base_year: Annotated[int, _bounded(True, ge=1990, le=2100)]
    open_age: Annotated[int, _bounded(True, ge=10, le=130)]
    sex_ratio_at_birth: Annotated[float, _bounded(False, ge=0.8, le=1.5), Field(allow_inf_nan=False)]
    attribution: NonEmpty


class DistrictFile(Settings):
    """``district.toml``: the settings and the path of the projects table."""

    projects: Annotated[str, Field(pattern=r"\S", description="a path inside the district folder"), AfterValidator(_inside)]
    language: Literal["", "en", "zh"] = ""  # the outputs' default language (capacity.i18n)


def settings_problems(model: type[BaseModel], doc: Mapping[str, Any], file: str, noun: str, problems: list[Problem]) -> dict[str, Any]:
    """Check settings against their pydantic model, one problem per bad key; the valid keys and values.

    ``model`` is :class:`DistrictFile` (``district.toml``, ``noun`` ``"key"``) or :class:`Settings` (a District's attributes,
    ``noun`` ``"attribute"``); ``file`` names the file (or ``"District"``) in problems.
    """
    try:
        model.model_validate(doc)
        return dict(doc)
    except ValidationError as error:
        found = key_problems(error.errors(), file, model, noun, TEMPLATES)
    problems += found
    bad = {p.where.split(" ", 1)[1] for p in found}
    return {k: v for k, v in doc.items() if k in model.model_fields and k not in bad}
