"""Variables of the labelled result that are computed when read (xarray's lazy backend arrays).

``demand``, ``gap``, ``shortfall`` and ``surplus`` of :func:`capacity.results.dataset.build_dataset`
are not stored: each is a :class:`Derived` array, which xarray indexes lazily
(:class:`xarray.core.indexing.LazilyIndexedArray`, the way file backends read on demand).
Selecting (``sel``, ``isel``, ``transpose``) costs nothing; reading the values (``.values``,
arithmetic, reductions, writing) computes the selected cells from what the runs keep
(:mod:`capacity.derived`), every time, and keeps nothing. ``Dataset.load()`` (or
``ds[name].load()``) computes them once and stores them, for code that reads them often
or writes into them (a variable computed when read cannot be written in place).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray
from xarray.backends import BackendArray
from xarray.core import indexing

from capacity.derived import Key, as_slices, key_shape

Part = Callable[[Key], NDArray[np.float64]]
"""The cells of one scenario's variable for a basic key over its axes after ``scenario``."""

__all__ = ["Derived", "Part", "derived_variable"]


class Derived(BackendArray):
    """A float array ``(scenario, year, ...)`` whose scenarios are computed by ``parts`` when read.

    Parameters
    ----------
    parts : sequence of callables
        One per scenario: the cells for a basic key over ``(year, ...)``, over that
        scenario's own years.
    years : sequence of int
        Number of years of each scenario (a prefix of the result's years); later years are NaN.
    shape : tuple of int
        ``(scenario, year, ...)``, the years being the union.
    """

    def __init__(self, parts: Sequence[Part], years: Sequence[int], shape: tuple[int, ...]) -> None:
        self.parts = list(parts)
        self.years = list(years)
        self.shape = shape
        self.dtype = np.dtype(np.float64)

    def __getitem__(self, key: indexing.ExplicitIndexer) -> Any:
        return indexing.explicit_indexing_adapter(key, self.shape, indexing.IndexingSupport.BASIC, self._read)

    def __setitem__(self, key: Any, value: Any) -> None:
        raise TypeError("this variable is computed when read and cannot be written in place; "
                        "load it first (ds[name].load() or ds.load())")

    def _read(self, key: Key) -> NDArray[np.float64]:
        (scenario, *rest), dropped = as_slices(key, self.shape)
        picked = range(self.shape[0])[scenario]
        cells = [self._one(k, tuple(rest)) for k in picked]
        out = cells[0][None] if len(cells) == 1 else np.stack(cells) if cells else np.empty(key_shape(tuple(key), self.shape))
        return out.squeeze(axis=dropped) if dropped else out

    def _one(self, k: int, key: tuple[slice, ...]) -> NDArray[np.float64]:
        """Scenario ``k``'s cells for slices over ``(year, ...)``; NaN in years after its horizon."""
        n_year, own = self.shape[1], self.years[k]
        if own == n_year:
            return self.parts[k](key)
        year = range(n_year)[key[0]]
        out = np.full(key_shape(key, self.shape[1:]), np.nan)
        inside = [i for i, y in enumerate(year) if y < own]
        if inside:
            first, last = year[inside[0]], year[inside[-1]]
            step = year.step
            within = slice(first, last + 1, step) if step > 0 else slice(first, last - 1 if last > 0 else None, step)
            out[inside[0]:inside[-1] + 1] = self.parts[k]((within, *key[1:]))
        return out


def derived_variable(dims: tuple[str, ...], parts: Sequence[Part], years: Sequence[int],
                     shape: tuple[int, ...]) -> xr.Variable:
    """An :class:`xarray.Variable` over :class:`Derived` (see the module docstring)."""
    return xr.Variable(dims, indexing.LazilyIndexedArray(Derived(parts, years, shape)))
