r"""The children of a run projected by a forecasting method, and their Monte Carlo errors.

A scenario's ``method`` (``docs/scenarios.md``, "Forecasting methods") names, for every
stage or per stage, either the cohort-component engine with the district's rates
(``"cohort-component"``, the default) or a method of :mod:`capacity.forecast.methods`
(``"progression:geometric:5"``, ``"shrunk:band3:5"`` ...). A method is fitted on the
district's own history (:mod:`capacity.forecast.district_history`) up to the base year
only and projects the population by area x sex x single year of age from the base year,
:math:`\hat P_{t,a,s,x}` (:meth:`~capacity.forecast.methods.Method.project`, the function
``capacity backtest`` scores). The children of stage :math:`k` with ages
:math:`x_k^0 .. x_k^1` replace the engine's:

.. math::

    \hat C_{t,a,k} = \sum_s \sum_{x = x_k^0}^{x_k^1} \hat P_{t,a,s,x}

(persons; in the base year :math:`t_0` the history's own counts). New housing adds its
children on top, as with the engine.

**Errors from the district's own past.** With draws, draw :math:`d` multiplies the
children by :math:`e^{\varepsilon}`:

.. math::

    C_{t,a,k,d} = \hat C_{t,a,k} \exp\big(\varepsilon_{k,h,c(a,k)}(u_d)\big), \qquad h = t - t_0,

where :math:`\varepsilon_{k,h,c}(u)` is a quantile of the symmetrised empirical distribution
of the method's log errors :math:`\ln(A / F)` of stage :math:`k` at horizon :math:`h`:

.. math::

    \varepsilon(u) = \operatorname{sign}(u - \tfrac12)\; Q_{k,h,c}\big(|2u - 1|\big),

:math:`Q` the quantile function (linear between order statistics) of the absolute log
errors :math:`|\ln(A/F)|`. The errors are those of a rolling-origin backtest on the
district's history (:func:`capacity.forecast.backtest.forecast_rows`): the stage's method
fitted at every origin :math:`o` from the second year of the history, projected, and
compared with the history at :math:`o + h \le t_0` (only outcomes known in the base year).
As in the backtest's intervals, the errors are pooled over areas and origins within the
area's size class :math:`c` (the stage's children at the origin at or above the median of
the areas, or below), over both classes when a class has fewer than
:data:`~capacity.forecast.backtest.MIN_ERRORS` errors; a horizon is *measured* when it has
at least that many errors from at least :data:`~capacity.forecast.backtest.MIN_ORIGINS`
origins. So :math:`P(|\varepsilon| \le Q(0.8)) = 0.8`: the draws' 80 % interval is the
backtest's :math:`F e^{\pm q_{0.8}}`, symmetric in logs. Beyond the last measured horizon
:math:`H_k`, the errors grow linearly with the horizon:
:math:`\varepsilon_{k,h} = \varepsilon_{k,H_k} \, h / H_k` (an assumption: the backtests of
``docs/accuracy.md`` show MAPE growing about linearly over 1-5 years).

**One uniform per draw.** :math:`u_d` is the first uniform of the counter-based block of
(component ``"method"``, draw :math:`d`) (:mod:`capacity.ensemble`), the same for every
area, stage and horizon of the draw: a draw is a "high" or a "low" world everywhere
(comonotone errors). Each area's and stage's interval is the backtest's; the intervals of
sums over areas are the widest any dependence between areas could give (conservative).
``docs/model.md`` ("Children from a forecasting method") gives the measurements behind this
choice. Every draw's factor depends only on ``(seed, draw)``, so the bytes do not depend
on the scheduler or the chunking, and scenarios share the draw's :math:`u_d` (common
random numbers).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from capacity.ensemble import draw_uniforms
from capacity.errors import InputError
from capacity.forecast.backtest import MIN_ERRORS, MIN_ORIGINS, forecast_rows
from capacity.forecast.history import History, StageSpec
from capacity.forecast.methods import parse_method
from capacity.io.district import District
from capacity.scenario import Scenario

__all__ = ["COMPONENT", "ENGINE", "ErrorPool", "MethodChildren", "check_measurable", "error_pool", "method_children",
           "past_errors", "project_stages", "stage_methods", "symmetric_quantile", "uses_method"]

#: The method meaning the cohort-component engine with the district's rates.
ENGINE = "cohort-component"
#: The ensemble component of the method's error draws.
COMPONENT = "method"


def stage_methods(scenario: Scenario, stages: Sequence[str]) -> dict[str, str]:
    """Each stage's method spec: the scenario's ``method`` for all, or its table (stages not named: the engine)."""
    if isinstance(scenario.method, str):
        return {stage: scenario.method for stage in stages}
    table = dict(scenario.method)
    return {stage: table.get(stage, ENGINE) for stage in stages}


def uses_method(scenario: Scenario, stages: Sequence[str]) -> bool:
    """Whether any stage's children come from a forecasting method (not the engine)."""
    return any(spec != ENGINE for spec in stage_methods(scenario, stages).values())


def symmetric_quantile(sorted_abs: NDArray[np.float64], u: NDArray[np.float64]) -> NDArray[np.float64]:
    r"""Quantile :math:`\varepsilon(u)` of the symmetrised distribution of absolute errors.

    :math:`\varepsilon(u) = \operatorname{sign}(u - \frac12) Q(|2u - 1|)` with :math:`Q(p)`
    the quantile of ``sorted_abs`` (ascending, ``n`` values) linear between order
    statistics: :math:`Q(p) = x_{(i)} + (pn' - i)(x_{(i+1)} - x_{(i)})`, :math:`n' = n - 1`,
    :math:`i = \lfloor p n' \rfloor` (numpy's default quantile). Elementwise in ``u``.

    Parameters
    ----------
    sorted_abs : ndarray (n,)
        Absolute log errors, ascending, ``n >= 1``.
    u : ndarray
        Uniforms in [0, 1).

    Returns
    -------
    ndarray, shape of ``u``
        Log errors (dimensionless).
    """
    p = np.abs(2.0 * u - 1.0)
    position = p * (len(sorted_abs) - 1)
    low = np.floor(position).astype(np.int64)
    high = np.minimum(low + 1, len(sorted_abs) - 1)
    value = sorted_abs[low] + (position - low) * (sorted_abs[high] - sorted_abs[low])
    out: NDArray[np.float64] = np.where(u >= 0.5, value, -value)
    return out


@dataclass(frozen=True)
class ErrorPool:
    """A method's past absolute log errors for one stage, by horizon and size class.

    Attributes
    ----------
    spec : str
        The method.
    errors : tuple of tuple of ndarray
        ``errors[h - 1][c]``: the absolute log errors at horizon ``h`` used for areas of
        size class ``c`` (0 small, 1 large), ascending; for ``h`` up to :attr:`measured`.
    counts : tuple of (int, int)
        Errors and origins at each horizon that had any (measured or not).
    """

    spec: str
    errors: tuple[tuple[NDArray[np.float64], NDArray[np.float64]], ...]
    counts: tuple[tuple[int, int], ...]

    @property
    def measured(self) -> int:
        """The last horizon measured (0: none)."""
        return len(self.errors)


@dataclass(frozen=True)
class MethodChildren:
    """The children of the stages a method projects, for a whole run (every area), and their errors.

    Attributes
    ----------
    stages : tuple of int
        The stages (indices in ``stages.csv`` order) whose children come from a method.
    specs : tuple of str
        Each one's method.
    point : ndarray (year, area, len(stages))
        Children of each stage's ages, the method's projection (persons).
    ages : tuple of ndarray
        Per stage, persons by single age, ``(year, area, sex, age of the stage)``.
    large : ndarray (area, len(stages)) of bool
        Size class of each area for each stage: children in the base year at or above the
        median of the areas.
    pools : tuple of ErrorPool
        Per stage, the past errors of its method.
    history : str
        The history's population file as problems name it.
    """

    stages: tuple[int, ...]
    specs: tuple[str, ...]
    point: NDArray[np.float64]
    ages: tuple[NDArray[np.float64], ...]
    large: NDArray[np.bool_]
    pools: tuple[ErrorPool, ...]
    history: str

    def factors(self, u: NDArray[np.float64], areas: slice) -> NDArray[np.float64]:
        """Error factors :math:`e^{\\varepsilon}` (year, area of ``areas``, len(stages), draw) for uniforms ``u`` (draw,)."""
        years = self.point.shape[0]
        large = self.large[areas]
        out = np.ones((years, large.shape[0], len(self.stages), len(u)))
        for k, pool in enumerate(self.pools):
            if pool.measured == 0:
                raise self.unmeasured(k)
            for cls in (0, 1):
                here = large[:, k] == bool(cls)
                if not here.any():
                    continue
                for h in range(1, years):
                    measured = min(h, pool.measured)
                    eps = symmetric_quantile(pool.errors[measured - 1][cls], u) * (h / measured)
                    out[h, here, k, :] = np.exp(eps)[np.newaxis, :]
        return out

    def unmeasured(self, k: int) -> InputError:
        """The problem of a stage whose method's errors were not measured at horizon 1."""
        pool = self.pools[k]
        errors, origins = pool.counts[0] if pool.counts else (0, 0)
        return InputError.one(self.history, "", "year",
                              f"expected enough years before the base year to measure the errors of method {pool.spec!r} "
                              f"one year ahead for --draws (at least {MIN_ERRORS} errors from {MIN_ORIGINS} origins), "
                              f"found {errors} errors from {origins} origins")

    def replace(self, children: NDArray[np.float64], areas: slice, draws: tuple[int, int], seed: int,
                n_draws: int) -> NDArray[np.float64]:
        """``children`` (year, area of ``areas``, stage, draw of ``draws``) with the method's stages replaced.

        With ``n_draws == 0`` (a deterministic run) the method's projection; else times the
        error factors of draws ``draws = (start, stop)`` (:meth:`factors`).
        """
        point = self.point[:, areas, :, np.newaxis]
        index = list(self.stages)
        if n_draws == 0:
            children[:, :, index, :] = point
        else:
            u = draw_uniforms(seed, COMPONENT, draws[0], draws[1])[:, 0]
            children[:, :, index, :] = point * self.factors(u, areas)
        return children


def _stage_specs(district: District, scenario: Scenario) -> list[tuple[int, str]]:
    specs = stage_methods(scenario, district.stage_names)
    return [(k, specs[stage]) for k, stage in enumerate(district.stage_names) if specs[stage] != ENGINE]


def project_stages(district: District, scenario: Scenario, years: NDArray[np.int64]
                   ) -> tuple[list[tuple[int, str]], list[NDArray[np.float64]]]:
    """Each method stage ``(index, spec)`` and its persons by single age ``(year, area, sex, age)``.

    Areas in ``district.area_codes`` order; ``years`` from the base year. Each method is
    fitted on the district's history up to the base year (its last year) and projected
    ``len(years) - 1`` steps; year 0 is the history's base-year count.
    """
    chosen = _stage_specs(district, scenario)
    if not chosen:
        return [], []
    history = district.history
    if history is None:
        raise InputError.one(scenario.source or f"scenario '{scenario.name}'", "key method", "",
                             "expected a district with a history/ folder for a forecasting method")
    table = history.tables["population"]
    origin = table.year_index(district.base_year)
    order = [table.areas.index(code) for code in district.area_codes]
    projected: dict[str, NDArray[np.float64]] = {}
    ages = []
    for k, spec in chosen:
        if spec not in projected:
            steps = parse_method(spec).project(table, origin, len(years) - 1, history.settings.naive_years)
            base = np.nan_to_num(table.counts[origin])[np.newaxis]
            projected[spec] = np.concatenate([base, steps])[:, order]
        st = district.stages.iloc[k]
        first, last = int(st["first_age"]), int(st["last_age"])
        ages.append(projected[spec][..., first:last + 1])
    return chosen, ages


def method_children(district: District, scenario: Scenario) -> MethodChildren | None:
    """The children of the run's method stages and their past errors; None if every stage uses the engine."""
    years = np.arange(district.base_year, scenario.horizon + 1)
    chosen, ages = project_stages(district, scenario, years)
    if not chosen:
        return None
    point = np.stack([a.sum(axis=(2, 3)) for a in ages], axis=2)
    base = point[0]
    large = base >= np.median(base, axis=0, keepdims=True)
    assert district.history is not None
    pools = past_errors(district, district.history, chosen)
    shown = os.path.join(str(district.path), "history", "population.csv")
    return MethodChildren(tuple(k for k, _ in chosen), tuple(s for _, s in chosen), point, tuple(ages), large,
                          pools, shown)


def check_measurable(district: District, scenario: Scenario) -> None:
    """Refuse, before any work, draws of a method whose errors one year ahead cannot be measured.

    Counts the errors the backtest of :func:`past_errors` can have at horizon 1 (areas with
    a positive stage total in the year after each origin); the run itself applies the
    same rule to the errors it gets (:meth:`MethodChildren.factors`).

    Raises
    ------
    InputError
        Naming the history's ``population.csv``, the method and the counts.
    """
    chosen = _stage_specs(district, scenario)
    if not chosen or district.history is None:
        return
    table = district.history.tables["population"]
    st = district.stages
    for k, spec in chosen:
        first, last = int(st["first_age"].iloc[k]), int(st["last_age"].iloc[k])
        totals = table.counts[..., first:last + 1].sum(axis=(2, 3))  # (year, area), NaN where absent
        scored = np.isfinite(totals[1:-1]).all(axis=1, keepdims=True)  # origins from the second year to base - 1
        errors = scored & np.isfinite(totals[2:]) & (np.nan_to_num(totals[2:]) > 0)
        count, origins = int(errors.sum()), int(errors.any(axis=1).sum())
        if count < MIN_ERRORS or origins < MIN_ORIGINS:
            shown = os.path.join(str(district.path), "history", "population.csv")
            raise InputError.one(shown, "", "year",
                                 f"expected enough years before the base year to measure the errors of method {spec!r} "
                                 f"one year ahead for --draws (at least {MIN_ERRORS} errors from {MIN_ORIGINS} origins), "
                                 f"found {count} errors from {origins} origins")


def past_errors(district: District, history: History, chosen: Sequence[tuple[int, str]]) -> tuple[ErrorPool, ...]:
    """Each method stage's past errors (:class:`ErrorPool`): the rolling-origin backtest on the history to the base year.

    Origins from the history's second year to the year before the base year, horizons up
    to the base year; the stages are the district's (``stages.csv`` ages); areas all
    (a district's history has no border changes).
    """
    table = history.tables["population"]
    first = int(table.years[0])
    st = district.stages
    specs = [StageSpec(stage=str(st["stage"].iloc[k]), table="population", first=int(st["first_age"].iloc[k]),
                       last=int(st["last_age"].iloc[k])) for k, _ in chosen]
    settings = history.settings.model_copy(update={"stages": specs})
    horizon = district.base_year - first - 1
    methods = {spec: parse_method(spec) for _, spec in chosen}
    rows = (forecast_rows(History(settings, history.areas, {"population": table}), list(methods.values()), first + 1,
                          district.base_year - 1, horizon, set()) if horizon >= 1 else pd.DataFrame())
    return tuple(error_pool(rows, stage.stage, spec) for stage, (_, spec) in zip(specs, chosen))


def error_pool(rows: pd.DataFrame, stage: str, spec: str) -> ErrorPool:
    """One stage's errors by horizon and class (see the module docstring) from ``rows`` of
    :func:`~capacity.forecast.backtest.forecast_rows` (every row's outcome known)."""
    if rows.empty:
        return ErrorPool(spec, (), ())
    mine = rows[(rows["stage"] == stage) & (rows["method"] == spec)]
    forecast = mine["forecast"].to_numpy(dtype=float)
    actual = mine["actual"].to_numpy(dtype=float)
    ok = (forecast > 0) & (actual > 0) & np.isfinite(forecast) & np.isfinite(actual)
    error = np.abs(np.log(np.where(ok, actual, 1.0) / np.where(ok, forecast, 1.0)))
    horizons = mine["horizon"].to_numpy()
    origins = mine["origin"].to_numpy()
    large = mine["large"].to_numpy(dtype=bool)
    errors: list[tuple[NDArray[np.float64], NDArray[np.float64]]] = []
    counts = []
    for h in range(1, int(horizons.max()) + 1 if len(horizons) else 1):
        at = ok & (horizons == h)
        counts.append((int(at.sum()), len(np.unique(origins[at]))))
        if len(errors) == h - 1 and counts[-1][0] >= MIN_ERRORS and counts[-1][1] >= MIN_ORIGINS:
            pooled = np.sort(error[at])
            by_class = tuple(np.sort(error[at & (large == bool(c))]) for c in (0, 1))
            errors.append(tuple(part if len(part) >= MIN_ERRORS else pooled for part in by_class))  # type: ignore[arg-type]
    return ErrorPool(spec, tuple(errors), tuple(counts))
