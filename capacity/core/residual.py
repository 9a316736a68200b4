"""Cohort-component projection with net migration from the residual method (pure numpy).

Where a history has populations by single year of age but no migration (and perhaps no
deaths), net migration is the residual of the cohort's change (Siegel & Swanson 2004,
"residual method"):

.. math:: M_{t, j+1} = P_{t+1, j+1} - S_j P_{t, j}, \\qquad
          M_{t, L-1} = P_{t+1, L-1} - S_{L-2} (P_{t, L-2} + P_{t, L-1}) \\text{ (open)},

persons per year; with survival :math:`S = 1` the residual also holds the deaths. The
projection adds migrants rather than multiplying by a ratio (the difference from
Hamilton-Perry): :math:`P_{t+1, j+1} = \\max(0, S_j P_{t, j} + M_{j+1})`. The first level
(age 0) is :math:`CWR_s W_{t+1}`, births proxied by a child-woman ratio.

Migration over the projection is either the window's average (``mean``) or its linear
trend (``trend``): per cell, the least-squares line through the window's residuals,
evaluated at each projected year.

Axis order as :mod:`capacity.core.progression`: tables ``(year, area, sex, level)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from capacity.core.progression import women_total
from capacity.errors import SpecificationError

__all__ = ["migration_path", "project_additive", "residual_migration"]

Array = np.ndarray


def residual_migration(counts: ArrayLike, survival: ArrayLike | None = None) -> Array:
    """Net migrants of every year by the residual method (last level open).

    Parameters
    ----------
    counts : array_like, shape (year, area, sex, level)
        Persons; NaN where unknown.
    survival : array_like, shape (sex, level - 1), optional
        One-year survival from level ``j`` to ``j + 1`` (default 1).

    Returns
    -------
    ndarray, shape (year - 1, area, sex, level - 1)
        ``M[t, ..., j]`` migrants into level ``j + 1`` during year ``t`` (persons).
    """
    P = np.asarray(counts, dtype=float)
    S = np.ones(P.shape[2:3] + (P.shape[3] - 1,)) if survival is None else np.asarray(survival, dtype=float)
    source = np.array(P[:-1, :, :, :-1], copy=True)
    source[..., -1] += P[:-1, :, :, -1]
    return np.asarray(P[1:, :, :, 1:] - S * source)


def migration_path(window: ArrayLike, steps: int, rule: str) -> Array:
    """Migrants of each projected year from a window of residuals.

    Parameters
    ----------
    window : array_like, shape (k, ...)
        Residual migrants of the ``k`` most recent years, oldest first (NaN skipped).
    steps : int
        Projected years.
    rule : {"mean", "trend"}
        ``mean``: the window's mean every year. ``trend``: the least-squares line
        :math:`a + b\\,i` through the window (``i = 0 .. k-1``) at ``i = k, ..., k + steps - 1``.

    Returns
    -------
    ndarray, shape (steps, ...)
    """
    M = np.asarray(window, dtype=float)
    finite = np.isfinite(M)
    n = finite.sum(axis=0)
    x = np.arange(M.shape[0], dtype=float).reshape((-1,) + (1,) * (M.ndim - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, M, 0.0).sum(axis=0) / n
        if rule == "mean":
            slope = np.zeros_like(mean)
            x_mean = np.zeros_like(mean)
        elif rule == "trend":
            x_mean = np.where(finite, x, 0.0).sum(axis=0) / n
            dx = np.where(finite, x - x_mean, 0.0)
            sxx = (dx * dx).sum(axis=0)
            slope = np.where(sxx > 0, (dx * np.where(finite, M - mean, 0.0)).sum(axis=0) / np.where(sxx > 0, sxx, 1.0), 0.0)
        else:
            raise SpecificationError(f"rule = {rule!r}: expected 'mean' or 'trend'")
    at = np.arange(M.shape[0], M.shape[0] + steps, dtype=float).reshape((-1,) + (1,) * (M.ndim - 1))
    path = np.nan_to_num(mean) + np.nan_to_num(slope) * (at - x_mean)
    return np.asarray(path)


def project_additive(base: ArrayLike, migrants: ArrayLike, cwr: ArrayLike | None, *, steps: int,
                     survival: ArrayLike | None = None, entrants: ArrayLike | None = None) -> Array:
    """Project a population by survival plus net migrants (last level open).

    Parameters
    ----------
    base : array_like, shape (area, sex, level)
        Persons at the origin.
    migrants : array_like, shape (steps, area, sex, level - 1)
        Net migrants into levels ``1 ..`` in each projected year (persons).
    cwr : array_like, shape (area, sex), or None
        Children of age 0 per woman aged 15-49 (None with ``entrants``).
    steps : int
    survival : array_like, shape (sex, level - 1), optional
        Default 1.
    entrants : array_like, shape (steps, area, sex), optional
        Persons of age 0 in each projected year, instead of ``cwr`` times the projected
        women (a population without female rows).

    Returns
    -------
    ndarray, shape (steps, area, sex, level)
        Negative counts are set to 0.
    """
    P = np.asarray(base, dtype=float)
    M = np.asarray(migrants, dtype=float)
    S = np.ones(P.shape[1:2] + (P.shape[2] - 1,)) if survival is None else np.asarray(survival, dtype=float)
    if M.shape != (steps,) + P.shape[:2] + (P.shape[2] - 1,):
        raise SpecificationError(f"migrants has shape {M.shape}: expected {(steps,) + P.shape[:2] + (P.shape[2] - 1,)}")
    if (entrants is None) == (cwr is None):
        raise SpecificationError("expected exactly one of cwr and entrants")
    E = None if entrants is None else np.broadcast_to(np.asarray(entrants, dtype=float), (steps,) + P.shape[:2])
    out = np.empty((steps,) + P.shape)
    current = P
    for h in range(steps):
        nxt = out[h]
        nxt[..., 1:] = S * current[..., :-1]
        nxt[..., -1] += S[..., -1] * current[..., -1]
        nxt[..., 1:] += M[h]
        np.maximum(nxt, 0.0, out=nxt)
        if E is not None:
            nxt[..., 0] = E[h]
        else:
            nxt[..., 0] = np.nan_to_num(np.asarray(cwr, dtype=float)) * women_total(nxt)[..., np.newaxis]
        current = nxt
    return out
