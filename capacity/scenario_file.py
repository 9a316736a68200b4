"""The scenario file format, as pydantic models of the TOML document.

A scenario file (``docs/scenarios.md``) is parsed with :mod:`tomllib`, merged with the
files it ``extend`` s, and validated here by :class:`ScenarioFile`: every key, type and
range is declared once, as a pydantic field. A validation failure becomes one
:class:`capacity.errors.InputError` naming the file and the key
(``key projects.add[0].places``) with what was expected and what was found.
:func:`to_scenario` then turns the validated document into the frozen
:class:`capacity.scenario.Scenario` the model runs on.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictStr,
    Tag,
    ValidationError,
    model_validator,
)
from pydantic_core import ErrorDetails

from capacity.distributions import Distribution, YearValue
from capacity.errors import InputError
from capacity.problems import key_problems

__all__ = ["ScenarioFile", "validate_document"]


class _Table(BaseModel):
    """A TOML table: unknown keys are errors, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def _number(low: float, high: float) -> Any:
    return Field(ge=low, le=high, allow_inf_nan=False)


Number: TypeAlias = Annotated[float, Field(allow_inf_nan=False)]
Multiplier: TypeAlias = Annotated[float, _number(0, 10)]
Scale: TypeAlias = Annotated[float, _number(-10, 10)]
Share: TypeAlias = Annotated[float, _number(0, 1)]
RateUpTo2: TypeAlias = Annotated[float, _number(0, 2)]
Year: TypeAlias = Annotated[int, Field(ge=1990, le=2100)]


def _year_key(key: str) -> str:
    if not (key.isdigit() and 1900 <= int(key) <= 2200):
        raise ValueError("a year (1900-2200) as key")
    return key


def _age_band(key: str) -> str:
    parts = key.split("-")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts) or int(parts[0]) > int(parts[1]):
        raise ValueError('an age band like "0-17"')
    return key


YearKey: TypeAlias = Annotated[str, AfterValidator(_year_key)]
AgeBand: TypeAlias = Annotated[str, AfterValidator(_age_band)]


def _kind(value: Any) -> str | None:
    """Discriminator of "one number or a table of years"."""
    return "@table" if isinstance(value, dict) else "@number"


def _year_table(value: dict[str, float]) -> dict[str, float]:
    if not value:
        raise ValueError("a number or a non-empty table of years")
    return value


def _year_value(bounds: Any) -> Any:
    return Annotated[
        Annotated[Annotated[float, bounds], Tag("@number")]
        | Annotated[Annotated[dict[YearKey, Annotated[float, bounds]], AfterValidator(_year_table)], Tag("@table")],
        Discriminator(_kind),
    ]


MultiplierByYear: TypeAlias = _year_value(_number(0, 10))  # type: ignore[valid-type]
ScaleByYear: TypeAlias = _year_value(_number(-10, 10))  # type: ignore[valid-type]
ShareByYear: TypeAlias = _year_value(_number(0, 1))  # type: ignore[valid-type]
RateByYear: TypeAlias = _year_value(_number(0, 2))  # type: ignore[valid-type]


# --- distributions ----------------------------------------------------------------------


class Fixed(_Table):
    dist: Literal["fixed"]
    value: Number


class Normal(_Table):
    dist: Literal["normal"]
    mean: Number
    sd: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Lognormal(_Table):
    dist: Literal["lognormal"]
    median: Annotated[float, Field(gt=0, allow_inf_nan=False)]
    sigma: Annotated[float, Field(ge=0, allow_inf_nan=False)]


class Uniform(_Table):
    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError("low <= high")
        return self


class Triangular(_Table):
    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("low <= mode <= high")
        return self


class Poisson(_Table):
    dist: Literal["poisson"]
    mean: Annotated[float, Field(ge=0, allow_inf_nan=False)]


_DISTRIBUTIONS: tuple[type[_Table], ...] = (Fixed, Normal, Lognormal, Uniform, Triangular, Poisson)
_DIST_TAGS = {f"@{cls.__name__.lower()}" for cls in _DISTRIBUTIONS}


def _dist_kind(value: Any) -> str | None:
    if isinstance(value, dict) and isinstance(value.get("dist"), str):
        return f"@{value['dist']}"
    return None


DistributionSpec: TypeAlias = Annotated[
    Annotated[Fixed, Tag("@fixed")]
    | Annotated[Normal, Tag("@normal")]
    | Annotated[Lognormal, Tag("@lognormal")]
    | Annotated[Uniform, Tag("@uniform")]
    | Annotated[Triangular, Tag("@triangular")]
    | Annotated[Poisson, Tag("@poisson")],
    Discriminator(_dist_kind),
]


#: A normal or lognormal distribution is taken to reach this many standard deviations
#: (of the value or of its log) when its range is checked: P(|z| > 6) is about 2e-9.
SPREAD_SDS = 6.0


def support(spec: _Table) -> tuple[float, float]:
    """The range a distribution's draws fall in (for unbounded kinds, +-``SPREAD_SDS`` sd).

    Parameters
    ----------
    spec : one of the distribution tables

    Returns
    -------
    (low, high) : tuple of float
    """
    if isinstance(spec, Fixed):
        return spec.value, spec.value
    if isinstance(spec, Normal):
        return spec.mean - SPREAD_SDS * spec.sd, spec.mean + SPREAD_SDS * spec.sd
    if isinstance(spec, Lognormal):
        return spec.median * math.exp(-SPREAD_SDS * spec.sigma), spec.median * math.exp(SPREAD_SDS * spec.sigma)
    if isinstance(spec, Uniform | Triangular):
        return spec.low, spec.high
    if isinstance(spec, Poisson):
        return 0.0, spec.mean + SPREAD_SDS * math.sqrt(spec.mean) + 1.0
    raise TypeError(type(spec).__name__)


def _within(low: float, high: float, what: str) -> Callable[[_Table], _Table]:
    """A check that a distribution's draws stay within [low, high]."""

    def check(spec: _Table) -> _Table:
        lo, hi = support(spec)
        if lo < low or hi > high:
            raise ValueError(
                f"a distribution whose draws stay within [{low:g}, {high:g}] ({what}), "
                f"found one reaching [{lo:.4g}, {hi:.4g}]"
            )
        return spec

    return check


FactorUncertainty: TypeAlias = Annotated[DistributionSpec, AfterValidator(_within(0, 10, "a factor"))]
ScaleUncertainty: TypeAlias = Annotated[DistributionSpec, AfterValidator(_within(-10, 10, "the range of migration.scale"))]
DelayUncertainty: TypeAlias = Annotated[
    DistributionSpec, AfterValidator(_within(-50, 50, "years of delay; negative draws count as no delay"))
]


# --- the tables of a scenario -------------------------------------------------------------


class FertilityTable(_Table):
    multiplier: MultiplierByYear = 1.0
    tfr: MultiplierByYear | None = None
    uncertainty: FactorUncertainty | None = None


class MigrationTable(_Table):
    scale: ScaleByYear = 1.0
    scale_by_area: dict[str, Scale] = {}
    scale_by_age: dict[AgeBand, Scale] = {}
    uncertainty: ScaleUncertainty | None = None
    timing: Literal["end", "phg"] = "end"


class MortalityTable(_Table):
    death_rate_multiplier: Multiplier = 1.0


class EnrolmentTable(_Table):
    enrolment_rate: RateByYear | None = None
    migrant_share: ShareByYear | None = None
    local_public_share: ShareByYear | None = None
    migrant_public_share: ShareByYear | None = None


def _phases(shares: list[float]) -> list[float]:
    if abs(sum(shares) - 1) > 1e-9:
        raise ValueError("shares summing to 1")
    return shares


class ProjectRow(_Table):
    project_id: StrictStr
    name_zh: StrictStr = ""
    name_en: StrictStr | None = None
    stage: StrictStr
    places: Annotated[float, _number(-1e6, 1e6)]
    area_code: StrictStr
    kind: Literal["new", "expansion", "conversion", "closure"] = "new"
    ownership: Literal["public", "private"] = "public"
    opening_year: Year
    opening_year_basis: StrictStr = "scenario"


class ProjectsTable(_Table):
    opening_year: dict[str, Year] = {}
    delay: dict[str, Annotated[int, Field(ge=-20, le=50)]] = {}
    cancel: list[StrictStr] = []
    phases: dict[str, Annotated[list[Share], Field(min_length=1), AfterValidator(_phases)]] = {}
    add: list[ProjectRow] = []
    delay_uncertainty: dict[str, DelayUncertainty] = {}
    cancel_probability: dict[str, Share] = {}


class Development(_Table):
    area_code: StrictStr
    year: Year
    dwellings: Annotated[float, _number(0, 1e7)]


class HousingTable(_Table):
    developments: list[Development] = []
    children_per_dwelling: dict[AgeBand, Annotated[list[Annotated[float, _number(0, 10)]], Field(min_length=1)]] = {}
    uncertainty: FactorUncertainty | None = None


class DemandTable(_Table):
    source: Literal["projection", "plan"] = "projection"


class GapTable(_Table):
    travel_limit_km: Annotated[float, _number(0, 100)] | None = None


class OptimiseTable(_Table):
    """Settings of ``capacity optimise`` (``docs/optimise.md``); costs in 10,000 CNY (万元).

    Defaults: projects may move 2 years earlier or 5 later or be cancelled; a place-year
    short costs 2.0, a place-year idle 0.05, a project place 5.0; no budgets, no build
    capacity limit, no chance constraint; HiGHS stops at a 1 % gap or after 60 s.
    """

    first_year: Year | None = None
    window_before: Annotated[int, Field(ge=0, le=30)] = 2
    window_after: Annotated[int, Field(ge=0, le=30)] = 5
    allow_cancel: bool = True
    project_cost_per_place: Annotated[float, _number(0, 1e4)] | dict[str, Annotated[float, _number(0, 1e4)]] = 5.0
    shortfall_penalty: Annotated[float, _number(0, 1e6)] = 2.0
    idle_cost: Annotated[float, _number(0, 1e6)] = 0.05
    budget_per_year: Annotated[float, _number(0, 1e9)] | dict[YearKey, Annotated[float, _number(0, 1e9)]] | None = None
    budget_total: Annotated[float, _number(0, 1e10)] | Literal["as_written"] | None = None
    build_capacity_per_year: Annotated[float, _number(0, 1e7)] | None = None
    max_p_shortfall: Share | None = None
    requirement_from_year: Year | None = None
    travel_limit_km: Annotated[float, _number(0, 100)] | None = None
    candidates: StrictStr | None = None
    mip_gap: Annotated[float, _number(0, 1)] = 0.01
    time_limit_s: Annotated[float, _number(0.1, 86400)] = 60.0


#: ``method`` by default: the cohort-component engine with the district's rates.
ENGINE = "cohort-component"


def _method_spec(spec: str) -> str:
    """A forecasting method's spec (:func:`capacity.forecast.methods.parse_method`), or the engine's name."""
    if spec == ENGINE:
        return spec
    from capacity.errors import InputError
    from capacity.forecast.methods import parse_method

    try:
        parse_method(spec)
    except InputError as error:
        raise ValueError(error.problems[0].expected.removeprefix("expected ")) from None
    return spec


MethodSpec: TypeAlias = Annotated[StrictStr, AfterValidator(_method_spec)]


def _method_kind(value: Any) -> str | None:
    """Discriminator of "one spec or a table of stages"."""
    return "@table" if isinstance(value, dict) else "@text" if isinstance(value, str) else None


MethodChoice: TypeAlias = Annotated[
    Annotated[MethodSpec, Tag("@text")] | Annotated[dict[str, MethodSpec], Tag("@table")],
    Discriminator(_method_kind),
]


class ScenarioFile(_Table):
    """A scenario file after ``extend`` is resolved (every key optional)."""

    name: StrictStr | None = None
    description: StrictStr = ""
    horizon: Annotated[int, Field(ge=2000, le=2200)] = 2035
    method: MethodChoice = Field(ENGINE, description='a method spec like "progression:geometric:5" or a table of stages '
                                 '(docs/scenarios.md, "Forecasting methods")')
    fertility: FertilityTable = FertilityTable()
    migration: MigrationTable = MigrationTable()
    mortality: MortalityTable = MortalityTable()
    enrolment: dict[str, EnrolmentTable] = {}
    projects: ProjectsTable = ProjectsTable()
    housing: HousingTable = HousingTable()
    demand: DemandTable = DemandTable()
    gap: GapTable = GapTable()
    optimise: OptimiseTable = OptimiseTable()


# --- errors -------------------------------------------------------------------------------

#: The scenario format's own wording of a distribution table without a known ``dist`` (:func:`capacity.problems.key_problems`).
_TEMPLATES = {"union_tag_not_found": 'expected a table like {{ dist = "normal", mean = 1, sd = 0.1 }}, found {found}'}


def _dist_error(error: ErrorDetails) -> ErrorDetails:
    """An unknown ``dist`` of a distribution table as the error of that key (the others as they are)."""
    if error["type"] == "union_tag_not_found" and tuple(error["loc"]) == ("method",):  # neither a text nor a table
        found = error.get("input")
        shown = "a list" if isinstance(found, list) else repr(found)
        return ErrorDetails(type="value_error", loc=("method",), msg="", input=found,
                            ctx={"error": f"{ScenarioFile.model_fields['method'].description}, found {shown}"})
    if error["type"] != "union_tag_invalid":
        return error
    kinds = ", ".join(sorted(tag.lstrip("@") for tag in _DIST_TAGS))
    return ErrorDetails(type="literal_error", loc=(*error["loc"], "dist"), msg="", input=str(error.get("ctx", {}).get("tag", "")).lstrip("@"),
                        ctx={"expected": kinds})


def validate_document(data: dict[str, Any], file: str) -> ScenarioFile:
    """Validate a parsed, merged scenario document.

    Parameters
    ----------
    data : dict
        The TOML document (``extend`` already resolved and removed).
    file : str
        The file name to put in the error.

    Returns
    -------
    ScenarioFile

    Raises
    ------
    InputError
        One problem per failing key, in document order; its message is the first.
    """
    try:
        return ScenarioFile.model_validate(data)
    except ValidationError as exc:
        errors = [_dist_error(e) for e in exc.errors(include_url=False)]
        raise InputError(key_problems(errors, file, ScenarioFile, templates=_TEMPLATES)) from None


# --- to the frozen scenario objects -----------------------------------------------------------


def year_value(value: float | dict[str, float]) -> YearValue:
    """A number or a year table as the model takes it."""
    if isinstance(value, dict):
        return tuple(sorted((int(y), float(v)) for y, v in value.items()))
    return float(value)


def distribution(spec: _Table) -> Distribution:
    """A validated distribution table as a :class:`Distribution`."""
    fields = spec.model_dump()
    kind = fields.pop("dist")
    return Distribution(kind, tuple((name, float(v)) for name, v in fields.items()))


def band(key: str) -> tuple[int, int]:
    """``"0-17"`` -> ``(0, 17)``."""
    lo, hi = key.split("-")
    return int(lo), int(hi)
