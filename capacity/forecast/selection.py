"""Rules that choose the forecast per stage from the selection forecasts, and the chosen forecast.

A backtest fixes its rule before scoring: the rule sees only the *selection forecasts*
(outcome year ``<= select_until``) and returns, per stage and horizon, the methods whose
equal-weight mean is the stage's forecast (one method for most rules). Naive methods
(``last``, ``ratio``) are not candidates. With :math:`M_{m,h}` the MAPE of method ``m`` at
horizon ``h`` on the selection forecasts of a stage (:math:`APE = 100 |F - A| / A`) and
:math:`\\bar M_m = \\frac1{|H|} \\sum_h M_{m,h}` its mean over horizons:

=================  ==============================================================================
rule               choice per stage
=================  ==============================================================================
``stage``          :math:`\\arg\\min_m \\bar M_m` (ties: by name), every horizon
``horizon``        per horizon :math:`\\arg\\min_m M_{m,h}`; a horizon without selection forecasts
                   takes the ``stage`` choice
``top3``           the equal-weight mean of the :data:`TOP` methods of least :math:`\\bar M_m`;
                   a method whose :math:`\\bar M_m` equals a better one's (relative difference
                   below 1e-9: the same forecasts) counts once
``pooled``         :math:`\\arg\\min_m` of the MAPE over all the stage's selection forecasts of ``m``
                   pooled: horizons weighted by their numbers of forecasts :math:`n_h`,
                   :math:`\\sum_h n_h M_{m,h} / \\sum_h n_h`
``prefer-shrunk``  among methods with :math:`\\bar M_m \\le (1 + \\text{TOLERANCE}) \\min \\bar M`, the
                   empirical-Bayes one (``shrunk``, ``shrunk-trend``, ``shrunk-last``) of least
                   :math:`\\bar M_m`; none within: the ``stage`` choice
=================  ==============================================================================

The rules and the one made the default (:data:`DEFAULT_RULE`) were compared on a
development set that is none of the scored sets (``docs/accuracy.md``). The chosen
forecast of a combination is the mean of its members' forecasts (per area, origin and
horizon); its intervals come from its own past errors, like any method's.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.forecast.methods import NAIVE, SHRUNK

__all__ = ["DEFAULT_RULE", "RULES", "TOLERANCE", "TOP", "Members", "choose", "chosen_rows", "describe", "label"]

#: The selection rules, in the order they were compared.
RULES = ("stage", "horizon", "top3", "pooled", "prefer-shrunk")
#: The rule of ``capacity backtest``: picked on the development set (the Norwegian
#: municipalities) by the criterion fixed before its scores were computed; there every
#: rule beat the naive ratio in 15 of 15 cells, and ``stage``, ``pooled`` and
#: ``prefer-shrunk`` chose the same methods, so the stated order decided (docs/accuracy.md).
DEFAULT_RULE = "stage"
#: Methods averaged by ``top3``.
TOP = 3
#: Relative tolerance of ``prefer-shrunk``.
TOLERANCE = 0.02
#: Per stage, per horizon: the methods whose equal-weight mean is the chosen forecast.
Members = dict[str, dict[int, tuple[str, ...]]]


def _ape(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows[rows["actual"].notna() & (rows["actual"] > 0)]
    return rows.assign(ape=100 * (rows["forecast"] - rows["actual"]).abs() / rows["actual"])


def _ranked(criterion: pd.Series) -> list[tuple[str, float]]:
    """(method, value) by increasing value, ties by name."""
    frame = pd.DataFrame({"method": criterion.index.astype(str), "value": criterion.to_numpy(dtype=float)})
    frame = frame[np.isfinite(frame["value"])].sort_values(["value", "method"], kind="mergesort")
    return list(zip(frame["method"], frame["value"], strict=True))


def _shrunk(spec: str) -> bool:
    return "+" not in spec and spec.split(":")[0] in SHRUNK


def choose(selection: pd.DataFrame, rule: str, horizons: dict[str, list[int]]) -> Members:
    """The chosen methods per stage and horizon.

    Parameters
    ----------
    selection : DataFrame
        The selection forecasts: ``method, stage, horizon, forecast, actual`` (one row per
        area and origin), outcomes known by the selection year only.
    rule : str
        One of :data:`RULES`.
    horizons : dict
        Per stage, the horizons to fill (those scored).

    Returns
    -------
    dict
        ``stage -> horizon -> methods``.
    """
    if rule not in RULES:
        raise InputError.one("--select-rule", "", "", f"expected one of {', '.join(RULES)}, found {rule!r}")
    rows = _ape(selection)
    candidates = rows[~rows["method"].isin(NAIVE)]
    if candidates.empty:
        candidates = rows
    out: Members = {}
    for stage, hs in horizons.items():
        part = candidates[candidates["stage"] == stage]
        if part.empty:
            continue
        by_h = part.groupby(["method", "horizon"], sort=False)["ape"].mean()
        mean = by_h.groupby(level="method", sort=False).mean()
        ranked = _ranked(mean)
        best = ranked[0][0]
        if rule == "stage":
            out[stage] = {h: (best,) for h in hs}
        elif rule == "horizon":
            per_h = by_h.unstack("horizon")
            out[stage] = {h: (_ranked(per_h[h])[0][0],) if h in per_h.columns and per_h[h].notna().any() else (best,)
                          for h in hs}
        elif rule == "top3":
            members: list[tuple[str, float]] = []
            for method, value in ranked:
                if any(abs(value - kept) <= 1e-9 * max(abs(kept), 1e-300) for _, kept in members):
                    continue
                members.append((method, value))
                if len(members) == TOP:
                    break
            out[stage] = {h: tuple(m for m, _ in members) for h in hs}
        elif rule == "pooled":
            pooled = part.groupby("method", sort=False)["ape"].mean()
            out[stage] = {h: (_ranked(pooled)[0][0],) for h in hs}
        else:  # prefer-shrunk
            limit = (1 + TOLERANCE) * ranked[0][1]
            near = [m for m, v in ranked if v <= limit and _shrunk(m)]
            out[stage] = {h: (near[0] if near else best,) for h in hs}
    return out


def label(methods: tuple[str, ...]) -> str:
    """``A``, or ``mean(A, B, C)`` for the equal-weight mean of several methods (each may be ``X+Y``)."""
    return methods[0] if len(methods) == 1 else "mean(" + ", ".join(methods) + ")"


def describe(members: dict[int, tuple[str, ...]]) -> str:
    """A stage's choice in words: ``A`` or ``mean(A, B, C)``, or per horizon ``h1-2: A; h3-5: B``."""
    labels = {h: label(m) for h, m in sorted(members.items())}
    if len(set(labels.values())) <= 1:
        return next(iter(labels.values()), "")
    parts: list[str] = []
    run: list[int] = []
    for h in sorted(labels):
        if run and labels[h] != labels[run[-1]]:
            parts.append(_span(run) + ": " + labels[run[-1]])
            run = []
        run.append(h)
    parts.append(_span(run) + ": " + labels[run[-1]])
    return "; ".join(parts)


def _span(run: list[int]) -> str:
    return f"h{run[0]}" if len(run) == 1 else f"h{run[0]}-{run[-1]}"


def chosen_rows(fc: pd.DataFrame, members: Members) -> pd.DataFrame:
    """The chosen forecast as rows of method ``chosen``: the mean of the members' forecasts.

    ``fc`` holds every method's forecasts (``method, stage, area_code, origin, horizon,
    forecast, actual, size, large``); a combination's row exists where every member has
    one. Interval columns are not carried (they are set from the chosen rows' own errors).
    """
    keys = ["area_code", "origin"]
    frames = []
    for stage, per_h in members.items():
        here = fc[fc["stage"] == stage]
        for h, methods in per_h.items():
            rows = here[(here["horizon"] == h) & here["method"].isin(methods)]
            if rows.empty:
                continue
            if len(methods) > 1:
                grouped = rows.groupby(keys, sort=False)
                mean = grouped.agg(forecast=("forecast", "mean"), actual=("actual", "first"), size=("size", "first"),
                                   large=("large", "first"), n=("method", "size")).reset_index()
                rows = mean[mean["n"] == len(methods)].drop(columns="n").assign(stage=stage, horizon=h)
            frames.append(rows.assign(method="chosen")[["method", "stage", "area_code", "origin", "horizon",
                                                          "forecast", "actual", "size", "large"]])
    if not frames:
        return pd.DataFrame(columns=["method", "stage", "area_code", "origin", "horizon", "forecast", "actual",
                                     "size", "large"])
    return pd.concat(frames, ignore_index=True).sort_values(["stage", "origin", "horizon", "area_code"],
                                                              kind="mergesort").reset_index(drop=True)
