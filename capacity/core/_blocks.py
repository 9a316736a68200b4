"""Block driver shared by the projection engines: the one level of chunking over draws.

The draws (Monte-Carlo replicates) are independent, so an engine processes them in
blocks of ``block_draws`` draws and runs *all* steps for one block before moving on to
the next, in the calling thread. This is the engine's only splitting of the draws; the
parallelism is the caller's, who hands chunks of areas x draws to Dask
(:mod:`capacity.execute`):

* **Memory**: a block's state (one buffer of ``area x sex x (age + headroom) x
  block_draws`` float64, laid out by cohort and updated in place, :func:`_run_blocks`;
  ~6 MiB by default, :data:`_BLOCK_BYTES`) and the per-block copies of the rates
  (:class:`_Tile`) are all the engine allocates besides its outputs. Rates too
  large to hold for every draw (net migration for 10 000 draws) are passed as a
  :class:`~capacity.core.product.Product` of small factors and multiplied out one step
  and one block at a time, so memory does not grow with the number of draws beyond the
  outputs the caller asked for.
* **Speed**: the block's state stays in the processor's cache for the whole projection;
  main memory only sees the rates being read once per step (once per block if they are
  the same every step) and the kept outputs being written.
* **Results** do not depend on the block size or on the caller's chunks: every draw
  goes through the same sequence of elementwise operations, and sums run over the age
  axis only, never over draws.

An engine supplies a *kernel* (:class:`_Kernel`) that advances one block by one step;
this module holds everything around it: the preallocated outputs (:class:`_Outputs`),
contiguous per-block copies of the rates (:class:`_Tile`), reusable work arrays
(:class:`_Buffers`) and the loop over blocks and steps (:func:`_run`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capacity.core._checks import (
    AgeIndexer,
    Array,
    _check_bands,
    _check_int,
    _check_keep_ages,
    _kept_indices,
)
from capacity.core.product import Product

Progress = Callable[[int], None]
"""Called with the number of draws whose projection is finished (after each block)."""

#: Target size in bytes of a block's state (``area x sex x age x block_draws`` float64;
#: see ``block_draws``): the state and the rates of a block (about twice that) for one
#: or two workers then stay in a 32 MiB L3 cache, while the block stays wide enough for
#: numpy's per-call overhead to be small (``benchmarks/bench_cohort.py``).
_BLOCK_BYTES = 6 * 1024 * 1024


def default_block_draws(areas: int, groups: int, draws: int) -> int:
    """Number of draws processed together so that a block's state is ~6 MiB; a multiple
    of 8 when at least 8 (with a number of draws that is a multiple of 8 too, every
    block's rows then start on a 64-byte cache line of the outputs and the rates)."""
    per_draw = areas * 2 * groups * 8
    block = _BLOCK_BYTES // per_draw
    if block >= 8:
        block -= block % 8
    return max(1, min(draws, block))


def _check_block(block_draws: int | None, areas: int, groups: int, draws: int) -> int:
    if block_draws is None:
        return default_block_draws(areas, groups, draws)
    return min(_check_int("block_draws", block_draws, minimum=1), draws)


def _at_step(array: Array, step: int) -> Array:
    """Step ``step`` of a 5-d rate array, broadcasting a length-1 step axis (4-d view)."""
    view: Array = array[step] if array.shape[0] > 1 else array[0]
    return view


def _draw_block(array: Array, start: int, stop: int) -> Array:
    """Draws ``start:stop`` of an array with draws last, broadcasting length 1."""
    block: Array = array[..., start:stop] if array.shape[-1] > 1 else array
    return block


@dataclass
class _Outputs:
    """Preallocated output arrays, written block by block.

    The fields are those of :class:`capacity.core.cohort.Projection` (``ages`` are the
    kept age-group indices); the accounting arrays are None without accounting.
    """

    population: Array
    keep: AgeIndexer
    ages: NDArray[np.intp]
    bands: Array | None
    band_ages: tuple[tuple[int, int], ...]
    total: Array | None = None
    births: Array | None = None
    deaths: Array | None = None
    net_migration: Array | None = None
    migration_adjustment: Array | None = None

    @classmethod
    def allocate(
        cls,
        steps: int,
        areas: int,
        groups: int,
        draws: int,
        keep: AgeIndexer,
        band_ages: tuple[tuple[int, int], ...],
        accounting: bool,
        births: bool = False,
    ) -> _Outputs:
        ages = _kept_indices(keep, groups)
        out = cls(
            population=np.empty((steps + 1, areas, 2, ages.size, draws)),
            keep=keep,
            ages=ages,
            bands=np.empty((steps + 1, areas, 2, len(band_ages), draws)) if band_ages else None,
            band_ages=band_ages,
        )
        if accounting:
            out.total = np.empty((steps + 1, areas, 2, draws))
            out.births = np.empty((steps, areas, 2, draws))
            out.deaths = np.empty((steps, areas, 2, draws))
            out.net_migration = np.empty((steps, areas, 2, draws))
            out.migration_adjustment = np.empty((steps, areas, 2, draws))
        elif births:
            out.births = np.empty((steps, areas, 2, draws))
        return out

    def record(self, year: int, start: int, stop: int, state: Array) -> None:
        """Store the block's state (area, sex, age, block) as the population of ``year``."""
        np.copyto(self.population[year, :, :, :, start:stop], state[:, :, self.keep])
        if self.bands is not None:
            for b, (first, last) in enumerate(self.band_ages):
                np.add.reduce(
                    state[:, :, first : last + 1],
                    axis=2,
                    out=self.bands[year, :, :, b, start:stop],
                )
        if self.total is not None:
            np.add.reduce(state, axis=2, out=self.total[year, :, :, start:stop])


class _Tile:
    """Contiguous copy, for one block of draws and one step, of a 5-d rate array or of
    the product of several (arrays or :class:`~capacity.core.product.Product` factors,
    multiplied left to right), shape ``(area|1, sex|1, age, block)``.

    The copy is refreshed only when the step or block it depends on changes, so a rate
    constant over steps is read from main memory once per block, and a rate constant
    over draws once per projection. Working on contiguous tiles (rather than on strided
    or broadcast views of the inputs) lets numpy run every ufunc as one long contiguous
    inner loop. With ``row_min``, each refresh also keeps the minimum over the block's
    draws of every row (``row_min``, shape ``(area|1, sex|1, age)``) and whether any value
    is negative (``negative``).
    """

    def __init__(self, *arrays: Array | Product, row_min: bool = False):
        self.arrays: tuple[Array, ...] = tuple(
            factor
            for array in arrays
            for factor in (array.factors if isinstance(array, Product) else (array,))
        )
        self.shape = np.broadcast_shapes(*(a.shape[1:4] for a in self.arrays))
        self.by_step = any(a.shape[0] > 1 for a in self.arrays)
        self.by_draw = any(a.shape[4] > 1 for a in self.arrays)
        self.track_min = row_min
        self.row_min: Array | None = None
        self.negative = False
        self.buffer: Array | None = None
        self.key: tuple[int, int, int] | None = None

    def get(self, step: int, start: int, stop: int) -> Array:
        key = (step if self.by_step else 0, start if self.by_draw else -1, stop - start)
        if key != self.key or self.buffer is None:
            if self.buffer is None or self.buffer.shape[-1] != stop - start:
                self.buffer = np.empty(self.shape + (stop - start,))
            views = [_draw_block(_at_step(a, step), start, stop) for a in self.arrays]
            # leading factors without a draw axis are multiplied at their own (small) size
            # first: the same operations in the same order, so the same bits, with one
            # pass over the block instead of one per factor
            lead = 0
            while lead < len(views) and views[lead].shape[-1] == 1:
                lead += 1
            if 2 <= lead < len(views):
                small = views[0] * views[1]
                for view in views[2:lead]:
                    small = small * view
                views = [small, *views[lead:]]
            if len(views) == 1:
                np.copyto(self.buffer, views[0])
            else:
                np.multiply(views[0], views[1], out=self.buffer)
                for view in views[2:]:
                    np.multiply(self.buffer, view, out=self.buffer)
            if self.track_min:
                self.row_min = np.minimum.reduce(self.buffer, axis=-1)
                self.negative = bool(np.minimum.reduce(self.row_min, axis=None) < 0)
            self.key = key
        return self.buffer


class _Buffers:
    """Zero-initialised work arrays of given shapes (without the draw axis), reallocated
    only when the block width changes."""

    def __init__(self, **shapes: tuple[int, ...]):
        self.shapes = shapes
        self.width = -1
        self.arrays: dict[str, Array] = {}

    def at(self, width: int) -> dict[str, Array]:
        if width != self.width:
            self.arrays = {k: np.zeros(v + (width,)) for k, v in self.shapes.items()}
            self.width = width
        return self.arrays


class _Kernel(Protocol):
    """Advances the state of a block of draws ``start:stop`` by one step, in place.

    ``P`` is the state at the start of the step and ``Q`` the state at its end, both
    ``(area, sex, age, block)`` views of one buffer laid out by cohort (see
    :func:`_run_blocks`): ``Q[:, :, x]`` *is* ``P[:, :, x - 1]`` (the same memory) for
    ``x >= 1``, so a cohort ages without moving. The kernel overwrites ``P`` as it goes;
    ``Q[:, :, 0]`` (the step's births) and the open group ``Q[:, :, -1]`` are the only
    cells it has to combine explicitly.
    """

    def __call__(self, step: int, start: int, stop: int, P: Array, Q: Array, /) -> None: ...


#: Spare age rows of the cohort buffer of :func:`_run_blocks` (``G + min(steps,
#: _HEADROOM)`` rows): the number of steps run before the state is copied back to the
#: top of the buffer.
_HEADROOM = 32


def _run(
    base: Array,
    steps: int,
    draws: int,
    make_kernel: Callable[[_Outputs], _Kernel],
    *,
    keep_ages: slice | ArrayLike | None,
    age_bands: Sequence[tuple[int, int]] | None,
    block_draws: int | None,
    accounting: bool = False,
    births: bool = False,
    progress: Progress | None = None,
) -> _Outputs:
    """Validate the output and performance options, allocate the outputs and project.

    Parameters
    ----------
    base : ndarray, shape (area, sex, G, draw|1)
        Validated base population.
    steps, draws : int
        Number of steps and (common) number of draws.
    make_kernel : callable
        Called once with the outputs; returns the kernel (which writes the accounting
        arrays of the outputs, if any, itself).
    keep_ages, age_bands, block_draws, accounting, progress
        As in :func:`capacity.core.cohort.project_cohort`.

    Returns
    -------
    _Outputs
        Filled with the population (and bands, totals) of every year.
    """
    areas, _, groups, _ = base.shape
    keep = _check_keep_ages(keep_ages, groups)
    band_ages = _check_bands(age_bands, groups)
    block = _check_block(block_draws, areas, groups, draws)
    outputs = _Outputs.allocate(steps, areas, groups, draws, keep, band_ages, accounting, births)
    _run_blocks(
        base, steps, draws, block, make_kernel(outputs), outputs, progress
    )
    return outputs


def _run_blocks(
    base: Array,
    steps: int,
    draws: int,
    block: int,
    kernel: _Kernel,
    outputs: _Outputs,
    progress: Progress | None = None,
) -> None:
    """Project every block of draws through all steps; record each year's state.

    The state of a block lives in one buffer of ``G + h`` age rows (``h`` =
    ``min(steps, _HEADROOM)``) laid out by cohort: at offset ``o`` the state is rows
    ``o .. o + G - 1`` (age group ``x`` in row ``o + x``); a step writes the end state
    into rows ``o - 1 .. o + G - 2`` (the cohort of group ``x - 1`` becomes group ``x``
    in the same row, the births take the new row ``o - 1``, the old open group's row
    ``o + G - 1`` is folded into the new open group) and moves the offset down by one.
    One buffer instead of a start and an end state keeps a block's working set smaller
    and every large operation in place. When the offset reaches 0 the state is copied
    back to offset ``h`` (every ``h`` steps; never for ``steps <= _HEADROOM``).

    ``progress`` is called with the number of draws finished so far after each block.
    """
    areas, _, groups, _ = base.shape
    headroom = max(1, min(steps, _HEADROOM))
    states = _Buffers(cohorts=(areas, 2, groups + headroom))
    for start in range(0, draws, block):
        stop = min(start + block, draws)
        cohorts = states.at(stop - start)["cohorts"]
        offset = headroom
        P = cohorts[:, :, offset : offset + groups]
        np.copyto(P, _draw_block(base, start, stop))
        outputs.record(0, start, stop, P)
        for step in range(steps):
            if offset == 0:  # back to the top of the buffer (overlapping rows: copied via a temporary)
                np.copyto(cohorts[:, :, headroom : headroom + groups], cohorts[:, :, :groups].copy())
                offset = headroom
            P = cohorts[:, :, offset : offset + groups]
            Q = cohorts[:, :, offset - 1 : offset - 1 + groups]
            kernel(step, start, stop, P, Q)
            outputs.record(step + 1, start, stop, Q)
            offset -= 1
        if progress is not None:
            progress(stop)
