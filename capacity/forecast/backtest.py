"""Rolling-origin backtest: fit on the years up to each origin, project, compare, score.

For every origin year ``o`` and method, the method sees the table up to ``o`` only and
projects ``H`` years; every stage (a group of ages or levels) of every area is summed and
compared with what happened in ``o + h``. Areas flagged ``border_change`` are left out of
the scores and of the fits (a method may pool areas). Errors are percentages of the outcome:
:math:`APE = 100 |F - A| / A`, signed :math:`100 (F - A) / A`.

**Method choice fixed before scoring.** With ``select_until = Y``, a selection rule
(:mod:`capacity.forecast.selection`, default :data:`~capacity.forecast.selection.DEFAULT_RULE`)
chooses each stage's forecast from the forecasts whose outcome year is ``<= Y`` (known in
year Y); it is scored, as ``chosen``, only on origins ``>= Y``, next to every method on
the same origins. Nothing scored is used to choose. The chosen forecast (one method, or
the mean of several) gets intervals from its own past errors, as every method does.

**Prediction intervals from past errors.** A forecast ``F`` from origin ``o`` at horizon
``h`` gets the interval :math:`F e^{\\pm q_c}`, :math:`q_c` the empirical ``c`` quantile
(``c`` = 0.80, 0.95) of the absolute log errors :math:`|\\ln(A/F)|` of the same method,
stage, horizon and area-size class (below or above the median stage size at the origin)
from forecasts whose outcome was known at ``o`` (``o' + h <= o``). Symmetric in logs, so
a bias that changes sign between periods widens the interval rather than shifting it.
With fewer than :data:`MIN_ERRORS` such errors the size classes are pooled; with still
fewer, or errors of fewer than :data:`MIN_ORIGINS` origins (the errors of one origin share
its shocks and understate the spread), no interval (counted in ``n_interval``). Forecasts from
origins before the first scored one are made only to calibrate intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.forecast.history import History
from capacity.forecast.methods import Method
from capacity.forecast.selection import DEFAULT_RULE, Members, choose, chosen_rows, describe

__all__ = ["MIN_ERRORS", "MIN_ORIGINS", "Backtest", "forecast_rows", "run_backtest", "run_rules", "score"]

MIN_ERRORS = 20
#: Errors of one origin share its shocks: intervals need errors of at least this many origins.
MIN_ORIGINS = 3
#: Interval name -> its (lower, upper) probabilities; the width is the quantile ``upper - lower`` of |log error|.
LEVELS = {"80": (0.10, 0.90), "95": (0.025, 0.975)}


@dataclass
class Backtest:
    """What a backtest produced: every forecast, the scores and the choice per stage.

    ``chosen`` names each stage's choice (:func:`~capacity.forecast.selection.describe`),
    ``members`` gives it per horizon, ``rule`` is the selection rule.
    """
    name: str
    forecasts: pd.DataFrame
    scores: pd.DataFrame
    chosen: dict[str, str]
    select_until: int
    messages: list[str] = field(default_factory=list)
    rule: str = DEFAULT_RULE
    members: Members = field(default_factory=dict)


def forecast_rows(history: History, methods: list[Method], first_origin: int, last_origin: int,
                   horizon: int, excluded: set[str]) -> pd.DataFrame:
    """One row per method x stage x area x origin x horizon (stage by stage, then origin, method).

    Each method projects a table once per origin; every stage of the table is summed from
    that projection. Areas in ``excluded`` are left out of the table before fitting (a
    method may pool areas), not only out of the scores.
    """
    naive_years = history.settings.naive_years
    by_stage: dict[str, list[pd.DataFrame]] = {spec.stage: [] for spec in history.settings.stages}
    for name, whole in history.tables.items():
        stages = [spec for spec in history.settings.stages if spec.table == name]
        if not stages:
            continue
        keep = np.array([a not in excluded for a in whole.areas])
        table = replace(whole, areas=tuple(np.array(whole.areas)[keep]), counts=whole.counts[:, keep],
                        births=None if whole.births is None else whole.births[:, keep],
                        women=None if whole.women is None else whole.women[:, keep])
        areas = np.array(table.areas)
        levels = {spec.stage: (table.levels >= spec.first) & (table.levels <= spec.last) for spec in stages}
        totals = {stage: table.counts[..., lv].sum(axis=(2, 3)) for stage, lv in levels.items()}  # (year, area)
        last = int(table.years[-1])
        for origin_year in range(max(first_origin, int(table.years[0]) + 1), min(last_origin, last - 1) + 1):
            o = table.year_index(origin_year)
            scored = [spec.stage for spec in stages if np.isfinite(totals[spec.stage][o]).all()]
            if not scored:
                continue
            steps = min(horizon, last - origin_year)
            for method in methods:
                if not method.applies(table):
                    continue
                proj = method.project(table, o, steps, naive_years)
                for stage in scored:
                    fc = proj[..., levels[stage]].sum(axis=(2, 3))
                    actual = totals[stage][o + 1: o + 1 + steps]
                    size = totals[stage][o]
                    n = fc.size
                    by_stage[stage].append(pd.DataFrame({
                        "method": method.spec, "stage": stage,
                        "area_code": np.tile(areas, steps), "origin": origin_year,
                        "horizon": np.repeat(np.arange(1, steps + 1), len(areas)),
                        "forecast": fc.reshape(n), "actual": actual.reshape(n),
                        "size": np.tile(size, steps),
                        "large": np.tile(size >= np.median(size), steps),
                    }))
    frames = [frame for stage in by_stage for frame in by_stage[stage]]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _intervals(fc: pd.DataFrame) -> pd.DataFrame:
    """Add ``lower_80, upper_80, lower_95, upper_95`` from earlier errors (see module doc)."""
    fc = fc.copy()
    forecast = fc["forecast"].to_numpy(dtype=float)
    actual = fc["actual"].to_numpy(dtype=float)
    ok = (actual > 0) & (forecast > 0) & np.isfinite(actual)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_error = np.where(ok, np.log(np.where(ok, actual, 1.0) / np.where(ok, forecast, 1.0)), np.nan)
    all_origins = fc["origin"].to_numpy()
    all_large = fc["large"].to_numpy(dtype=bool)
    all_horizons = fc["horizon"].to_numpy()
    bounds = {name: (np.full(len(fc), np.nan), np.full(len(fc), np.nan)) for name in LEVELS}
    for positions in fc.groupby(["method", "stage", "horizon"], sort=False).indices.values():
        h = int(all_horizons[positions[0]])
        errors = log_error[positions]
        origins = all_origins[positions]
        large = all_large[positions]
        for origin in np.unique(origins):
            here = origins == origin
            past = (origins + h <= origin) & np.isfinite(errors)
            if len(np.unique(origins[past])) < MIN_ORIGINS:
                continue
            for cls in (False, True):
                pool = errors[past & (large == cls)]
                if len(pool) < MIN_ERRORS:
                    pool = errors[past]
                if len(pool) < MIN_ERRORS:
                    continue
                target = positions[here & (large == cls)]
                base = forecast[target]
                for name, (lo, hi) in LEVELS.items():
                    half = float(np.quantile(np.abs(pool), hi - lo))
                    bounds[name][0][target] = base * np.exp(-half)
                    bounds[name][1][target] = base * np.exp(half)
    for name, (lower, upper) in bounds.items():
        fc[f"lower_{name}"] = lower
        fc[f"upper_{name}"] = upper
    return fc


def score(fc: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """MAPE, median APE, mean signed error (%), interval coverage and counts per group."""
    fc = fc[fc["actual"].notna() & (fc["actual"] > 0)]
    ape = 100 * (fc["forecast"] - fc["actual"]).abs() / fc["actual"]
    signed = 100 * (fc["forecast"] - fc["actual"]) / fc["actual"]
    has = fc["lower_80"].notna()
    inside80 = ((fc["lower_80"] <= fc["actual"]) & (fc["actual"] <= fc["upper_80"])).where(has)
    inside95 = ((fc["lower_95"] <= fc["actual"]) & (fc["actual"] <= fc["upper_95"])).where(has)
    frame = fc[keys].assign(ape=ape, signed=signed, in80=inside80.astype(float), in95=inside95.astype(float), has=has)
    grouped = frame.groupby(keys, sort=False)
    out = pd.DataFrame({
        "mape": grouped["ape"].mean(), "median_ape": grouped["ape"].median(),
        "mean_signed_error": grouped["signed"].mean(),
        "inside_80": grouped["in80"].mean(), "inside_95": grouped["in95"].mean(),
        "n": grouped["ape"].size(), "n_interval": grouped["has"].sum(),
    })
    return out.reset_index()


def run_backtest(history: History, methods: list[Method], origins: tuple[int, int], horizons: tuple[int, int],
                 select_until: int | None = None, rule: str = DEFAULT_RULE) -> Backtest:
    """Backtest ``methods`` on ``history`` from every origin in ``origins`` (inclusive).

    Returns
    -------
    Backtest
        ``forecasts`` (one row per method x stage x area x origin x horizon, with
        intervals; the chosen forecast as method ``chosen`` on the test origins),
        ``scores`` (per period x method x stage x horizon) and ``chosen``, by the
        selection ``rule``.
    """
    return run_rules(history, methods, origins, horizons, (rule,), select_until)[rule]


def run_rules(history: History, methods: list[Method], origins: tuple[int, int], horizons: tuple[int, int],
              rules: tuple[str, ...], select_until: int | None = None) -> dict[str, Backtest]:
    """:func:`run_backtest` for several selection rules, the methods' forecasts made once."""
    excluded = set(history.areas.loc[history.areas["border_change"], "area_code"])
    messages = [f"excluded (border change flagged): {a} {n}" for a, n in
                history.areas.loc[history.areas["border_change"], ["area_code", "area_name"]].itertuples(index=False)]
    first, last = origins
    if select_until is None:
        select_until = (first + last + 1) // 2
    years = np.concatenate([t.years for t in history.tables.values()])
    lo, hi = int(years.min()) + 1, int(years.max()) - 1
    if first < lo or last > hi:
        raise InputError.one("--origins", "", "", f"expected origins inside {lo}..{hi} (a year known before and after each), found {first}:{last}")
    raw = forecast_rows(history, methods, int(years.min()) + 1, last, horizons[1], excluded)
    if raw.empty:
        raise InputError.one("--origins", "", "", f"expected origins with later years in the history, found {first}:{last}")
    fc = _trim(_intervals(raw), horizons, (first, last))
    target = fc["origin"] + fc["horizon"]
    selection = fc[target <= select_until]
    test = fc[fc["origin"] >= select_until]
    if selection.empty or test.empty:
        raise InputError.one("--select-until", "", "", f"expected a year leaving forecasts to choose on and origins to score ({first}..{last}), found {select_until}")
    by_method = ["method", "stage", "horizon"]
    common = [score(selection, by_method).assign(period="selection"), score(test, by_method).assign(period="test")]
    every = score(fc, by_method).assign(period="all")
    stage_horizons = {str(s): sorted(int(h) for h in g["horizon"].unique()) for s, g in test.groupby("stage", sort=False)}
    out: dict[str, Backtest] = {}
    for rule in rules:
        members = choose(selection, rule, stage_horizons)
        chosen = _trim(_intervals(chosen_rows(raw, members)), horizons, (select_until, last))
        scores = pd.concat([*common, score(chosen, by_method).assign(period="test"), every], ignore_index=True)
        scores.insert(0, "set", history.settings.name)
        cols = ["set", "period", "method", "stage", "horizon", "mape", "median_ape", "mean_signed_error",
                "inside_80", "inside_95", "n", "n_interval"]
        forecasts = pd.concat([fc, chosen], ignore_index=True).drop(columns=["large"]).assign(set=history.settings.name)
        out[rule] = Backtest(history.settings.name, forecasts, scores[cols],
                             {stage: describe(m) for stage, m in members.items()}, select_until, messages, rule, members)
    return out


def _trim(fc: pd.DataFrame, horizons: tuple[int, int], origins: tuple[int, int]) -> pd.DataFrame:
    """The rows of the horizons and origins scored."""
    keep = ((fc["horizon"] >= horizons[0]) & (fc["horizon"] <= horizons[1])
            & (fc["origin"] >= origins[0]) & (fc["origin"] <= origins[1]))
    return fc[keep]
