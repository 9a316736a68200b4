"""Empirical-Bayes shrinkage of small-area ratios toward the pooled ratio of all areas (pure numpy).

A ratio of an area (a progression / cohort-change ratio, an entry ratio, a child-woman
ratio) averaged over a few past years is noisy where the area is small. Each year's area
ratio is read as the pooled ratio of all areas that year plus the area's lasting
difference plus noise whose variance falls with the area's size (a ratio of counts):

.. math:: r_{ia} = \\frac{N_{ia}}{D_{ia}} = R_i + \\theta_a + \\varepsilon_{ia}, \\qquad
          R_i = \\frac{\\sum_a N_{ia}}{\\sum_a D_{ia}}, \\qquad
          \\operatorname{Var} \\varepsilon_{ia} = \\frac{\\phi}{D_{ia}}, \\qquad
          \\theta_a \\sim (0, \\tau^2),

``i`` the past years of the window, ``a`` the areas, ``N`` and ``D`` persons (the
ratio's numerator and denominator). :func:`eb_shrink` estimates the lasting differences
from the deviations :math:`d_{ia} = r_{ia} - R_i` (weights :math:`D_{ia}`), with
:math:`n_a` the area's years with a ratio:

.. math:: \\bar d_a = \\frac{1}{n_a} \\sum_i d_{ia}, \\qquad
          v_a = \\frac{\\hat\\phi}{n_a^2} \\sum_i \\frac{1}{D_{ia}}, \\qquad
          \\hat\\phi = \\frac{\\sum_a \\sum_i D_{ia} (d_{ia} - \\tilde d_a)^2}{\\sum_a (n_a - 1)},
          \\quad \\tilde d_a = \\frac{\\sum_i D_{ia} d_{ia}}{\\sum_i D_{ia}},

.. math:: \\hat\\tau^2 = \\max\\Big(0, \\frac{1}{A} \\sum_a (\\bar d_a^2 - v_a)\\Big), \\qquad
          w_a = \\frac{\\hat\\tau^2}{\\hat\\tau^2 + v_a}, \\qquad
          \\hat\\theta_a = w_a \\bar d_a,

:math:`v_a` the sampling variance of :math:`\\bar d_a` (the dispersion :math:`\\phi` in
persons, pooled over areas), :math:`\\hat\\tau^2` the between-area variance by the method of
moments (:math:`E \\bar d_a^2 = \\tau^2 + v_a`), ``A`` the areas with a ratio, :math:`w_a`
the James-Stein / empirical-Bayes weight (Morris 1983, JASA 78: 47-55): a large area with
a steady ratio keeps its own difference (``w`` near 1), a small or erratic one moves
toward the pool. Moments are taken per trailing cell (sex, level), over years and areas.

**Two levels over ages** (:func:`shrink_ratios` with ``band = b > 0``). An area's
difference at one age is mostly shared with the ages next to it (families move with
children of several ages), and shrinking each age alone would shrink that shared part
too. So the deviations are split into the band mean over the ages ``j - b .. j + b``
(clipped at the ends) and the age's own remainder,

.. math:: g_{iaj} = \\frac{\\sum_{k \\in B(j)} D_{iak} d_{iak}}{\\sum_{k \\in B(j)} D_{iak}},
          \\qquad e_{iaj} = d_{iaj} - g_{iaj},

each shrunk by :func:`eb_shrink` (``g`` with weights :math:`\\sum_{k \\in B(j)} D_{iak}`,
``e`` with :math:`D_{iaj}`), and

.. math:: \\hat r_{aj} = \\bar R_j + \\hat\\theta^g_{aj} + \\hat\\theta^e_{aj}, \\qquad
          \\bar R_j = \\frac{1}{n} \\sum_i R_{ij}.

With ``band = 0``: :math:`\\hat r_a = \\bar R + \\hat\\theta_a` (one level).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from capacity.errors import SpecificationError

__all__ = ["EB", "Shrunk", "band_mean", "eb_shrink", "shrink_ratios"]

Array = np.ndarray


@dataclass(frozen=True)
class EB:
    """One empirical-Bayes fit of lasting differences (see the module docstring).

    Attributes
    ----------
    estimate : ndarray, shape (area, ...)
        :math:`\\hat\\theta_a = w_a \\bar d_a` (0 for an area with no value).
    weight : ndarray, shape (area, ...)
        :math:`w_a` in [0, 1] (0 for an area with no value).
    mean : ndarray, shape (area, ...)
        :math:`\\bar d_a` (0 for an area with no value).
    between : ndarray, shape (...)
        :math:`\\hat\\tau^2`.
    dispersion : ndarray, shape (...)
        :math:`\\hat\\phi` (persons x the squared unit of the values).
    """

    estimate: Array
    weight: Array
    mean: Array
    between: Array
    dispersion: Array


@dataclass(frozen=True)
class Shrunk:
    """Shrunk ratios and their parts.

    Attributes
    ----------
    ratio : ndarray, shape (area, ...)
        :math:`\\hat r_a`, dimensionless; :math:`\\bar R` for an area with no ratio in
        the window; NaN where no area has one.
    pooled : ndarray, shape (...)
        :math:`\\bar R`, the window's mean of the pooled ratios.
    levels : tuple of EB
        The fits: ``(one,)`` for ``band = 0``, ``(band, remainder)`` otherwise.
    """

    ratio: Array
    pooled: Array
    levels: tuple[EB, ...]


def eb_shrink(values: ArrayLike, sizes: ArrayLike, present: ArrayLike) -> EB:
    """Empirical-Bayes estimates of each area's lasting mean of ``values``.

    Parameters
    ----------
    values : array_like, shape (year, area, ...)
        Deviations :math:`d_{ia}` (any unit); read only where ``present``.
    sizes : array_like, shape (year, area, ...)
        :math:`D_{ia}` > 0 where ``present``, persons: the variance of a value is
        :math:`\\phi / D_{ia}`.
    present : array_like of bool, shape (year, area, ...)

    Returns
    -------
    EB
    """
    ok = np.asarray(present, dtype=bool)
    d = np.where(ok, np.asarray(values, dtype=float), 0.0)
    D = np.where(ok, np.asarray(sizes, dtype=float), 0.0)
    if d.shape != ok.shape or D.shape != ok.shape or d.ndim < 2:
        raise SpecificationError(f"values {d.shape}, sizes {D.shape}, present {ok.shape}: expected one shape (year, area, ...)")
    if np.any(D[ok] <= 0):
        raise SpecificationError("sizes: expected > 0 where present")
    n = ok.sum(axis=0)
    has = n > 0
    n_safe = np.where(has, n, 1)
    d_bar = d.sum(axis=0) / n_safe
    d_tilde = (D * d).sum(axis=0) / np.where(has, D.sum(axis=0), 1.0)
    spread = np.where(ok, D * (d - d_tilde) ** 2, 0.0).sum(axis=(0, 1))
    dof = np.where(has, n - 1, 0).sum(axis=0)
    phi = np.where(dof > 0, spread / np.where(dof > 0, dof, 1), 0.0)
    inverse = np.where(ok, 1.0 / np.where(ok, D, 1.0), 0.0).sum(axis=0)
    v = phi * inverse / n_safe**2
    areas = has.sum(axis=0)
    tau2 = np.maximum(0.0, np.where(has, d_bar**2 - v, 0.0).sum(axis=0) / np.where(areas > 0, areas, 1))
    total = tau2 + v
    weight = np.where(has, np.where(total > 0, tau2 / np.where(total > 0, total, 1.0), 1.0), 0.0)
    return EB(weight * d_bar, weight, d_bar, tau2, phi)


def band_mean(values: ArrayLike, sizes: ArrayLike, present: ArrayLike, band: int) -> tuple[Array, Array, Array]:
    """Size-weighted means of ``values`` over the last axis within ``band`` cells each side.

    Returns
    -------
    (ndarray, ndarray, ndarray)
        :math:`g_{\\cdot j}`, the band sizes :math:`\\sum_{k \\in B(j)} D_k` and whether
        any cell of the band is present; shapes as ``values``.
    """
    ok = np.asarray(present, dtype=bool)
    weighted = np.where(ok, np.asarray(values, dtype=float) * np.asarray(sizes, dtype=float), 0.0)
    D = np.where(ok, np.asarray(sizes, dtype=float), 0.0)
    L = ok.shape[-1]
    cum_w = np.concatenate([np.zeros(weighted.shape[:-1] + (1,)), np.cumsum(weighted, axis=-1)], axis=-1)
    cum_d = np.concatenate([np.zeros(D.shape[:-1] + (1,)), np.cumsum(D, axis=-1)], axis=-1)
    lo = np.maximum(np.arange(L) - band, 0)
    hi = np.minimum(np.arange(L) + band + 1, L)
    total_w = cum_w[..., hi] - cum_w[..., lo]
    total_d = cum_d[..., hi] - cum_d[..., lo]
    any_ok = total_d > 0
    return np.where(any_ok, total_w / np.where(any_ok, total_d, 1.0), 0.0), total_d, any_ok


def shrink_ratios(numerator: ArrayLike, denominator: ArrayLike, band: int = 0) -> Shrunk:
    """Average each area's ratios over a window and shrink them toward the pooled ratio.

    Parameters
    ----------
    numerator, denominator : array_like, shape (year, area, ...)
        Persons: the ratio of year ``i`` and area ``a`` is ``numerator / denominator``.
        A cell with a denominator <= 0 or either value NaN has no ratio and is left out
        of every sum (of the pooled ratio too).
    band : int
        0: one level. ``b > 0``: two levels, the band of ``b`` cells each side along the
        last axis (ages or grades) and the remainder (module docstring).

    Returns
    -------
    Shrunk
    """
    N = np.asarray(numerator, dtype=float)
    D = np.asarray(denominator, dtype=float)
    if N.shape != D.shape or N.ndim < 2:
        raise SpecificationError(f"numerator {N.shape} and denominator {D.shape}: expected one shape (year, area, ...)")
    if band < 0 or (band > 0 and N.ndim < 3):
        raise SpecificationError(f"band = {band}: expected 0, or >= 1 with a last axis of levels")
    ok = np.isfinite(N) & np.isfinite(D) & (D > 0)
    Nz = np.where(ok, N, 0.0)
    Dz = np.where(ok, D, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled_year = Nz.sum(axis=1) / np.where(ok, D, 0.0).sum(axis=1)  # R_i, NaN where no area has a ratio
    d = np.where(ok, Nz / Dz - np.where(np.isfinite(pooled_year), pooled_year, 0.0)[:, np.newaxis], 0.0)
    known = np.isfinite(pooled_year)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(known, pooled_year, 0.0).sum(axis=0) / known.sum(axis=0)
    if band == 0:
        one = eb_shrink(d, Dz, ok)
        return Shrunk(np.asarray(pooled + one.estimate), np.asarray(pooled), (one,))
    g, size_g, ok_g = band_mean(d, Dz, ok, band)
    common = eb_shrink(g, np.where(ok_g, size_g, 1.0), ok_g)
    remainder = eb_shrink(d - g, Dz, ok)
    return Shrunk(np.asarray(pooled + common.estimate + remainder.estimate), np.asarray(pooled), (common, remainder))
