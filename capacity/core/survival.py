"""Survival ratios of the cohort-component projection from life-table person-years.

Notation as in :mod:`capacity.core.step` and ``docs/model.md``: ``n`` is the width of the
age groups and the length of a step (years), ``l0`` the life-table radix (births),
``nLx`` the person-years lived in age group ``x`` by the life-table cohort, and the last
group ``G - 1`` is open (its ``nLx`` is ``T`` of the open age).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from capacity.core._checks import Array, _as_float, _check_int, _check_values, _raise_at
from capacity.errors import SpecificationError

__all__ = ["DEFAULT_RADIX", "survival_ratios"]

DEFAULT_RADIX = 100_000.0
"""Default life-table radix ``l0``."""


def survival_ratios(nLx: ArrayLike, *, width: int = 1, radix: float = DEFAULT_RADIX) -> Array:
    """Survival ratios into each age group from life-table person-years.

    Parameters
    ----------
    nLx : array_like, shape (step, area, sex, G, draw)
        Person-years lived in age group ``x`` (ages ``[x n, x n + n)``) by a life-table
        cohort of ``radix`` births, person-years; the last group is open and holds
        ``T`` of the open age (all person-years above it). Axes of length 1 broadcast.
    width : int
        Width ``n`` of the age groups and of a projection step, years.
    radix : float
        Life-table radix ``l0``, persons (births).

    Returns
    -------
    ndarray, same shape as ``nLx``
        ``S[..., x, :]``, the probability of surviving *into* group ``x`` during one
        step (dimensionless, in [0, 1]):

        * births: :math:`S_0 = {}_nL_0 / (n\\, l_0)`
          (births of the step, spread over the step, to group 0 at its end);
        * closed groups: :math:`S_x = {}_nL_x / {}_nL_{x-1}` for ``1 <= x <= G - 2``
          (group ``x - 1`` to group ``x``);
        * open group: :math:`S_{G-1} = T_{G-1} / ({}_nL_{G-2} + T_{G-1})`
          (groups ``G - 2`` and ``G - 1`` together into the open group).

    Raises
    ------
    SpecificationError
        If ``nLx`` is not 5-d with at least two age groups, not finite or not > 0, if
        ``nL0 > n l0``, or if ``nLx`` increases with age below the open group (a
        survival ratio above 1).
    """
    width = _check_int("width", width, minimum=1)
    radix_value = float(radix) if isinstance(radix, (int, float, np.integer, np.floating)) else math.nan
    if not (math.isfinite(radix_value) and radix_value > 0):
        raise SpecificationError(f"radix = {radix!r}: expected a finite value > 0")
    L = _as_float("nLx", nLx)
    if L.ndim != 5:
        raise SpecificationError(
            f"nLx has shape {L.shape}: expected a 5-d array (step, area, sex, age, draw)"
        )
    if L.shape[3] < 2:
        raise SpecificationError(
            f"nLx has shape {L.shape}: axis 3 (age) has length {L.shape[3]}, expected at "
            "least 2 age groups (the last one is open)"
        )
    _check_values("nLx", L, low=0.0, low_open=True)
    first = L[:, :, :, 0, :]
    if (first > width * radix_value).any():
        bad = np.zeros(L.shape, dtype=bool)
        bad[:, :, :, 0, :] = first > width * radix_value
        _raise_at("nLx", L, bad, f"expected a value <= width * radix = {width * radix_value:g}")
    increase = np.zeros(L.shape, dtype=bool)
    increase[:, :, :, 1:-1, :] = L[:, :, :, 1:-1, :] > L[:, :, :, :-2, :]
    if increase.any():
        _raise_at(
            "nLx",
            L,
            increase,
            "expected a value <= nLx of the previous age group (nLx must not increase "
            "with age below the open group: survival ratio <= 1)",
        )
    S = np.empty_like(L)
    S[:, :, :, 0, :] = first / (width * radix_value)
    np.divide(L[:, :, :, 1:-1, :], L[:, :, :, :-2, :], out=S[:, :, :, 1:-1, :])
    S[:, :, :, -1, :] = L[:, :, :, -1, :] / (L[:, :, :, -2, :] + L[:, :, :, -1, :])
    return S
