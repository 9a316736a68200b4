"""Input validation shared by the projection engines (:mod:`capacity.core.cohort`,
:mod:`capacity.core.hamilton_perry`).

Every check raises :class:`~capacity.errors.SpecificationError` naming the input and,
for a bad value, its full index and the value; shapes are checked against the axis
order ``(step, area, sex, age, draw)`` of :data:`AXES`. Also holds the axis names, the
sex indices and the array type aliases used throughout the core.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capacity.errors import SpecificationError

AXES = ("step", "area", "sex", "age", "draw")
"""Names of the five axes of rate arrays (population arrays: ``year`` for ``step``)."""
FEMALE = 0
"""Index of females on the sex axis."""
MALE = 1
"""Index of males on the sex axis."""

Array = NDArray[np.float64]
AgeIndexer = slice | np.ndarray


def _index_text(index: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(int(i)) for i in index) + "]"


def _first_index(bad: np.ndarray) -> tuple[int, ...]:
    """Index of the first True cell of ``bad`` (in C order)."""
    flat = int(np.argmax(bad.reshape(-1)))
    return tuple(int(i) for i in np.unravel_index(flat, bad.shape))


def _raise_at(name: str, array: np.ndarray, bad: np.ndarray, expected: str) -> None:
    """Raise a :class:`SpecificationError` for the first True cell of ``bad``."""
    index = _first_index(bad)
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
