"""Cohort-component population projection (pure numpy, no I/O).

The method follows Preston, Heuveline & Guillot, *Demography: Measuring and Modeling
Population Processes* (2001), chapter 6: a population by sex and age group is survived
forward one step of ``width`` years at a time, births during the step are added to the
first age group, and net migration is added half at the start and half at the end of
the step.

Axis order (project-wide)
-------------------------
Every array handed to or returned by this package's numpy core uses the axis order

``(year, area, sex, age, draw)``

with draws (Monte-Carlo replicates) last, so that the innermost, contiguous axis is the
one the projection is vectorised over.

* Population arrays: ``(year, area, sex, age, draw)``. The *base* population omits the
  year axis: ``(area, sex, age)`` or ``(area, sex, age, draw)``.
* Rate arrays: 5-d ``(step, area, sex, age, draw)``; any axis may have length 1 and then
  broadcasts (a rate constant over steps and draws has shape ``(1, 1, 2, A, 1)``). Step
  ``t`` is the projection interval from year ``t`` to year ``t + 1`` (in steps of
  ``width`` years).
* Sex index 0 = female, 1 = male (:data:`FEMALE`, :data:`MALE`).
* Age index ``x`` is the age group ``[x * width, (x + 1) * width)`` in completed years;
  the last group, ``G - 1``, is open: ``(G - 1) * width`` years and over.

Units: populations, births, deaths and migrants are persons; fertility rates are live
births per woman per year; ``nLx`` are person-years lived in the age group by a life
table cohort of ``radix`` births; survival ratios are dimensionless.

Conventions
-----------
*Net migration* ``M[t, a, s, x, d]`` counts the net migrants (in minus out, persons) of
step ``t`` whose age group **at the end of the step** is ``x`` (the same convention as
``migration.csv``: "age at the end of the year"). Half of them are counted at the start of
the step in the cohort they belong to (group ``x - 1``, or the birth cohort for ``x = 0``,
or groups ``G - 2`` and ``G - 1`` for the open group) and are survived with it; the other
half are added at the end of the step.

*Clipping*: where net out-migration would make a cell negative, the out-migration is
reduced so that the cell ends the step at exactly zero. The realised migration is what
the accounting reports (:attr:`Projection.net_migration`), and the reduction is reported
separately (:attr:`Projection.migration_adjustment`, >= 0), so that the balancing
equation ``P(t+1) = P(t) + births - deaths + realised net migration`` holds exactly (to
floating-point rounding) per area and sex.

Performance
-----------
The draws are independent, so the engine processes them in blocks of
``block_draws`` draws and runs *all* steps for one block before moving on to the next.
A block's state (two buffers of ``area x sex x age x block_draws`` float64) stays in the
processor's cache for the whole projection; main memory only sees the base population
and rates being read once per step and the kept output ages being written. Every
operation is a numpy ufunc over the whole block with a preallocated ``out=`` buffer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Protocol, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capacity.errors import SpecificationError

__all__ = [
    "FEMALE",
    "MALE",
    "AXES",
    "DEFAULT_RADIX",
    "Projection",
    "survival_ratios",
    "project_cohort",
    "project_cohort_survival",
]

FEMALE = 0
"""Index of females on the sex axis."""
MALE = 1
"""Index of males on the sex axis."""
AXES = ("step", "area", "sex", "age", "draw")
"""Names of the five axes of rate arrays (population arrays: ``year`` for ``step``)."""
DEFAULT_RADIX = 100_000.0
"""Default life-table radix ``l0``."""

Array = NDArray[np.float64]
AgeIndexer = slice | np.ndarray

#: Target size in bytes of one block state buffer (see ``block_draws``): the few
#: block-sized buffers of one or two threads then stay in a 32 MiB L3 cache, while the
#: block stays wide enough for numpy's per-call overhead to be small.
_BLOCK_BYTES = 2 * 1024 * 1024


# --------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """Result of a projection. All arrays are read-only float64.

    Attributes
    ----------
    population : ndarray, shape (steps + 1, area, sex, kept_age, draw)
        Persons at the start (index 0 = base) and at the end of every step, for the kept
        age groups only (all groups unless ``keep_ages`` was given).
    ages : ndarray of int, shape (kept_age,)
        Age-group indices of the kept groups (for ``width == 1``: age in years).
    width : int
        Width of age groups and length of a step, years.
    bands : ndarray, shape (steps + 1, area, sex, band, draw) or None
        Persons summed over each requested age band (``age_bands``).
    band_ages : tuple of (int, int)
        The bands, as inclusive ``(first, last)`` age-group indices.
    total : ndarray, shape (steps + 1, area, sex, draw) or None
        Persons summed over *all* age groups (accounting only).
    births : ndarray, shape (steps, area, sex, draw) or None
        Live births of the step by sex of the child, persons (accounting only).
    deaths : ndarray, shape (steps, area, sex, draw) or None
        Deaths during the step of the cohorts of that area and sex, including deaths of
        the step's births and of the migrants counted at the start (accounting only).
    net_migration : ndarray, shape (steps, area, sex, draw) or None
        *Realised* net migration, persons (requested minus the out-migration removed by
        clipping; accounting only).
    migration_adjustment : ndarray, shape (steps, area, sex, draw) or None
        Realised minus requested net migration (>= 0): out-migrants that could not leave
        because the cell would have become negative (accounting only).

    Notes
    -----
    With accounting, for every step ``t``, area and sex, exactly up to rounding::

        total[t + 1] == total[t] + births[t] - deaths[t] + net_migration[t]
    """

    population: Array
    ages: NDArray[np.intp]
    width: int
    bands: Array | None = None
    band_ages: tuple[tuple[int, int], ...] = ()
    total: Array | None = None
    births: Array | None = None
    deaths: Array | None = None
    net_migration: Array | None = None
    migration_adjustment: Array | None = None

    def __post_init__(self) -> None:
        for value in vars(self).values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False


# --------------------------------------------------------------------------------------
# Validation helpers (shared with hamilton_perry)
# --------------------------------------------------------------------------------------


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _raise_at(name: str, array: np.ndarray, bad: np.ndarray, expected: str) -> None:
    """Raise a :class:`SpecificationError` for the first True cell of ``bad``."""
    flat = int(np.argmax(bad.reshape(-1)))
    index = tuple(int(i) for i in np.unravel_index(flat, bad.shape))
    value = array[index]
    text = repr(float(value)) if np.issubdtype(array.dtype, np.floating) else str(value)
    raise SpecificationError(f"{name}{_index_text(index)} = {text}: {expected}")


def _as_float(name: str, value: ArrayLike) -> Array:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise SpecificationError(f"{name}: expected an array of numbers ({error})") from None
    return array


def _check_values(
    name: str,
    array: np.ndarray,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    expected: str | None = None,
) -> None:
    """Check that every value is finite and within ``[low, high]`` (or ``(low, high]``)."""
    ok = np.isfinite(array)
    if low is not None:
        ok &= (array > low) if low_open else (array >= low)
    if high is not None:
        ok &= array <= high
    if not ok.all():
        if expected is None:
            expected = _range_text(low, high, low_open)
        _raise_at(name, array, ~ok, expected)


def _range_text(low: float | None, high: float | None, low_open: bool) -> str:
    def num(v: float) -> str:
        return f"{v:g}"

    if low is not None and high is not None:
        return f"expected a value in {'(' if low_open else '['}{num(low)}, {num(high)}]"
    if low is not None:
        return f"expected a finite value {'>' if low_open else '>='} {num(low)}"
    if high is not None:
        return f"expected a finite value <= {num(high)}"
    return "expected a finite number"


def _check_int(name: str, value: object, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SpecificationError(f"{name} = {value!r}: expected an integer >= {minimum}")
    if value < minimum:
        raise SpecificationError(f"{name} = {value!r}: expected an integer >= {minimum}")
    return int(value)


def _check_base(name: str, base: ArrayLike) -> Array:
    """Validate a base population; return it as a 4-d ``(area, sex, age, draw)`` array."""
    array = _as_float(name, base)
    if array.ndim not in (3, 4):
        raise SpecificationError(
            f"{name} has shape {array.shape}: expected (area, sex, age) or "
            "(area, sex, age, draw)"
        )
    if array.shape[1] != 2:
        raise SpecificationError(
            f"{name} has shape {array.shape}: axis 1 (sex) has length {array.shape[1]}, "
            "expected 2 (female, male)"
        )
    if array.shape[2] < 2:
        raise SpecificationError(
            f"{name} has shape {array.shape}: axis 2 (age) has length {array.shape[2]}, "
            "expected at least 2 age groups (the last one is open)"
        )
    if array.shape[0] < 1 or (array.ndim == 4 and array.shape[3] < 1):
        raise SpecificationError(f"{name} has shape {array.shape}: expected non-empty axes")
    _check_values(name, array, low=0.0)
    return array if array.ndim == 4 else array[..., np.newaxis]


def _check_rate_shape(
    name: str,
    array: np.ndarray,
    *,
    steps: int,
    areas: int,
    sexes: tuple[int, ...],
    ages: int | None,
) -> None:
    """Check a 5-d rate array against ``(step, area, sex, age, draw)``.

    ``ages=None`` accepts any positive length on the age axis. The draw axis is checked
    later, jointly with the other inputs (:func:`_resolve_draws`).
    """
    if array.ndim != 5:
        raise SpecificationError(
            f"{name} has shape {array.shape}: expected a 5-d array "
            "(step, area, sex, age, draw)"
        )
    allowed: list[tuple[int, ...]] = [
        (1, steps),
        (1, areas),
        sexes,
        (ages,) if ages is not None else (),
    ]
    for axis, lengths in enumerate(allowed):
        length = array.shape[axis]
        if lengths and length not in lengths:
            want = " or ".join(str(v) for v in sorted(set(lengths)))
            raise SpecificationError(
                f"{name} has shape {array.shape}: axis {axis} ({AXES[axis]}) has length "
                f"{length}, expected {want}"
            )
        if length < 1:
            raise SpecificationError(
                f"{name} has shape {array.shape}: axis {axis} ({AXES[axis]}) is empty"
            )
    if array.shape[4] < 1:
        raise SpecificationError(f"{name} has shape {array.shape}: axis 4 (draw) is empty")


def _resolve_draws(named: Sequence[tuple[str, int, int]]) -> int:
    """Common number of draws of several inputs.

    Parameters
    ----------
    named : sequence of (name, draw length, axis index)
        Every input's draw-axis length; each must be 1 or the common length.
    """
    draws, source = 1, ""
    for name, length, _ in named:
        if length > 1 and draws == 1:
            draws, source = length, name
    for name, length, axis in named:
        if length not in (1, draws):
            raise SpecificationError(
                f"{name}: axis {axis} (draw) has length {length}, expected 1 or {draws} "
                f"(the number of draws of {source})"
            )
    return draws


def _check_keep_ages(keep_ages: slice | ArrayLike | None, groups: int) -> AgeIndexer:
    """Normalise ``keep_ages`` to a slice (if contiguous) or an int index array."""
    if keep_ages is None:
        return slice(0, groups)
    if isinstance(keep_ages, slice):
        indices = np.arange(groups)[keep_ages]
    else:
        indices = np.asarray(keep_ages)
        if indices.ndim != 1 or not (
            indices.size == 0 or np.issubdtype(indices.dtype, np.integer)
        ):
            raise SpecificationError(
                f"keep_ages = {keep_ages!r}: expected a slice or a 1-d array of "
                "age-group indices"
            )
        indices = indices.astype(np.intp)
        bad = (indices < 0) | (indices >= groups)
        if bad.any():
            _raise_at("keep_ages", indices, bad, f"expected an age-group index in [0, {groups - 1}]")
    if indices.size and np.all(np.diff(indices) == 1):
        return slice(int(indices[0]), int(indices[-1]) + 1)
    return indices


def _kept_indices(indexer: AgeIndexer, groups: int) -> NDArray[np.intp]:
    return np.arange(groups, dtype=np.intp)[indexer]


def _check_bands(
    age_bands: Sequence[tuple[int, int]] | None, groups: int
) -> tuple[tuple[int, int], ...]:
    if age_bands is None:
        return ()
    bands: list[tuple[int, int]] = []
    for i, band in enumerate(age_bands):
        try:
            first, last = (int(v) for v in band)
        except (TypeError, ValueError):
            raise SpecificationError(
                f"age_bands[{i}] = {band!r}: expected a pair (first, last) of age-group "
                "indices"
            ) from None
        if not 0 <= first <= last < groups:
            raise SpecificationError(
                f"age_bands[{i}] = {band!r}: expected 0 <= first <= last <= {groups - 1}"
            )
        bands.append((first, last))
    return tuple(bands)


def _group_of_age(name: str, age: object, width: int, groups: int) -> int:
    """Age-group index of an age in years that must start a group."""
    years = _check_int(name, age, minimum=0)
    if years % width:
        raise SpecificationError(
            f"{name} = {years}: expected a multiple of the age-group width {width}"
        )
    group = years // width
    if group >= groups:
        raise SpecificationError(
            f"{name} = {years}: expected an age below {groups * width} "
            f"(the start of the open group is {(groups - 1) * width})"
        )
    return group


def _at_step(array: np.ndarray, step: int) -> np.ndarray:
    """Step ``step`` of a 5-d rate array, broadcasting a length-1 step axis (4-d view)."""
    return array[step] if array.shape[0] > 1 else array[0]


def _draw_block(array: np.ndarray, start: int, stop: int) -> np.ndarray:
    """Draws ``start:stop`` of an array with draws last, broadcasting length 1."""
    return array[..., start:stop] if array.shape[-1] > 1 else array


def default_block_draws(areas: int, groups: int, draws: int) -> int:
    """Number of draws processed together so that one state buffer is ~2 MiB."""
    per_draw = areas * 2 * groups * 8
    return max(1, min(draws, _BLOCK_BYTES // per_draw))


# --------------------------------------------------------------------------------------
# Survival ratios
# --------------------------------------------------------------------------------------


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
    radix_value = float(radix) if np.isscalar(radix) else math.nan
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


# --------------------------------------------------------------------------------------
# Block driver (shared with hamilton_perry)
# --------------------------------------------------------------------------------------


@dataclass
class _Outputs:
    """Preallocated output arrays, written block by block."""

    population: Array
    keep: AgeIndexer
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
    ) -> "_Outputs":
        kept = _kept_indices(keep, groups).size
        out = cls(
            population=np.empty((steps + 1, areas, 2, kept, draws)),
            keep=keep,
            bands=np.empty((steps + 1, areas, 2, len(band_ages), draws)) if band_ages else None,
            band_ages=band_ages,
        )
        if accounting:
            out.total = np.empty((steps + 1, areas, 2, draws))
            out.births = np.empty((steps, areas, 2, draws))
            out.deaths = np.empty((steps, areas, 2, draws))
            out.net_migration = np.empty((steps, areas, 2, draws))
            out.migration_adjustment = np.empty((steps, areas, 2, draws))
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

    def result(self, width: int, groups: int) -> Projection:
        return Projection(
            population=self.population,
            ages=_kept_indices(self.keep, groups),
            width=width,
            bands=self.bands,
            band_ages=self.band_ages,
            total=self.total,
            births=self.births,
            deaths=self.deaths,
            net_migration=self.net_migration,
            migration_adjustment=self.migration_adjustment,
        )


class _Tile:
    """Contiguous copy, for one block of draws and one step, of a 5-d rate array (or of
    the product of two), shape ``(area|1, sex|1, age, block)``.

    The copy is refreshed only when the step or block it depends on changes, so a rate
    constant over steps is read from main memory once per block, and a rate constant
    over draws once per projection. Working on contiguous tiles (rather than on strided
    or broadcast views of the inputs) lets numpy run every ufunc as one long contiguous
    inner loop.
    """

    def __init__(self, *arrays: Array, track_negative: bool = False):
        self.arrays = arrays
        self.shape = np.broadcast_shapes(*(a.shape[1:4] for a in arrays))
        self.track_negative = track_negative
        self.negative = False
        self.buffer: Array | None = None
        self.key: tuple[object, ...] | None = None

    def get(self, step: int, start: int, stop: int) -> Array:
        key = tuple(
            (step if a.shape[0] > 1 else 0, start if a.shape[4] > 1 else -1)
            for a in self.arrays
        ) + (stop - start,)
        if key != self.key or self.buffer is None:
            if self.buffer is None or self.buffer.shape[-1] != stop - start:
                self.buffer = np.empty(self.shape + (stop - start,))
            views = [_draw_block(_at_step(a, step), start, stop) for a in self.arrays]
            if len(views) == 1:
                np.copyto(self.buffer, views[0])
            else:
                np.multiply(views[0], views[1], out=self.buffer)
            if self.track_negative:
                self.negative = bool(np.minimum.reduce(self.buffer, axis=None) < 0)
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
    """Advances the state of a block of draws ``start:stop`` by one step: ``P`` (start
    of the step, ``(area, sex, age, block)``) into ``Q`` (end of the step)."""

    def __call__(self, step: int, start: int, stop: int, P: Array, Q: Array) -> None: ...


def _run_blocks(
    base: Array,
    steps: int,
    draws: int,
    block: int,
    make_kernel: Callable[[], _Kernel],
    outputs: _Outputs,
    threads: int = 1,
) -> None:
    """Project every block of draws through all steps; record each year's state.

    With ``threads > 1``, thread ``i`` projects blocks ``i, i + threads, ...`` with its
    own kernel and buffers (numpy releases the GIL inside ufunc loops); blocks write to
    disjoint draw ranges of the outputs, so the result does not depend on ``threads``.
    """
    starts = range(0, draws, block)
    threads = min(threads, len(starts))

    def run(first: int) -> None:
        areas, _, groups, _ = base.shape
        kernel = make_kernel()
        states = _Buffers(current=(areas, 2, groups), following=(areas, 2, groups))
        for start in starts[first::threads]:
            stop = min(start + block, draws)
            buffers = states.at(stop - start)
            P, Q = buffers["current"], buffers["following"]
            np.copyto(P, _draw_block(base, start, stop))
            outputs.record(0, start, stop, P)
            for step in range(steps):
                kernel(step, start, stop, P, Q)
                outputs.record(step + 1, start, stop, Q)
                P, Q = Q, P

    if threads <= 1:
        run(0)
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for future in [pool.submit(run, i) for i in range(threads)]:
            future.result()


def _check_block(block_draws: int | None, areas: int, groups: int, draws: int) -> int:
    if block_draws is None:
        return default_block_draws(areas, groups, draws)
    return min(_check_int("block_draws", block_draws, minimum=1), draws)


def _check_threads(threads: int) -> int:
    return _check_int("threads", threads, minimum=1)


# --------------------------------------------------------------------------------------
# Cohort-component projection
# --------------------------------------------------------------------------------------


def project_cohort(
    base: ArrayLike,
    *,
    steps: int,
    nLx: ArrayLike,
    fertility: ArrayLike,
    fertility_first_age: int,
    sex_ratio_at_birth: float | ArrayLike,
    net_migration: ArrayLike | None = None,
    width: int = 1,
    radix: float = DEFAULT_RADIX,
    keep_ages: slice | ArrayLike | None = None,
    age_bands: Sequence[tuple[int, int]] | None = None,
    accounting: bool = False,
    block_draws: int | None = None,
    threads: int = 1,
) -> Projection:
    """Cohort-component projection with mortality given as life-table ``nLx``.

    Computes the survival ratios with :func:`survival_ratios` and projects with
    :func:`project_cohort_survival`; see there for the model and the other parameters.

    Parameters
    ----------
    nLx : array_like, shape (step, area, sex, G, draw)
        Life-table person-years per age group (last group: ``T`` of the open age), for a
        cohort of ``radix`` births; axes of length 1 broadcast.
    radix : float
        Life-table radix ``l0`` (births), default 100 000.
    """
    survival = survival_ratios(nLx, width=width, radix=radix)
    return _project(
        base,
        steps=steps,
        survival=survival,
        survival_name="nLx",
        fertility=fertility,
        fertility_first_age=fertility_first_age,
        sex_ratio_at_birth=sex_ratio_at_birth,
        net_migration=net_migration,
        width=width,
        keep_ages=keep_ages,
        age_bands=age_bands,
        accounting=accounting,
        block_draws=block_draws,
        threads=threads,
    )


def project_cohort_survival(
    base: ArrayLike,
    *,
    steps: int,
    survival: ArrayLike,
    fertility: ArrayLike,
    fertility_first_age: int,
    sex_ratio_at_birth: float | ArrayLike,
    net_migration: ArrayLike | None = None,
    width: int = 1,
    keep_ages: slice | ArrayLike | None = None,
    age_bands: Sequence[tuple[int, int]] | None = None,
    accounting: bool = False,
    block_draws: int | None = None,
    threads: int = 1,
) -> Projection:
    """Cohort-component projection with mortality given as survival ratios.

    One step of ``n = width`` years takes the population ``P(t)`` (persons, by area
    ``a``, sex ``s``, age group ``x``, draw ``d``) to ``P(t+n)``. With ``S_x`` the
    survival ratio into group ``x`` (:func:`survival_ratios`), ``M_x`` the net migrants
    of the step whose age group at the end of the step is ``x``, and ``G`` groups, the
    last one open:

    * ages ``1 <= x <= G - 2``:
      :math:`P_x(t+n) = S_x\\,(P_{x-1}(t) + M_x/2) + M_x/2`
    * open group:
      :math:`P_{G-1}(t+n) = S_{G-1}\\,(P_{G-2}(t) + P_{G-1}(t) + M_{G-1}/2) + M_{G-1}/2`
    * births of the step (persons, both sexes, per area and draw), from the annual
      age-specific fertility rates :math:`{}_nF_x` (births per woman per year) and the
      women at the start and at the (already projected) end of the step:
      :math:`B = \\sum_x {}_nF_x \\, n \\, (W_x(t) + W_x(t+n)) / 2`, where
      :math:`W_x = P_{\\mathrm{female}, x}`; girls :math:`B / (1 + \\mathrm{srb})`, boys
      :math:`B\\,\\mathrm{srb} / (1 + \\mathrm{srb})`;
    * first group, each sex:
      :math:`P_0(t+n) = S_0\\,(B_s + M_0/2) + M_0/2`, with
      :math:`S_0 = {}_nL_0 / (n\\, l_0)`.

    ``W_x(t+n)`` includes the migrants of the step (after clipping). If a right-hand
    side is negative (net out-migration exceeding the cohort), the out-migration is
    reduced to the amount that leaves exactly zero,
    :math:`M'_x = -2\\,S_x P_{\\mathrm{src}} / (1 + S_x)`, and the cell is set to 0;
    the accounting reports ``M'`` (see the module docstring).

    Parameters
    ----------
    base : array_like, shape (area, sex, G) or (area, sex, G, draw)
        Population at the start, persons (>= 0).
    steps : int
        Number of steps of ``width`` years to project (>= 0).
    survival : array_like, shape (step, area, sex, G, draw)
        Survival ratios into each group (in [0, 1]); axes of length 1 broadcast.
    fertility : array_like, shape (step, area, 1, K, draw)
        Annual age-specific fertility rates (births per woman per year, in [0, 1]) of
        the ``K`` groups starting at ``fertility_first_age``.
    fertility_first_age : int
        Age in years at which the fertility groups start; a multiple of ``width``, at
        least ``width`` (group 0 cannot give birth), and ``K`` groups must fit.
    sex_ratio_at_birth : float or array_like, shape (step, area, 1, 1, draw)
        Male births per female birth (> 0).
    net_migration : array_like, shape (step, area, sex, G, draw), optional
        Net migrants per step (persons; in minus out, may be negative) by age group at
        the end of the step. Default: none.
    width : int
        Width ``n`` of age groups and of a step, years (1 or 5 typically).
    keep_ages : slice or array_like of int, optional
        Age-group indices to keep in :attr:`Projection.population` (for ``width == 1``
        the ages in years, e.g. ``slice(0, 18)``). The engine never holds more than one
        block of draws of the full state.
    age_bands : sequence of (int, int), optional
        Inclusive ``(first, last)`` age-group index ranges whose sums are returned in
        :attr:`Projection.bands`.
    accounting : bool
        Also return totals, births, deaths and realised migration per step (memory
        ``5 x steps x area x 2 x draw`` floats).
    block_draws : int, optional
        Number of draws processed together (performance tuning only; default: about
        2 MiB of state per block).
    threads : int
        Number of threads projecting blocks of draws in parallel (default 1). The
        result does not depend on it.

    Returns
    -------
    Projection

    Raises
    ------
    SpecificationError
        Before any projecting, for a wrong shape (naming the input and axis), a NaN or
        infinite value or a value out of range (naming the input, the full index and
        the value).
    """
    return _project(
        base,
        steps=steps,
        survival=survival,
        survival_name="survival",
        fertility=fertility,
        fertility_first_age=fertility_first_age,
        sex_ratio_at_birth=sex_ratio_at_birth,
        net_migration=net_migration,
        width=width,
        keep_ages=keep_ages,
        age_bands=age_bands,
        accounting=accounting,
        block_draws=block_draws,
        threads=threads,
    )


def _project(
    base: ArrayLike,
    *,
    steps: int,
    survival: ArrayLike,
    survival_name: str,
    fertility: ArrayLike,
    fertility_first_age: int,
    sex_ratio_at_birth: float | ArrayLike,
    net_migration: ArrayLike | None,
    width: int,
    keep_ages: slice | ArrayLike | None,
    age_bands: Sequence[tuple[int, int]] | None,
    accounting: bool,
    block_draws: int | None,
    threads: int,
) -> Projection:
    """Validate, allocate the outputs and run the blocks (see project_cohort_survival)."""
    inputs = _CohortInputs.check(
        base,
        steps=steps,
        survival=survival,
        survival_name=survival_name,
        fertility=fertility,
        fertility_first_age=fertility_first_age,
        sex_ratio_at_birth=sex_ratio_at_birth,
        net_migration=net_migration,
        width=width,
    )
    areas, _, groups, _ = inputs.base.shape
    keep = _check_keep_ages(keep_ages, groups)
    band_ages = _check_bands(age_bands, groups)
    block = _check_block(block_draws, areas, groups, inputs.draws)
    threads = _check_threads(threads)
    outputs = _Outputs.allocate(
        inputs.steps, areas, groups, inputs.draws, keep, band_ages, accounting
    )
    kernel_outputs = outputs if accounting else None
    _run_blocks(
        inputs.base,
        inputs.steps,
        inputs.draws,
        block,
        lambda: _CohortKernel(inputs, kernel_outputs),
        outputs,
        threads,
    )
    return outputs.result(inputs.width, groups)


@dataclass(frozen=True)
class _CohortInputs:
    """Validated inputs of :func:`project_cohort_survival`, in engine form."""

    base: Array  # (area, sex, G, draw|1)
    steps: int
    survival: Array  # (step|1, area|1, sex|1, G, draw|1)
    migration_factor: Array  # (1 + S) / 2, same shape as survival
    fertility: Array  # (step|1, area|1, 1, K, draw|1)
    first_group: int
    shares: Array  # (step|1, area|1, 2, 1, draw|1): girls 1/(1+srb), boys srb/(1+srb)
    migration: Array | None  # (step|1, area|1, sex|1, G, draw|1)
    width: int
    draws: int

    @classmethod
    def check(
        cls,
        base: ArrayLike,
        *,
        steps: int,
        survival: ArrayLike,
        survival_name: str,
        fertility: ArrayLike,
        fertility_first_age: int,
        sex_ratio_at_birth: float | ArrayLike,
        net_migration: ArrayLike | None,
        width: int,
    ) -> "_CohortInputs":
        width = _check_int("width", width, minimum=1)
        steps = _check_int("steps", steps, minimum=0)
        P0 = _check_base("base", base)
        areas, _, groups, _ = P0.shape
        shape = dict(steps=steps, areas=areas)

        S = _as_float(survival_name, survival)
        _check_rate_shape(survival_name, S, sexes=(1, 2), ages=groups, **shape)
        _check_values(survival_name, S, low=0.0, high=1.0)

        F = _as_float("fertility", fertility)
        _check_rate_shape("fertility", F, sexes=(1,), ages=None, **shape)
        first = _group_of_age("fertility_first_age", fertility_first_age, width, groups)
        if first < 1:
            raise SpecificationError(
                f"fertility_first_age = {fertility_first_age}: expected an age >= width "
                f"= {width} (the first age group cannot give birth during the step)"
            )
        if first + F.shape[3] > groups:
            raise SpecificationError(
                f"fertility has shape {F.shape}: axis 3 (age) has length {F.shape[3]}, "
                f"expected at most {groups - first} (groups from fertility_first_age = "
                f"{fertility_first_age} to the open group)"
            )
        _check_values("fertility", F, low=0.0, high=1.0)

        srb = _as_float("sex_ratio_at_birth", sex_ratio_at_birth)
        if srb.ndim == 0:
            srb = srb.reshape(1, 1, 1, 1, 1)
        _check_rate_shape("sex_ratio_at_birth", srb, sexes=(1,), ages=1, **shape)
        _check_values("sex_ratio_at_birth", srb, low=0.0, low_open=True)

        M = None
        if net_migration is not None:
            M = _as_float("net_migration", net_migration)
            _check_rate_shape("net_migration", M, sexes=(1, 2), ages=groups, **shape)
            _check_values("net_migration", M)

        named = [("base", P0.shape[3], 3)]
        named += [
            (name, array.shape[4], 4)
            for name, array in (
                (survival_name, S),
                ("fertility", F),
                ("sex_ratio_at_birth", srb),
                ("net_migration", M),
            )
            if array is not None
        ]
        draws = _resolve_draws(named)

        shares = np.concatenate([1.0 / (1.0 + srb), srb / (1.0 + srb)], axis=2)
        return cls(
            base=P0,
            steps=steps,
            survival=S,
            migration_factor=(1.0 + S) / 2.0,
            fertility=F,
            first_group=first,
            shares=shares,
            migration=M,
            width=width,
            draws=draws,
        )


class _CohortKernel:
    """One cohort-component step for one block of draws (see
    :func:`project_cohort_survival` for the equations).

    The survived populations are computed as ``S * P_src + (1 + S)/2 * M``, which equals
    ``S (P_src + M/2) + M/2``; ``(1 + S)/2 * M`` is a :class:`_Tile` computed once per
    block and step of the inputs. Every operation writes into a preallocated buffer.
    """

    def __init__(self, inputs: _CohortInputs, outputs: _Outputs | None):
        self.inputs = inputs
        areas, _, groups, _ = inputs.base.shape
        K = inputs.fertility.shape[3]
        self.survival = _Tile(inputs.survival)
        self.fertility = _Tile(inputs.fertility)
        self.shares = _Tile(inputs.shares)
        self.added: _Tile | None = None
        self.requested: _Tile | None = None
        if inputs.migration is not None:
            self.added = _Tile(inputs.migration_factor, inputs.migration, track_negative=True)
            if outputs is not None:
                self.requested = _Tile(inputs.migration)
        self.outputs = outputs
        shapes = dict(
            zeros=(areas, 2, groups),
            women=(areas, K),
            births=(areas,),
            open_survivors=(areas, 2),
        )
        if outputs is not None:
            shapes.update(unclipped=(areas, 2, groups), work=(areas, 2, groups))
        self.buffers = _Buffers(**shapes)

    def __call__(self, step: int, start: int, stop: int, P: Array, Q: Array) -> None:
        buffers = self.buffers.at(stop - start)
        S = self.survival.get(step, start, stop)
        F = self.fertility.get(step, start, stop)[:, 0]
        shares = self.shares.get(step, start, stop)[:, :, 0]
        added = None if self.added is None else self.added.get(step, start, stop)
        clip = self.added is not None and self.added.negative
        unclipped = buffers.get("unclipped")

        self._survive(P, Q, S, added, clip, buffers, unclipped)
        births = self._births(P, Q, F, buffers)
        self._first_group(Q, births, shares, S, added, clip, buffers, unclipped)
        if self.outputs is not None:
            assert unclipped is not None
            self._account(step, start, stop, P, births, shares, S, buffers["work"], unclipped)

    @staticmethod
    def _survive(
        P: Array,
        Q: Array,
        S: Array,
        added: Array | None,
        clip: bool,
        buffers: dict[str, Array],
        unclipped: Array | None,
    ) -> None:
        """Groups 1 .. G-1 at the end of the step, clipped at zero."""
        older = Q[:, :, 1:]
        np.multiply(P[:, :, :-1], S[:, :, 1:], out=older)
        open_survivors = np.multiply(P[:, :, -1], S[:, :, -1], out=buffers["open_survivors"])
        Q[:, :, -1] += open_survivors
        if added is not None:
            older += added[:, :, 1:]
        if unclipped is not None:
            np.copyto(unclipped[:, :, 1:], older)
        # clipping is rare: a read-only check is cheaper than clipping every step
        if clip and np.minimum.reduce(older, axis=None) < 0.0:
            np.maximum(older, buffers["zeros"][:, :, 1:], out=older)

    def _births(self, P: Array, Q: Array, F: Array, buffers: dict[str, Array]) -> Array:
        """Births of the step per area and draw, ``B = n/2 sum_x F_x (W_x(t) + W_x(t+n))``."""
        first = self.inputs.first_group
        fertile = slice(first, first + F.shape[1])
        women = np.add(P[:, FEMALE, fertile], Q[:, FEMALE, fertile], out=buffers["women"])
        women *= F
        births = np.add.reduce(women, axis=1, out=buffers["births"])
        births *= self.inputs.width / 2.0
        return births

    @staticmethod
    def _first_group(
        Q: Array,
        births: Array,
        shares: Array,
        S: Array,
        added: Array | None,
        clip: bool,
        buffers: dict[str, Array],
        unclipped: Array | None,
    ) -> None:
        """Group 0 at the end of the step: ``S_0 (B_s + M_0/2) + M_0/2``, clipped."""
        first = Q[:, :, 0]
        np.multiply(births[:, np.newaxis, :], shares, out=first)
        first *= S[:, :, 0]
        if added is not None:
            first += added[:, :, 0]
        if unclipped is not None:
            np.copyto(unclipped[:, :, 0], first)
        if clip:
            np.maximum(first, buffers["zeros"][:, :, 0], out=first)

    def _account(
        self,
        step: int,
        start: int,
        stop: int,
        P: Array,
        births: Array,
        shares: Array,
        S: Array,
        work: Array,
        unclipped: Array,
    ) -> None:
        """Births, deaths and realised migration of the step (sums over age).

        With ``U`` the unclipped end-of-step value and ``E = P_src + M/2`` the cohort
        exposed to mortality (``P_src``: group ``x - 1``, both last groups for the open
        group, ``B_s`` for group 0), clipping removes ``A = min(U, 0) / (1 + S)`` from the
        half of the migrants counted at the start *and* from the half counted at the
        end, so that realised migration is ``M - 2A``, deaths are ``(1 - S)(E - A)`` and
        the end value ``S (E - A) + M/2 - A = max(U, 0)``.
        """
        out = self.outputs
        assert out is not None and out.births is not None
        assert out.deaths is not None and out.net_migration is not None
        assert out.migration_adjustment is not None
        block = slice(start, stop)
        sexes_births = births[:, np.newaxis, :] * shares
        np.copyto(out.births[step, :, :, block], sexes_births)
        # exposure E (persons exposed to the step's mortality), in work
        np.copyto(work[:, :, 1:], P[:, :, :-1])
        work[:, :, -1] += P[:, :, -1]
        np.copyto(work[:, :, 0], sexes_births)
        adjust = np.minimum(unclipped, 0.0)
        adjust /= 1.0 + S
        if self.requested is not None:
            M = self.requested.get(step, start, stop)
            work += M / 2.0
            requested = np.add.reduce(np.broadcast_to(M, work.shape), axis=2)
        else:
            requested = np.zeros(work.shape[:2] + work.shape[3:])
        work -= adjust
        work *= 1.0 - S
        np.add.reduce(work, axis=2, out=out.deaths[step, :, :, block])
        removed = -2.0 * np.add.reduce(adjust, axis=2)
        removed += 0.0  # -0.0 -> 0.0
        np.copyto(out.migration_adjustment[step, :, :, block], removed)
        np.copyto(out.net_migration[step, :, :, block], requested + removed)
