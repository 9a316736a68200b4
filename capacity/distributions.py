"""Random quantities of a scenario and year tables.

A :class:`Distribution` is written in a scenario file as an inline table,
``{ dist = "normal", mean = 1.0, sd = 0.1 }``, and in code with the constructors
``Distribution.normal(mean=1.0, sd=0.1)`` and so on. A year table maps years to values and is
evaluated by :func:`year_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

_DIST_PARAMS: dict[str, tuple[str, ...]] = {
    "fixed": ("value",),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "poisson": ("mean",),
}


@dataclass(frozen=True)
class Distribution:
    """A random quantity of a scenario: ``{ dist = "normal", mean = 1.0, sd = 0.1 }``.

    Kinds and parameters: ``fixed`` (value), ``normal`` (mean, sd), ``lognormal`` (median,
    sigma of the log), ``uniform`` (low, high), ``triangular`` (low, mode, high),
    ``poisson`` (mean; whole numbers, e.g. years of delay).
    """

    kind: str
    params: tuple[tuple[str, float], ...]

    @classmethod
    def fixed(cls, value: float) -> Distribution:
        return cls("fixed", (("value", float(value)),))

    @classmethod
    def normal(cls, mean: float, sd: float) -> Distribution:
        return cls("normal", (("mean", float(mean)), ("sd", float(sd))))

    @classmethod
    def lognormal(cls, median: float, sigma: float) -> Distribution:
        return cls("lognormal", (("median", float(median)), ("sigma", float(sigma))))

    @classmethod
    def uniform(cls, low: float, high: float) -> Distribution:
        return cls("uniform", (("low", float(low)), ("high", float(high))))

    @classmethod
    def triangular(cls, low: float, mode: float, high: float) -> Distribution:
        return cls("triangular", (("low", float(low)), ("mode", float(mode)), ("high", float(high))))

    @classmethod
    def poisson(cls, mean: float) -> Distribution:
        return cls("poisson", (("mean", float(mean)),))

    def __getitem__(self, name: str) -> float:
        return dict(self.params)[name]

    @property
    def is_degenerate(self) -> bool:
        """True if every draw gives the same value."""
        p = dict(self.params)
        return (
            self.kind == "fixed"
            or (self.kind == "normal" and p["sd"] == 0)
            or (self.kind == "lognormal" and p["sigma"] == 0)
            or (self.kind in ("uniform", "triangular") and p["low"] == p["high"])
            or (self.kind == "poisson" and p["mean"] == 0)
        )

    @property
    def center(self) -> float:
        """The value of a zero-variance draw (deterministic runs use it)."""
        p = dict(self.params)
        return {
            "fixed": lambda: p["value"],
            "normal": lambda: p["mean"],
            "lognormal": lambda: p["median"],
            "uniform": lambda: (p["low"] + p["high"]) / 2,
            "triangular": lambda: p["mode"],
            "poisson": lambda: p["mean"],
        }[self.kind]()

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> NDArray[np.float64]:
        """Draw ``size`` values with the generator ``rng``."""
        p = dict(self.params)
        if self.kind == "fixed":
            return np.full(size, p["value"], dtype=float)
        if self.kind == "normal":
            return rng.normal(p["mean"], p["sd"], size)
        if self.kind == "lognormal":
            return p["median"] * np.exp(rng.normal(0.0, p["sigma"], size))
        if self.kind == "uniform":
            return rng.uniform(p["low"], p["high"], size)
        if self.kind == "triangular":
            if p["low"] == p["high"]:
                return np.full(size, p["low"], dtype=float)
            return rng.triangular(p["low"], p["mode"], p["high"], size)
        return rng.poisson(p["mean"], size).astype(float)


YearValue = float | tuple[tuple[int, float], ...]


def as_year_value(value: float | Mapping[int, float] | tuple[tuple[int, float], ...]) -> YearValue:
    """A number, or a year table given as a mapping or pairs, in canonical form (sorted pairs)."""
    if isinstance(value, Mapping):
        return tuple(sorted((int(y), float(v)) for y, v in value.items()))
    if isinstance(value, tuple):
        return tuple(sorted((int(y), float(v)) for y, v in value))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"expected a number or a year table, found {value!r}")
    return float(value)


def year_values(value: YearValue, years: NDArray[np.int64]) -> NDArray[np.float64]:
    """Evaluate a number or a year table at ``years`` (linear between, held outside)."""
    if isinstance(value, (int, float)):
        return np.full(len(years), float(value))
    xs = [y for y, _ in value]
    ys = [v for _, v in value]
    return np.interp(years, xs, ys)


