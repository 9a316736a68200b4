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
The draws are independent, so the engine processes them in blocks of ``block_draws``
draws and runs *all* steps for one block before moving on to the next, optionally with
several threads (:mod:`capacity.core._blocks`). Within a block, every operation of a
step (:class:`_CohortKernel`) is a numpy ufunc over the whole block with a preallocated
``out=`` buffer.

Module layout: this module holds the model (survival ratios, the kernel of one step,
the public projection functions and :class:`Projection`); input validation is in
:mod:`capacity.core._checks` and the block driver in :mod:`capacity.core._blocks`,
both shared with :mod:`capacity.core.hamilton_perry`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capacity.core._blocks import _Buffers, _Outputs, _run, _Tile
from capacity.core._checks import (
    AXES,
    Array,
    _as_float,
    _check_base,
    _check_int,
    _check_rate_shape,
    _check_values,
    _group_of_age,
    _raise_at,
    _resolve_draws,
)
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
DEFAULT_RADIX = 100_000.0
"""Default life-table radix ``l0``."""
# AXES (the names of the five axes) is defined with the shape checks that use it,
# in capacity.core._checks, and re-exported here.


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



def _projection(outputs: _Outputs, width: int) -> Projection:
    """The filled outputs of a run (:func:`capacity.core._blocks._run`) as a
    :class:`Projection`."""
    return Projection(
        population=outputs.population,
        ages=outputs.ages,
        width=width,
        bands=outputs.bands,
        band_ages=outputs.band_ages,
        total=outputs.total,
        births=outputs.births,
        deaths=outputs.deaths,
        net_migration=outputs.net_migration,
        migration_adjustment=outputs.migration_adjustment,
    )

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
    :func:`project_cohort_survival`; see there for the model.

    Parameters
    ----------
    base, steps, fertility, fertility_first_age, sex_ratio_at_birth, net_migration, width
        As in :func:`project_cohort_survival`.
    nLx : array_like, shape (step, area, sex, G, draw)
        Life-table person-years per age group (last group: ``T`` of the open age), for a
        cohort of ``radix`` births; axes of length 1 broadcast.
    radix : float
        Life-table radix ``l0`` (births), default 100 000.
    keep_ages, age_bands, accounting, block_draws, threads
        As in :func:`project_cohort_survival`.

    Returns
    -------
    Projection

    Raises
    ------
    SpecificationError
        As in :func:`project_cohort_survival`, and for an invalid ``nLx`` or ``radix``
        (:func:`survival_ratios`); a wrong shape or number of draws of the survival
        ratios is reported as one of ``nLx``.
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
    """Validate the inputs and run the blocks (see :func:`project_cohort_survival`).

    ``survival_name`` is the name under which errors in the survival ratios (shape,
    number of draws) are reported: ``"nLx"`` when they were computed from it.
    """
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
    outputs = _run(
        inputs.base,
        inputs.steps,
        inputs.draws,
        lambda outputs: _CohortKernel(inputs, outputs if accounting else None),
        keep_ages=keep_ages,
        age_bands=age_bands,
        block_draws=block_draws,
        threads=threads,
        accounting=accounting,
    )
    return _projection(outputs, inputs.width)


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
    ) -> _CohortInputs:
        width = _check_int("width", width, minimum=1)
        steps = _check_int("steps", steps, minimum=0)
        P0 = _check_base("base", base)
        areas, _, groups, _ = P0.shape
        shape = {"steps": steps, "areas": areas}

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
        shapes = {
            "zeros": (areas, 2, groups),
            "women": (areas, K),
            "births": (areas,),
            "open_survivors": (areas, 2),
        }
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
