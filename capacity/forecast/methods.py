"""Forecasting methods behind one interface, fitted on the years up to an origin only.

Every method is a :class:`Method`: ``project(table, origin, steps)`` returns the table's
counts for the ``steps`` years after year index ``origin``, shape ``(step, area, sex,
level)``, using ``table.counts[: origin + 1]`` (and births of years up to the origin)
and nothing later. Methods are named by a spec ``name[:rule[:years]]``:

=============================  ===============================================  ==========
spec                           what                                             tables
=============================  ===============================================  ==========
``last``                       naive: the origin's counts carried forward       all
``ratio``                      naive: progression / cohort-change ratios and    all
                               entry, mean of the history's ``naive_years``
``progression:RULE:YEARS``     grade progression: ratios averaged by RULE       all
                               (mean, geometric, median, last, weighted) over
                               YEARS past years; entry ratio to births ``k``
                               years earlier (or child-woman ratio, or entry
                               averaged by RULE)
``shrunk:SHRINK:YEARS``        progression with every area's ratios (and entry  all
                               ratios) shrunk toward the pooled ratio of all
                               areas by empirical Bayes
                               (:mod:`capacity.core.shrinkage`); SHRINK
                               ``pooled`` (one level) or ``bandB`` (the band of
                               B ages each side, then the age's remainder)
``shrunk-trend:SHRINK:YEARS``  as ``shrunk``; the entry ratio (or held entry     all
                               level) moves with the least-squares line of the
                               pooled one over the window
``shrunk-last:SHRINK:YEARS``   as ``shrunk``; the entry ratio moves to the      all
                               pooled one's latest value
``hamilton-perry:RULE:YEARS``  :func:`capacity.core.hamilton_perry.project_     population
                               hamilton_perry` with averaged ratios (default
                               ``last:1``, the classic one-interval method)     (female
                                                                                rows)
``cohort-component:MIG:YEARS`` survival + residual net migrants, ``MIG`` mean   population
                               or trend over YEARS; age 0 by child-woman ratio
``combined:RULE:YEARS``        the mean of ``progression:RULE:YEARS`` and       all
                               ``last`` (an equal-weight forecast combination)
``SPEC+SPEC[+...]``            the equal-weight mean of the methods' forecasts  where all
                                                                                apply
=============================  ===============================================  ==========

A population counted for both sexes together (``Table.women`` given, no female rows)
enters age 0 as the child-woman ratio times the women of :func:`women_path`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from capacity.core.hamilton_perry import project_hamilton_perry
from capacity.core.progression import (
    RULES,
    average,
    entry_ratios,
    last_factor,
    progression_pairs,
    progression_ratios,
    project_progression,
    trend_factor,
    women_total,
)
from capacity.core.residual import migration_path, project_additive, residual_migration
from capacity.core.shrinkage import shrink_ratios
from capacity.errors import InputError
from capacity.forecast.history import Table

__all__ = ["DEFAULT_METHODS", "NAIVE", "Method", "parse_method", "women_path"]

Array = np.ndarray
NAIVE = ("last", "ratio")
#: The methods ``capacity backtest --methods all`` runs.
DEFAULT_METHODS = (
    "last", "ratio",
    "progression:mean:3", "progression:mean:5", "progression:geometric:5", "progression:median:5",
    "progression:weighted:5", "progression:last:1",
    "hamilton-perry:last:1", "hamilton-perry:weighted:3",
    "cohort-component:mean:5", "cohort-component:trend:5", "cohort-component:mean:3",
    "combined:mean:5", "combined:weighted:5",
    "shrunk:pooled:5", "shrunk:band3:5", "shrunk-trend:band3:5", "shrunk-last:band3:5",
    "shrunk:band3:5+cohort-component:mean:5",
)
#: Rules of ``shrunk``: one level toward the pool, or two with a band of 1..4 ages each side.
SHRINK_RULES = ("pooled", "band1", "band2", "band3", "band4")
#: The empirical-Bayes families and how their entry moves with the pooled entry ratio.
SHRUNK = {"shrunk": "window", "shrunk-trend": "trend", "shrunk-last": "last"}
FAMILIES = ("last", "ratio", "progression", *SHRUNK, "hamilton-perry", "cohort-component", "combined")


@dataclass(frozen=True)
class Method:
    """A forecasting method.

    Attributes
    ----------
    spec : str
        Its name as written (``progression:median:5``).
    family : str
        One of :data:`FAMILIES`, or ``mean`` for an equal-weight combination of ``parts``.
    rule : str
        Averaging rule (progression, Hamilton-Perry), migration rule (``mean``/``trend``)
        or shrinkage (``pooled``/``bandB``).
    years : int
        Past years of ratios (or residuals) used; 0 for ``ratio``: the history's ``naive_years``.
    parts : tuple of Method
        The methods combined (family ``mean``), else empty.
    """

    spec: str
    family: str
    rule: str = "mean"
    years: int = 0
    parts: tuple[Method, ...] = ()

    @property
    def canonical(self) -> str:
        """The spec with every rule and number of years written out (``progression`` -> ``progression:mean:5``).

        What a scenario's ``method`` takes unambiguously: there, ``cohort-component`` alone
        means the engine with the district's rates, ``cohort-component:mean:5`` this method.
        """
        if self.parts:
            return "+".join(part.canonical for part in self.parts)
        return self.family if self.naive else f"{self.family}:{self.rule}:{self.years}"

    @property
    def naive(self) -> bool:
        """Whether this is one of the two naive baselines."""
        return self.family in NAIVE

    def applies(self, table: Table) -> bool:
        """Whether the method can project this table."""
        if self.parts:
            return all(part.applies(table) for part in self.parts)
        if self.family == "hamilton-perry":  # the engine's method reads the women from its female rows
            return table.kind == "population" and table.women is None
        return table.kind == "population" or self.family != "cohort-component"

    def project(self, table: Table, origin: int, steps: int, naive_years: int = 5) -> Array:
        """Counts of the ``steps`` years after year index ``origin`` (fitted up to it only).

        Parameters
        ----------
        table : Table
            The history table; only ``counts[: origin + 1]`` and births up to ``origin``
            are read.
        origin : int
            Index of the origin year on ``table.years`` (>= 1).
        steps : int
            Years projected (>= 1).
        naive_years : int
            Years averaged by ``ratio`` (the history's ``naive_years``).

        Returns
        -------
        ndarray, shape (steps, area, sex, level)
            Persons; ``[h - 1]`` is the year ``origin + h``.
        """
        if self.parts:
            projections = [part.project(table, origin, steps, naive_years) for part in self.parts]
            return np.asarray(sum(projections[1:], projections[0]) / len(projections))
        known = table.counts[: origin + 1]
        base = np.nan_to_num(known[-1])
        if self.family == "last":
            return np.repeat(base[np.newaxis], steps, axis=0)
        if self.family == "combined":
            ratio = Method(self.spec, "progression", self.rule, self.years).project(table, origin, steps, naive_years)
            return np.asarray(0.5 * (ratio + base[np.newaxis]))
        years = self.years or naive_years
        start = _window_start(known, years)
        counts = known[start:]
        latest = counts[1:]  # the years ending each pair: `years` of them, for entry ratios
        # women 15-49 of the window's years and their path (a population by both sexes), else None
        women = None if table.women is None else table.women[start: origin + 1]
        if self.family == "cohort-component":
            migrants = migration_path(residual_migration(counts), steps, self.rule)
            if women is not None:
                return project_additive(base, migrants, None, steps=steps, entrants=_born(latest, women, "mean", steps))
            return project_additive(base, migrants, _cwr(latest, "mean"), steps=steps)
        if self.family in SHRUNK:
            band = int(self.rule[4:]) if self.rule.startswith("band") else 0
            shrunk = shrink_ratios(*progression_pairs(counts, open_last=table.open_last), band=band).ratio
            entry = SHRUNK[self.family]
            if women is not None:
                return project_progression(base, shrunk, steps=steps, open_last=True,
                                           entrants=_born(latest, women, "shrunk", steps, entry))
            if table.kind == "population":
                return project_progression(base, shrunk, steps=steps, open_last=True, cwr=_cwr(latest, "shrunk", steps, entry))
            entrants = _entrants(table, origin, steps, latest, "shrunk", entry)
            return project_progression(base, shrunk, steps=steps, open_last=table.open_last, entrants=entrants)
        rule = "mean" if self.family == "ratio" else self.rule
        ratios = average(progression_ratios(counts, open_last=table.open_last), rule)
        if self.family == "hamilton-perry":
            cwr = np.nan_to_num(_cwr(latest, rule))[np.newaxis, :, :, np.newaxis, np.newaxis]
            ccr = np.nan_to_num(ratios)[np.newaxis, ..., np.newaxis]
            projection = project_hamilton_perry(base, steps=steps, ccr=ccr, cwr=cwr)
            return np.asarray(projection.population[1:, ..., 0])
        if women is not None:
            return project_progression(base, ratios, steps=steps, open_last=True, entrants=_born(latest, women, rule, steps))
        if table.kind == "population":
            return project_progression(base, ratios, steps=steps, open_last=True, cwr=_cwr(latest, rule))
        entrants = _entrants(table, origin, steps, latest, rule)
        return project_progression(base, ratios, steps=steps, open_last=table.open_last, entrants=entrants)


def _window_start(known: Array, years: int) -> int:
    """Index of the first year of the window: the start of the ``years``-th latest pair of consecutive known years.

    A year missing from the source (all NaN) gives no ratio: the window reaches further
    back so that it holds ``years`` pairs of known consecutive years (the pairs across the
    gap are NaN inside it and ignored by the averaging rules).
    """
    present = np.isfinite(known).any(axis=(1, 2, 3))
    pairs = np.flatnonzero(present[:-1] & present[1:])
    if len(pairs) == 0:
        return max(0, int(known.shape[0]) - 2)
    return int(pairs[-min(len(pairs), years)])


def _mean_ratio(numerator: Array, denominator: Array, rule: str) -> Array:
    """Ratios of the window averaged by ``rule``, or shrunk toward the pooled ratio (``shrunk``)."""
    if rule == "shrunk":
        return np.asarray(np.nan_to_num(shrink_ratios(numerator, denominator).ratio))
    return np.asarray(np.nan_to_num(average(entry_ratios(numerator, denominator), rule)))


def _pooled_factor(numerator: Array, denominator: Array, steps: int, entry: str) -> Array:
    """How the pooled ratio (sums over the areas, axis 1) moves the entry, shape (steps, 1, ...).

    ``entry``: ``window`` (1: the window's level held), ``trend``
    (:func:`~capacity.core.progression.trend_factor`) or ``last``
    (:func:`~capacity.core.progression.last_factor`).
    """
    ok = np.isfinite(numerator) & np.isfinite(denominator) & (denominator > 0)
    bottom = np.where(ok, denominator, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(bottom > 0, np.where(ok, numerator, 0.0).sum(axis=1) / bottom, np.nan)
    if entry == "trend":
        return trend_factor(pooled, steps)[:, np.newaxis]
    if entry == "last":
        return last_factor(pooled, steps)[:, np.newaxis]
    return np.ones((steps, 1) + pooled.shape[1:])


def _cwr(counts: Array, rule: str, steps: int = 0, entry: str = "window", women: Array | None = None) -> Array:
    """Child-woman ratios (age 0 per woman 15-49) by area x sex, averaged over the window.

    Shape (area, sex); with ``steps`` > 0, (steps, area, sex): the ratios times the
    :func:`_pooled_factor` of the pooled ratio (all areas) for ``entry``. The women are
    the female rows' ages 15-49, or ``women`` (year, area) where given.
    """
    first = counts[..., 0]
    count = women_total(counts) if women is None else women
    women = np.broadcast_to(count[..., np.newaxis], first.shape)
    level = _mean_ratio(first, women, rule)
    if steps <= 0:
        return level
    return np.asarray(level[np.newaxis] * _pooled_factor(first, women, steps, entry))


def women_path(women: Array, steps: int) -> Array:
    """Women 15-49 of each projected year from their window, shape (steps, area).

    Each area's count at the origin (the window's last year) moved by its mean annual
    change over the window, geometric:

    .. math:: W_{o+h} = W_o \\left(\\frac{W_o}{W_s}\\right)^{h / (o - s)},

    ``s`` the area's first year of the window with a count, persons. Held (factor 1)
    where the area has fewer than two counts or a zero.

    Parameters
    ----------
    women : ndarray, shape (year, area)
        Women of the window's years, oldest first, the origin last; NaN where unknown.
    steps : int
        Years projected.
    """
    w = np.asarray(women, dtype=float)
    finite = np.isfinite(w)
    index = np.arange(w.shape[0])[:, np.newaxis]
    first = np.where(finite, index, w.shape[0]).min(axis=0)
    last = np.where(finite, index, -1).max(axis=0)
    columns = np.arange(w.shape[1])
    w_first = w[np.minimum(first, w.shape[0] - 1), columns]
    w_last = w[np.maximum(last, 0), columns]
    span = last - first
    usable = (span > 0) & (w_first > 0) & (w_last > 0) & np.isfinite(w_first) & np.isfinite(w_last)
    with np.errstate(invalid="ignore", divide="ignore"):
        growth = np.where(usable, (w_last / np.where(usable, w_first, 1.0)) ** (1.0 / np.maximum(span, 1)), 1.0)
    h = np.arange(1, steps + 1, dtype=float)[:, np.newaxis]
    return np.asarray(np.nan_to_num(w_last)[np.newaxis] * growth[np.newaxis] ** h)


def _born(counts: Array, women: Array, rule: str, steps: int, entry: str = "window") -> Array:
    """Age 0 of each projected year for a population by both sexes, shape (steps, area, 1).

    The child-woman ratio of the window (:func:`_cwr` with the women given, averaged by
    ``rule`` and moved by ``entry``) times the women of :func:`women_path`. ``counts`` are
    the window's years ending each pair (``women[1:]`` the same years).
    """
    cwr = _cwr(counts, rule, steps, entry, women[1:])
    path = women_path(women, steps)[..., np.newaxis]
    return np.asarray((cwr if cwr.ndim == 3 else cwr[np.newaxis]) * path)


def _entrants(table: Table, origin: int, steps: int, counts: Array, rule: str, entry: str = "window") -> Array:
    """Entrants to the first level in each projected year, shape (steps, area, sex).

    The entry ratio (or the held entry level) times the :func:`_pooled_factor` of its
    pooled value over all areas for ``entry``.
    """
    first = counts[..., 0]
    if table.births is None or table.entry_lag <= 0:
        held = np.nan_to_num(average(first, "mean" if rule == "shrunk" else rule))
        return np.asarray(held[np.newaxis] * _pooled_factor(first, np.ones_like(first), steps, entry))
    lag = table.entry_lag
    start = origin + 1 - counts.shape[0]
    drivers = np.full(first.shape, np.nan)
    for i in range(counts.shape[0]):
        if start + i - lag >= 0:
            drivers[i] = table.births[start + i - lag][:, np.newaxis]
    ratio = _mean_ratio(first, drivers, rule)
    factor = _pooled_factor(first, drivers, steps, entry)
    births = table.births[: origin + 1]
    out = np.empty((steps,) + first.shape[1:])
    for h in range(1, steps + 1):
        index = origin + h - lag
        known = births[: min(index, origin) + 1]
        finite = np.isfinite(known).all(axis=1)
        row = known[np.flatnonzero(finite)[-1]] if finite.any() else np.zeros(first.shape[1])
        out[h - 1] = ratio * factor[h - 1] * row[:, np.newaxis]
    return out


def parse_method(spec: str) -> Method:
    """A :class:`Method` from its spec (``progression:median:5``).

    Raises
    ------
    InputError
        An unknown name, rule or a bad number of years (one line).
    """
    if "+" in spec:
        members = tuple(parse_method(part) for part in spec.strip().split("+"))
        return Method(spec.strip(), "mean", parts=members)
    parts = spec.strip().split(":")
    family = parts[0]
    expected = ("expected last, ratio, progression[:RULE[:YEARS]], shrunk[:pooled|bandB[:YEARS]], combined[:RULE[:YEARS]], "
                f"hamilton-perry[:RULE[:YEARS]], cohort-component[:mean|trend[:YEARS]] or SPEC+SPEC, found {spec!r}")
    if family not in FAMILIES or (family in NAIVE and len(parts) > 1) or len(parts) > 3:
        raise InputError.one("--methods", "", "", expected)
    if family in NAIVE:
        return Method(spec, family)
    default_rule, default_years = {"progression": ("mean", 5), "combined": ("mean", 5), "hamilton-perry": ("last", 1),
                                   "cohort-component": ("mean", 5)}.get(family, ("pooled", 5))
    rule = parts[1] if len(parts) > 1 else default_rule
    allowed = ("mean", "trend") if family == "cohort-component" else SHRINK_RULES if family in SHRUNK else RULES
    if rule not in allowed:
        raise InputError.one("--methods", "", "", f"expected a rule of {family} in {', '.join(allowed)}, found {rule!r}")
    try:
        years = int(parts[2]) if len(parts) > 2 else default_years
    except ValueError:
        years = -1
    minimum = 2 if (family == "cohort-component" and rule == "trend") or family.startswith("shrunk") else 1
    if not minimum <= years <= 20:
        raise InputError.one("--methods", "", "", f"expected YEARS in {minimum}..20 in {spec!r}, found {parts[2]!r}")
    return Method(spec, family, rule, years)
