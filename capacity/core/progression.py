"""Grade progression and cohort-change ratios, their averaging rules and projection (pure numpy).

A *table* is a count by ``(year, area, sex, level)``: ages of a population (single years)
or grades / ages of an enrolment. A progression ratio carries a cohort one level up in one
year,

.. math:: r_{t, j} = \\frac{P_{t+1, j+1}}{P_{t, j}}, \\qquad
          r_{t, L-2} = \\frac{P_{t+1, L-1}}{P_{t, L-2} + P_{t, L-1}} \\text{ (open last level)},

dimensionless; the first level enters from outside (an entry ratio to births ``k`` years
earlier, a child-woman ratio, or held). Averaging rules over the ``k`` most recent years,
ignoring missing (NaN) ratios:

* ``mean`` :math:`\\bar r = \\frac1k \\sum_i r_i`; ``geometric``
  :math:`\\exp(\\frac1k \\sum_i \\ln r_i)` (0 if any ratio is 0); ``median``;
* ``last`` the most recent finite ratio; ``weighted`` :math:`\\sum_i w_i r_i / \\sum_i w_i`
  with weights oldest first (default :math:`w_i = i`, the newest heaviest).

Axis order: tables ``(year, area, sex, level)``; ratios ``(year - 1, area, sex, level - 1)``;
projections ``(step, area, sex, level)``, step ``h`` = ``h`` years after the base.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from capacity.errors import SpecificationError

__all__ = ["RULES", "average", "entry_ratios", "progression_pairs", "progression_ratios", "project_progression",
           "last_factor", "trend_factor", "women_total"]

Array = np.ndarray
RULES = ("mean", "geometric", "median", "last", "weighted")
#: Ages (first, last, inclusive) of the women of a child-woman ratio, years.
WOMAN_AGES = (15, 49)


def _divide(numerator: Array, denominator: Array) -> Array:
    """``numerator / denominator``, NaN where the denominator is 0 or either is NaN."""
    out = np.full(np.broadcast_shapes(numerator.shape, denominator.shape), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def progression_ratios(counts: ArrayLike, *, open_last: bool) -> Array:
    """Progression (cohort-change) ratios of every pair of consecutive years.

    Parameters
    ----------
    counts : array_like, shape (year, area, sex, level)
        Persons; NaN where unknown.
    open_last : bool
        Whether the last level holds all above it.

    Returns
    -------
    ndarray, shape (year - 1, area, sex, level - 1)
        ``r[t, ..., j]`` carries level ``j`` of year ``t`` to level ``j + 1`` of year
        ``t + 1``; NaN where the source count is 0 or unknown.
    """
    return _divide(*progression_pairs(counts, open_last=open_last))


def progression_pairs(counts: ArrayLike, *, open_last: bool) -> tuple[Array, Array]:
    """Numerators and denominators of the progression ratios (see :func:`progression_ratios`).

    Returns
    -------
    (ndarray, ndarray), each shape (year - 1, area, sex, level - 1)
        :math:`P_{t+1, j+1}` and :math:`P_{t, j}` (open last level:
        :math:`P_{t, L-2} + P_{t, L-1}`), persons.
    """
    P = np.asarray(counts, dtype=float)
    if P.ndim != 4 or P.shape[3] < 2:
        raise SpecificationError(f"counts has shape {P.shape}: expected (year, area, sex, level >= 2)")
    source = np.array(P[:-1, :, :, :-1], copy=True)
    if open_last:
        source[..., -1] += P[:-1, :, :, -1]
    return np.array(P[1:, :, :, 1:], copy=True), source


def entry_ratios(entrants: ArrayLike, drivers: ArrayLike) -> Array:
    """Entry ratios ``entrants / drivers`` (NaN where the driver is 0 or unknown).

    Entrants are the first level in year ``t``; drivers the births of year ``t - k`` or,
    for a child-woman ratio, the women of ``WOMAN_AGES`` in year ``t``.
    """
    return _divide(np.asarray(entrants, dtype=float), np.asarray(drivers, dtype=float))


def average(values: ArrayLike, rule: str, weights: Sequence[float] | None = None) -> Array:
    """Average ratios of past years along axis 0 by a rule, skipping NaN.

    Parameters
    ----------
    values : array_like, shape (k, ...)
        Ratios of the ``k`` most recent years, oldest first.
    rule : {"mean", "geometric", "median", "last", "weighted"}
    weights : sequence of float, optional
        ``weighted`` only: ``k`` weights >= 0, oldest first (default ``1, 2, ..., k``).

    Returns
    -------
    ndarray, shape (...)
        NaN where every value is NaN.
    """
    v = np.asarray(values, dtype=float)
    if rule not in RULES:
        raise SpecificationError(f"rule = {rule!r}: expected one of {', '.join(RULES)}")
    if v.ndim < 1 or v.shape[0] < 1:
        raise SpecificationError(f"values has shape {v.shape}: expected at least one year on axis 0")
    finite = np.isfinite(v)
    any_finite = finite.any(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        if rule == "mean" or rule == "weighted":
            if rule == "mean":
                w = np.ones(v.shape[0])
            else:
                w = np.arange(1.0, v.shape[0] + 1) if weights is None else np.asarray(weights, dtype=float)
                if w.shape != (v.shape[0],) or not np.all(np.isfinite(w)) or np.any(w < 0):
                    raise SpecificationError(f"weights = {list(w)}: expected {v.shape[0]} finite weights >= 0")
            W = np.where(finite, w.reshape((-1,) + (1,) * (v.ndim - 1)), 0.0)
            total = np.where(finite, v, 0.0) * W
            out = total.sum(axis=0) / W.sum(axis=0)
        elif rule == "geometric":
            logs = np.where(finite, np.log(np.where(finite, v, 1.0)), 0.0)
            out = np.exp(logs.sum(axis=0) / finite.sum(axis=0))
        elif rule == "median":
            out = np.nanmedian(np.where(any_finite, v, 0.0), axis=0)
        else:  # last
            position = v.shape[0] - 1 - np.argmax(finite[::-1], axis=0)
            out = np.take_along_axis(v, position[np.newaxis], axis=0)[0]
    return np.where(any_finite, out, np.nan)


def women_total(table: Array, ages: tuple[int, int] = WOMAN_AGES) -> Array:
    """Women of ``ages`` (inclusive) in a population table ``(..., sex, age)``: shape ``(...)``."""
    return np.asarray(table[..., 0, ages[0]: ages[1] + 1].sum(axis=-1))


def project_progression(
    base: ArrayLike,
    ratios: ArrayLike,
    *,
    steps: int,
    open_last: bool,
    entrants: ArrayLike | None = None,
    cwr: ArrayLike | None = None,
) -> Array:
    """Project a table by constant progression ratios.

    One step: :math:`P_{t+1, j+1} = r_j P_{t, j}` (open last level:
    :math:`P_{t+1, L-1} = r_{L-2} (P_{t, L-2} + P_{t, L-1})`), and the first level either
    given (``entrants``) or :math:`P_{t+1, 0, s} = CWR_s W_{t+1}` with :math:`W` the women
    of ``WOMAN_AGES`` projected to the end of the step (population tables).

    Parameters
    ----------
    base : array_like, shape (area, sex, level)
        Persons at the origin.
    ratios : array_like, shape (area, sex, level - 1)
        Progression ratios (>= 0; NaN is read as 0: nobody carried).
    steps : int
        Years projected (>= 1).
    open_last : bool
        Whether the last level holds all above it.
    entrants : array_like, shape (steps, area, sex), optional
        Persons entering the first level in each projected year.
    cwr : array_like, shape (area, sex) or (steps, area, sex), optional
        Child-woman ratios (first level per woman of ``WOMAN_AGES``), if no ``entrants``;
        one per projected year if 3-D.

    Returns
    -------
    ndarray, shape (steps, area, sex, level)
    """
    P = np.asarray(base, dtype=float)
    R = np.nan_to_num(np.asarray(ratios, dtype=float), nan=0.0)
    if P.ndim != 3 or R.shape != P.shape[:2] + (P.shape[2] - 1,):
        raise SpecificationError(f"ratios has shape {R.shape}: expected {P.shape[:2] + (P.shape[2] - 1,)} for base {P.shape}")
    if (entrants is None) == (cwr is None):
        raise SpecificationError("expected exactly one of entrants and cwr")
    C = None if cwr is None else np.nan_to_num(np.asarray(cwr, dtype=float))
    if C is not None and C.shape not in (P.shape[:2], (steps,) + P.shape[:2]):
        raise SpecificationError(f"cwr has shape {C.shape}: expected {P.shape[:2]} or {(steps,) + P.shape[:2]}")
    out = np.empty((steps,) + P.shape)
    current = P
    for h in range(steps):
        nxt = out[h]
        nxt[..., 1:] = R * current[..., :-1]
        if open_last:
            nxt[..., -1] += R[..., -1] * current[..., -1]
        if entrants is not None:
            nxt[..., 0] = np.asarray(entrants, dtype=float)[h]
        elif C is not None:
            nxt[..., 0] = (C[h] if C.ndim == 3 else C) * women_total(nxt)[..., np.newaxis]
        current = nxt
    return out


def trend_factor(series: ArrayLike, steps: int) -> Array:
    """Factors that carry a window's mean level along its least-squares line.

    With the window's values :math:`y_i` at :math:`i = 0 .. k-1` (oldest first, the
    last at the origin; NaN skipped) and their line :math:`a + b\\,i`,

    .. math:: f_h = \\frac{\\max(0,\\ a + b\\,(k - 1 + h))}{\\bar y}, \\qquad h = 1 .. H,

    dimensionless: the level ``h`` years after the origin over the window's mean. 1
    where fewer than two values are known or :math:`\\bar y \\le 0`.

    Parameters
    ----------
    series : array_like, shape (k, ...)
        Values of the window, e.g. the pooled child-woman ratio of each year.
    steps : int
        ``H``, the years projected.

    Returns
    -------
    ndarray, shape (steps, ...)
    """
    y = np.asarray(series, dtype=float)
    finite = np.isfinite(y)
    n = finite.sum(axis=0)
    x = np.arange(y.shape[0], dtype=float).reshape((-1,) + (1,) * (y.ndim - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(finite, y, 0.0).sum(axis=0) / n
        x_mean = np.where(finite, x, 0.0).sum(axis=0) / n
        dx = np.where(finite, x - x_mean, 0.0)
        sxx = (dx * dx).sum(axis=0)
        slope = (dx * np.where(finite, y - y_mean, 0.0)).sum(axis=0) / sxx
        at = np.arange(y.shape[0], y.shape[0] + steps, dtype=float).reshape((-1,) + (1,) * (y.ndim - 1))
        factor = np.maximum(0.0, y_mean + slope * (at - x_mean)) / y_mean
    usable = (n >= 2) & (sxx > 0) & (y_mean > 0)
    return np.asarray(np.where(usable, factor, 1.0))


def last_factor(series: ArrayLike, steps: int) -> Array:
    """Factors that carry a window's mean level to its latest value, held.

    .. math:: f_h = \\frac{y_{last}}{\\bar y}, \\qquad h = 1 .. H,

    :math:`y_{last}` the most recent finite value of the window (oldest first),
    :math:`\\bar y` the mean of its finite values; dimensionless. 1 where no value is
    known or :math:`\\bar y \\le 0`.

    Parameters
    ----------
    series : array_like, shape (k, ...)
        Values of the window, e.g. the pooled child-woman ratio of each year.
    steps : int
        ``H``, the years projected.

    Returns
    -------
    ndarray, shape (steps, ...)
    """
    y = np.asarray(series, dtype=float)
    finite = np.isfinite(y)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        y_mean = np.where(finite, y, 0.0).sum(axis=0) / n
        factor = average(y, "last") / y_mean
    usable = (n >= 1) & (y_mean > 0)
    return np.asarray(np.repeat(np.where(usable, factor, 1.0)[np.newaxis], steps, axis=0))
