"""Hamilton-Perry projection with cohort-change and child-woman ratios (pure numpy).

For areas without births, deaths and migration by age, the Hamilton-Perry method
(Hamilton & Perry 1962; Swanson, Schlottmann & Schmidt 2010) projects each cohort with
the ratio of its size in two successive populations ``n`` years apart, and the youngest
group with the ratio of children to women.

Axis order and conventions are those of :mod:`capacity.core.cohort`: populations
``(year, area, sex, age, draw)`` (base: ``(area, sex, age[, draw])``), ratios 5-d
``(step, area, sex, age, draw)`` with length-1 axes broadcasting, sex 0 = female,
1 = male, age index ``x`` = group ``[x n, x n + n)`` years, the last group open.
Ratios are dimensionless.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from capacity.core._blocks import _Block, _Buffers, _Outputs, _run, _Tile
from capacity.core._checks import (
    FEMALE,
    Array,
    _as_float,
    _check_base,
    _check_int,
    _check_rate_shape,
    _check_values,
    _first_index,
    _group_of_age,
    _index_text,
    _resolve_draws,
)
from capacity.core.projection import Projection, _projection
from capacity.errors import SpecificationError

__all__ = ["HamiltonPerryRatios", "cohort_change_ratios", "project_hamilton_perry"]

DEFAULT_WOMAN_AGES = (15, 49)
"""Default ages (first, last, inclusive, years) of the women of a child-woman ratio."""


@dataclass(frozen=True)
class HamiltonPerryRatios:
    """Cohort-change and child-woman ratios for one step (read-only float64 arrays).

    Attributes
    ----------
    ccr : ndarray, shape (1, area, sex, G - 1, draw)
        ``ccr[..., j, :]`` is the cohort-change ratio *into* age group ``j + 1``.
    cwr : ndarray, shape (1, area, sex, 1, draw)
        Children of group 0 of each sex per woman of ``woman_ages``.
    """

    ccr: Array
    cwr: Array

    def __post_init__(self) -> None:
        self.ccr.flags.writeable = False
        self.cwr.flags.writeable = False


def _woman_groups(
    woman_ages: tuple[int, int], width: int, groups: int
) -> tuple[int, int]:
    """Age-group range ``[first, stop)`` of the women of a child-woman ratio."""
    try:
        first_age, last_age = (v for v in woman_ages)
    except (TypeError, ValueError):
        raise SpecificationError(
            f"woman_ages = {woman_ages!r}: expected a pair (first, last) of ages in years"
        ) from None
    first = _group_of_age("woman_ages[0]", first_age, width, groups)
    last_plus_one = _check_int("woman_ages[1]", last_age, minimum=0) + 1
    if last_plus_one % width or last_plus_one <= first_age:
        raise SpecificationError(
            f"woman_ages = {tuple(woman_ages)!r}: expected last + 1 to be a multiple of the "
            f"age-group width {width} and last >= first"
        )
    if first < 1:
        raise SpecificationError(
            f"woman_ages = {tuple(woman_ages)!r}: expected first >= width = {width} (the "
            "women cannot include the children's own group)"
        )
    stop = min(last_plus_one // width, groups)
    return first, stop


def _ratio(name: str, numerator: Array, denominator: Array) -> Array:
    """``numerator / denominator`` with ``0 / 0 = 0``; raise where only the denominator
    is zero (the ratio would be infinite)."""
    infinite = (denominator == 0) & (numerator > 0)
    if infinite.any():
        index = _first_index(infinite)
        raise SpecificationError(
            f"{name}{_index_text((0,) + index)} = inf: {float(numerator[index])!r} persons "
            "divided by 0 persons; expected a positive denominator where the numerator "
            "is positive"
        )
    out = np.zeros(np.broadcast_shapes(numerator.shape, denominator.shape))
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def cohort_change_ratios(
    earlier: ArrayLike,
    later: ArrayLike,
    *,
    width: int = 1,
    woman_ages: tuple[int, int] = DEFAULT_WOMAN_AGES,
) -> HamiltonPerryRatios:
    """Cohort-change and child-woman ratios from two populations ``width`` years apart.

    Parameters
    ----------
    earlier, later : array_like, shape (area, sex, G) or (area, sex, G, draw)
        Populations (persons) at times ``t - n`` and ``t``, ``n = width`` years apart.
    width : int
        Width ``n`` of the age groups and the interval between the two populations, years.
    woman_ages : (int, int)
        First and last age (inclusive, years) of the women in the child-woman ratio;
        ``first`` and ``last + 1`` multiples of ``width``; default 15-49.

    Returns
    -------
    HamiltonPerryRatios
        * :math:`CCR_x = P_x(t) / P_{x-1}(t-n)` for ``1 <= x <= G - 2``;
        * open group: :math:`CCR_{G-1} = P_{G-1}(t) / (P_{G-2}(t-n) + P_{G-1}(t-n))`;
        * :math:`CWR_s = P_{s,0}(t) / \\sum_{x \\in \\mathrm{woman\\_ages}} P_{f,x}(t)`
          (children of sex ``s`` in group 0 per woman, both at time ``t``).

        A ratio ``0 / 0`` is set to 0.

    Raises
    ------
    SpecificationError
        Wrong shapes, negative or non-finite populations, or a positive population
        ``P(t)`` whose denominator is 0 (an infinite ratio).
    """
    width = _check_int("width", width, minimum=1)
    P0 = _check_base("earlier", earlier)
    P1 = _check_base("later", later)
    if P0.shape[:3] != P1.shape[:3]:
        raise SpecificationError(
            f"later has shape {P1.shape[:3]} (area, sex, age): expected the shape of "
            f"earlier, {P0.shape[:3]}"
        )
    _resolve_draws([("earlier", P0.shape[3], 3), ("later", P1.shape[3], 3)])
    groups = P0.shape[2]
    first, stop = _woman_groups(woman_ages, width, groups)

    source = np.array(P0[:, :, :-1], copy=True)
    source[:, :, -1] += P0[:, :, -1]
    ccr = _ratio("ccr", P1[:, :, 1:], source)
    women = P1[:, FEMALE : FEMALE + 1, first:stop].sum(axis=2, keepdims=True)
    cwr = _ratio("cwr", P1[:, :, :1], women)
    return HamiltonPerryRatios(ccr=ccr[np.newaxis], cwr=cwr[np.newaxis])


def project_hamilton_perry(
    base: ArrayLike,
    *,
    steps: int,
    ccr: ArrayLike,
    cwr: ArrayLike,
    width: int = 1,
    woman_ages: tuple[int, int] = DEFAULT_WOMAN_AGES,
    keep_ages: slice | ArrayLike | None = None,
    age_bands: Sequence[tuple[int, int]] | None = None,
    block_draws: int | None = None,
    block_areas: int | None = None,
) -> Projection:
    """Hamilton-Perry projection.

    One step of ``n = width`` years:

    * :math:`P_x(t+n) = CCR_x\\, P_{x-1}(t)` for ``1 <= x <= G - 2``;
    * :math:`P_{G-1}(t+n) = CCR_{G-1}\\,(P_{G-2}(t) + P_{G-1}(t))` (open group);
    * :math:`P_{s,0}(t+n) = CWR_s \\sum_{x \\in \\mathrm{woman\\_ages}} P_{f,x}(t+n)`
      (children from the women projected to the end of the step).

    Parameters
    ----------
    base : array_like, shape (area, sex, G) or (area, sex, G, draw)
        Population at the start, persons.
    steps : int
        Number of steps of ``width`` years (>= 0).
    ccr : array_like, shape (step, area, sex, G - 1, draw)
        Cohort-change ratios (>= 0); ``ccr[..., j, :]`` is the ratio into group
        ``j + 1``. Axes of length 1 broadcast, so ratios may vary by step.
    cwr : array_like, shape (step, area, sex, 1, draw)
        Child-woman ratios (children of group 0 per woman of ``woman_ages``, >= 0).
    width : int
        Width of age groups and of a step, years.
    woman_ages : (int, int)
        First and last age (inclusive, years) of the women of the child-woman ratio.
    keep_ages, age_bands, block_draws, block_areas
        As in :func:`capacity.core.cohort.project_cohort_survival`.

    Returns
    -------
    Projection
        Population (and bands); no accounting components (the method has none).
    """
    width = _check_int("width", width, minimum=1)
    steps = _check_int("steps", steps, minimum=0)
    P0 = _check_base("base", base)
    areas, _, groups, _ = P0.shape
    first, stop = _woman_groups(woman_ages, width, groups)
    R = _as_float("ccr", ccr)
    _check_rate_shape("ccr", R, steps=steps, areas=areas, sexes=(1, 2), ages=groups - 1)
    _check_values("ccr", R, low=0.0)
    C = _as_float("cwr", cwr)
    _check_rate_shape("cwr", C, steps=steps, areas=areas, sexes=(1, 2), ages=1)
    _check_values("cwr", C, low=0.0)
    draws = _resolve_draws(
        [("base", P0.shape[3], 3), ("ccr", R.shape[4], 4), ("cwr", C.shape[4], 4)]
    )

    def make_kernel(_: _Outputs) -> Callable[[int, _Block, Array, Array], None]:
        ratio_tile, child_tile = _Tile(R), _Tile(C)
        buffers = _Buffers(women=())

        def kernel(step: int, block: _Block, P: Array, Q: Array) -> None:
            # in place (Q[:, :, x] is P[:, :, x - 1]): each cohort is multiplied where it
            # lies, then the old open group is folded into the new one
            ratios = ratio_tile.get(step, block)
            children = child_tile.get(step, block)
            work = buffers.at(block)
            np.multiply(P[:, :, :-1], ratios, out=P[:, :, :-1])
            np.multiply(P[:, :, -1], ratios[:, :, -1], out=P[:, :, -1])
            np.add(Q[:, :, -1], P[:, :, -1], out=Q[:, :, -1])
            women = np.add.reduce(Q[:, FEMALE, first:stop], axis=1, out=work["women"])
            np.multiply(women[:, np.newaxis, :], children[:, :, 0], out=Q[:, :, 0])

        return kernel

    outputs = _run(
        P0,
        steps,
        draws,
        make_kernel,
        keep_ages=keep_ages,
        age_bands=age_bands,
        block_draws=block_draws,
        block_areas=block_areas,
    )
    return _projection(outputs, width)
