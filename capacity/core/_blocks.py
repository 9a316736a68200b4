"""Block driver shared by the projection engines: the one level of chunking inside a call.

Areas and draws (Monte-Carlo replicates) are independent in the projection, so an engine
processes them in blocks of ``block_areas`` areas x ``block_draws`` draws (:class:`_Block`)
and runs *all* steps for one block before moving on to the next, in the calling thread.
This is the engine's only splitting of the work; the parallelism is the caller's, who
hands chunks of areas x draws to Dask (:mod:`capacity.execute`):

* **Memory**: a block's state (one buffer of ``block_areas x sex x (age + headroom) x
  block_draws`` float64, laid out by cohort and updated in place, :func:`_run_blocks`;
  ~4 MiB by default, :data:`_BLOCK_BYTES`) and the per-block copies of the rates
  (:class:`_Tile`) are all the engine allocates besides its outputs. Rates too
  large to hold for every draw (net migration for 10 000 draws) are passed as a
  :class:`~capacity.core.product.Product` of small factors and multiplied out one step
  and one block at a time, so memory does not grow with the number of areas or draws
  beyond the outputs the caller asked for.
* **Speed**: every array operation runs over the draw axis, the last and contiguous
  one, so numpy's per-call and per-row overheads are paid once per row of a block's
  draws. A block therefore spans as many draws as fit in :data:`_BLOCK_BYTES` with one
  area (all the draws of the call, up to ~2,600 with 101 ages) and as many areas as
  then fit (:func:`block_shape`): a chunk of 40 areas x 200 draws is projected in
  blocks of 10 areas x 200 draws, not of 40 areas x 16 draws. The block's state stays
  in the processor's cache for the whole projection; main memory only sees the rates
  being read once per step (once per block if they are the same every step) and the
  kept outputs being written.
* **Results** do not depend on the blocks or on the caller's chunks: every cell goes
  through the same sequence of elementwise operations, and sums run over the age axis
  only (one age after the other), never over areas or draws.

An engine supplies a *kernel* (:class:`_Kernel`) that advances one block by one step;
this module holds everything around it: the blocks (:func:`plan_blocks`), the
preallocated outputs (:class:`_Outputs`), contiguous per-block copies of the rates
(:class:`_Tile`), reusable work arrays (:class:`_Buffers`) and the loop over blocks and
steps (:func:`_run`).
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
"""Called with the number of draws whose projection is finished for every area (after
the last block of each range of draws)."""

#: Target size in bytes of a block's state (``block_areas x sex x age x block_draws``
#: float64; :func:`block_shape`): a block's state and its rates (about three times that)
#: stay in a core's share of the cache with two workers on a 32 MiB L3, and a block holds
#: enough cells (~2,600 area-draws with 101 ages) that numpy's per-call overhead is small
#: (``benchmarks/bench_cohort.py``; 2 and 6 MiB were no faster, alone or two processes
#: side by side).
_BLOCK_BYTES = 4 * 1024 * 1024

#: Blocks of at least this many draws start on a multiple of it (64 bytes: with a number
#: of draws that is a multiple of 8, every row of a block then starts on a cache line of
#: the outputs and the rates).
_ALIGN = 8


@dataclass(frozen=True)
class _Block:
    """Areas ``a0:a1`` and draws ``d0:d1``: the part of a projection run through all
    steps at once."""

    a0: int
    a1: int
    d0: int
    d1: int

    @property
    def areas(self) -> int:
        return self.a1 - self.a0

    @property
    def draws(self) -> int:
        return self.d1 - self.d0

    def of(self, array: Array) -> Array:
        """The block of a 4-d ``(area|1, sex, age, draw|1)`` array (axes of length 1
        broadcast and are kept whole)."""
        view: Array = array[
            slice(self.a0, self.a1) if array.shape[0] > 1 else slice(None),
            ...,
            slice(self.d0, self.d1) if array.shape[-1] > 1 else slice(None),
        ]
        return view


def _even(n: int, most: int, align: int = 1) -> int:
    """Size of the parts when ``n`` items are cut into as few parts of at most ``most``
    as possible, of (nearly) equal size; rounded up to a multiple of ``align`` (the parts
    may then exceed ``most`` by less than ``align``) unless that would leave a last part
    shorter than ``align``."""
    parts = -(-n // max(1, most))
    size = -(-n // parts)
    aligned = -(-size // align) * align
    if size >= align and (parts == 1 or n - (parts - 1) * aligned >= align):
        size = aligned
    return max(1, min(n, size))


def block_shape(
    areas: int,
    groups: int,
    draws: int,
    block_areas: int | None = None,
    block_draws: int | None = None,
) -> tuple[int, int]:
    """Areas and draws of a block, each given or chosen so that a block's state is about
    :data:`_BLOCK_BYTES`.

    Draws come first, because every operation runs along them: a block spans all
    ``draws`` when one area's fit (else as many as fit, in blocks of equal size, a
    multiple of 8), then as many areas as fit with them, cut into blocks of equal size.
    Given ``block_draws`` alone, a block spans every area (the engine's blocking before
    it cut areas); given ``block_areas`` alone, the draws are chosen for it.

    Returns
    -------
    (int, int)
        ``(block_areas, block_draws)``, at least 1 and at most ``areas`` and ``draws``.
    """
    per_cell = 2 * groups * 8  # bytes of one area's state for one draw
    cells = max(1, _BLOCK_BYTES // per_cell)  # area-draws per block
    if block_draws is None:
        most = cells if block_areas is None else cells // block_areas
        block_draws = _even(draws, max(1, most), _ALIGN)
        if block_areas is None:
            block_areas = _even(areas, max(1, cells // block_draws))
    elif block_areas is None:
        block_areas = areas
    return max(1, min(block_areas, areas)), max(1, min(block_draws, draws))


def plan_blocks(areas: int, draws: int, block_areas: int, block_draws: int) -> list[_Block]:
    """The blocks covering ``areas x draws``, areas inner: all areas of one range of
    draws, then the next range."""
    return [
        _Block(a, min(a + block_areas, areas), d, min(d + block_draws, draws))
        for d in range(0, draws, block_draws)
        for a in range(0, areas, block_areas)
    ]


def _at_step(array: Array, step: int) -> Array:
    """Step ``step`` of a 5-d rate array, broadcasting a length-1 step axis (4-d view)."""
    view: Array = array[step] if array.shape[0] > 1 else array[0]
    return view


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

    def record(self, year: int, block: _Block, state: Array) -> None:
        """Store the block's state (area, sex, age, draw) as the population of ``year``."""
        areas, draws = slice(block.a0, block.a1), slice(block.d0, block.d1)
        np.copyto(self.population[year, areas, :, :, draws], state[:, :, self.keep])
        if self.bands is not None:
            for b, (first, last) in enumerate(self.band_ages):
                np.add.reduce(
                    state[:, :, first : last + 1],
                    axis=2,
                    out=self.bands[year, areas, :, b, draws],
                )
        if self.total is not None:
            np.add.reduce(state, axis=2, out=self.total[year, areas, :, draws])


class _Tile:
    """Contiguous copy, for one block and one step, of a 5-d rate array or of the product
    of several (arrays or :class:`~capacity.core.product.Product` factors, multiplied
    left to right), shape ``(area|1, sex|1, age, draw)`` (``area``: the block's areas if
    any factor varies by area; ``draw``: the block's draws).

    The copy is refreshed only when the step or block it depends on changes, so a rate
    constant over steps is read from main memory once per block, and a rate constant
    over areas and draws once per projection (and per block shape). Working on
    contiguous tiles (rather than on strided or broadcast views of the inputs) lets numpy
    run every ufunc as one long contiguous inner loop. With ``row_min``, each refresh
    also keeps the minimum over the block's draws of every row (``row_min``, shape
    ``(area|1, sex|1, age)``) and whether any value is negative (``negative``).
    """

    def __init__(self, *arrays: Array | Product, row_min: bool = False):
        self.arrays: tuple[Array, ...] = tuple(
            factor
            for array in arrays
            for factor in (array.factors if isinstance(array, Product) else (array,))
        )
        self.shape = np.broadcast_shapes(*(a.shape[2:4] for a in self.arrays))
        self.by_step = any(a.shape[0] > 1 for a in self.arrays)
        self.by_area = any(a.shape[1] > 1 for a in self.arrays)
        self.by_draw = any(a.shape[4] > 1 for a in self.arrays)
        self.track_min = row_min
        self.row_min: Array | None = None
        self.negative = False
        self.buffer: Array | None = None
        self.key: tuple[int, int, int, int, int] | None = None

    def get(self, step: int, block: _Block) -> Array:
        areas = block.areas if self.by_area else 1
        key = (
            step if self.by_step else 0,
            block.a0 if self.by_area else -1,
            areas,
            block.d0 if self.by_draw else -1,
            block.draws,
        )
        if key != self.key or self.buffer is None:
            shape = (areas, *self.shape, block.draws)
            if self.buffer is None or self.buffer.shape != shape:
                self.buffer = np.empty(shape)
            views = [block.of(_at_step(a, step)) for a in self.arrays]
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
    """Zero-initialised work arrays of given shapes (without the area and draw axes,
    which are the block's: ``(areas, *shape, draws)``), reallocated only when the block's
    shape changes."""

    def __init__(self, **shapes: tuple[int, ...]):
        self.shapes = shapes
        self.size = (-1, -1)
        self.arrays: dict[str, Array] = {}

    def at(self, block: _Block) -> dict[str, Array]:
        size = (block.areas, block.draws)
        if size != self.size:
            self.arrays = {k: np.zeros((size[0], *v, size[1])) for k, v in self.shapes.items()}
            self.size = size
        return self.arrays


class _Kernel(Protocol):
    """Advances the state of a block (areas ``a0:a1`` and draws ``d0:d1``) by one step,
    in place.

    ``P`` is the state at the start of the step and ``Q`` the state at its end, both
    ``(area, sex, age, draw)`` views of one buffer laid out by cohort (see
    :func:`_run_blocks`): ``Q[:, :, x]`` *is* ``P[:, :, x - 1]`` (the same memory) for
    ``x >= 1``, so a cohort ages without moving. The kernel overwrites ``P`` as it goes;
    ``Q[:, :, 0]`` (the step's births) and the open group ``Q[:, :, -1]`` are the only
    cells it has to combine explicitly.
    """

    def __call__(self, step: int, block: _Block, P: Array, Q: Array, /) -> None: ...


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
    block_areas: int | None = None,
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
    keep_ages, age_bands, block_draws, block_areas, accounting, progress
        As in :func:`capacity.core.cohort.project_cohort`.

    Returns
    -------
    _Outputs
        Filled with the population (and bands, totals) of every year.
    """
    areas, _, groups, _ = base.shape
    keep = _check_keep_ages(keep_ages, groups)
    band_ages = _check_bands(age_bands, groups)
    if block_draws is not None:
        block_draws = _check_int("block_draws", block_draws, minimum=1)
    if block_areas is not None:
        block_areas = _check_int("block_areas", block_areas, minimum=1)
    shape = block_shape(areas, groups, draws, block_areas, block_draws)
    outputs = _Outputs.allocate(steps, areas, groups, draws, keep, band_ages, accounting, births)
    blocks = plan_blocks(areas, draws, *shape)
    _run_blocks(base, steps, blocks, make_kernel(outputs), outputs, progress)
    return outputs


def _run_blocks(
    base: Array,
    steps: int,
    blocks: Sequence[_Block],
    kernel: _Kernel,
    outputs: _Outputs,
    progress: Progress | None = None,
) -> None:
    """Project every block through all steps; record each year's state.

    The state of a block lives in one buffer of ``G + h`` age rows (``h`` =
    ``min(steps, _HEADROOM)``) laid out by cohort: at offset ``o`` the state is rows
    ``o .. o + G - 1`` (age group ``x`` in row ``o + x``); a step writes the end state
    into rows ``o - 1 .. o + G - 2`` (the cohort of group ``x - 1`` becomes group ``x``
    in the same row, the births take the new row ``o - 1``, the old open group's row
    ``o + G - 1`` is folded into the new open group) and moves the offset down by one.
    One buffer instead of a start and an end state keeps a block's working set smaller
    and every large operation in place. When the offset reaches 0 the state is copied
    back to offset ``h`` (every ``h`` steps; never for ``steps <= _HEADROOM``).

    ``progress`` is called with the number of draws finished so far (every area) after
    the last block of each range of draws (:func:`plan_blocks`: areas inner).
    """
    areas, _, groups, _ = base.shape
    headroom = max(1, min(steps, _HEADROOM))
    states = _Buffers(cohorts=(2, groups + headroom))
    for block in blocks:
        cohorts = states.at(block)["cohorts"]
        offset = headroom
        P = cohorts[:, :, offset : offset + groups]
        np.copyto(P, block.of(base))
        outputs.record(0, block, P)
        for step in range(steps):
            if offset == 0:  # back to the top of the buffer (overlapping rows: copied via a temporary)
                np.copyto(cohorts[:, :, headroom : headroom + groups], cohorts[:, :, :groups].copy())
                offset = headroom
            P = cohorts[:, :, offset : offset + groups]
            Q = cohorts[:, :, offset - 1 : offset - 1 + groups]
            kernel(step, block, P, Q)
            outputs.record(step + 1, block, Q)
            offset -= 1
        if progress is not None and block.a1 == areas:
            progress(block.d1)
