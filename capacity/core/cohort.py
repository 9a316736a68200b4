"""Cohort-component population projection (pure numpy, no I/O): the public API.

The method follows Preston, Heuveline & Guillot, *Demography: Measuring and Modeling
Population Processes* (2001), chapter 6: a population by sex and age group is survived
forward one step of ``width`` years at a time, births during the step are added to the
first age group, and net migration is added half at the start and half at the end of
the step. The equations of one step are :func:`capacity.core.step.step`.

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

With ``migration_timing="phg"`` (:attr:`CohortInputs.migration_timing`) the convention
is instead that of Preston, Heuveline & Guillot's worked projections and of the UN's
World Population Prospects (``ccmppWPP``, ``mig_assumption = "even"``): ``M[t, a, s, x, d]``
are the net migrants of age group ``x`` during step ``t``; half of them are added to group
``x`` at the start of the step and survived with it into group ``x + 1``, half are
added to group ``x`` at the end, and both halves count in the women exposed to births.
Use it to reproduce a projection published with UN-style inputs from those inputs; keep
the default for ``migration.csv`` ("age at the end of the year").

*Clipping*: where net out-migration would make a cell negative, the out-migration is
reduced so that the cell ends the step at exactly zero. The realised migration is what
the accounting reports (:attr:`Projection.net_migration`), and the reduction is reported
separately (:attr:`Projection.migration_adjustment`, >= 0), so that the balancing
equation ``P(t+1) = P(t) + births - deaths + realised net migration`` holds exactly (to
floating-point rounding) per area and sex.

Module layout
-------------
* :mod:`capacity.core.cohort` (this module): :class:`CohortInputs` and the projection
  functions;
* :mod:`capacity.core.step`: the equations of one step, written out (:func:`step`);
* :mod:`capacity.core.survival`: survival ratios from life-table ``nLx``;
* :mod:`capacity.core.product`: rates kept as a product of factors (:class:`Product`);
* :mod:`capacity.core._kernel`: the fast form of one step over a block of draws, and
  the validation of the inputs;
* :mod:`capacity.core._blocks`: the block driver, the one level of chunking over areas
  and draws (memory, speed; parallelism is the caller's, see :mod:`capacity.execute`);
* :mod:`capacity.core.projection`: the result (:class:`Projection`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from numpy.typing import ArrayLike

from capacity.core._blocks import Progress, _run
from capacity.core._checks import AXES, FEMALE, MALE
from capacity.core._kernel import _CohortKernel, _EngineInputs
from capacity.core.product import Product
from capacity.core.projection import Projection, _projection
from capacity.core.step import MIGRATION_TIMINGS, MigrationTiming
from capacity.core.survival import DEFAULT_RADIX, survival_ratios

__all__ = [
    "AXES",
    "DEFAULT_RADIX",
    "FEMALE",
    "MALE",
    "MIGRATION_TIMINGS",
    "CohortInputs",
    "MigrationTiming",
    "Product",
    "Projection",
    "project_cohort",
    "project_cohort_survival",
    "survival_ratios",
]


@dataclass(frozen=True)
class CohortInputs:
    """The inputs of a cohort-component projection (what the model hands to the core).

    Shapes use the axis order ``(step, area, sex, age, draw)``; an axis of length 1
    broadcasts. ``G`` is the number of age groups (the last one open), ``K`` the number
    of fertile groups. Values are validated by :func:`project_cohort`, which names the
    input, the index and the value of anything wrong.

    Attributes
    ----------
    base : array_like, shape (area, sex, G) or (area, sex, G, draw)
        Population at the start of the projection, persons (>= 0).
    steps : int
        Number of steps of ``width`` years to project (>= 0).
    nLx : array_like, shape (step|1, area|1, sex|1, G, draw|1)
        Life-table person-years lived in each age group by a cohort of ``radix``
        births (last group: ``T`` of the open age), person-years.
    fertility : array_like, shape (step|1, area|1, 1, K, draw|1)
        Annual age-specific fertility rates of the ``K`` groups from
        ``fertility_first_age``, births per woman per year (in [0, 1]).
    fertility_first_age : int
        Age in years at which the first fertile group starts (a multiple of ``width``,
        at least ``width``).
    sex_ratio_at_birth : float or array_like, shape (step|1, area|1, 1, 1, draw|1)
        Male births per female birth (> 0).
    net_migration : array_like or Product, shape (step|1, area|1, sex|1, G, draw|1), optional
        Net migrants of each step by age group at the end of the step, persons (in
        minus out). A :class:`~capacity.core.product.Product` keeps it as small
        factors (e.g. pattern by area, sex and age x scale by year x multiplier by
        draw), multiplied out only per step and block of draws.
    width : int
        Width of the age groups and length of a step, years.
    radix : float
        Life-table radix ``l0`` of ``nLx``, births.
    migration_timing : {"end", "phg"}
        How ``net_migration`` enters each step. ``"end"`` (default): by age group at
        the end of the step, half survived with the cohort from the start. ``"phg"``:
        by age group during the step, half added to the group at the start (and
        survived into the next group), half at the end, both halves exposed to births
        (Preston, Heuveline & Guillot 2001, ch. 6; the UN's World Population Prospects).
        Equations: :func:`capacity.core.step.step` and ``docs/model.md``.
    """

    base: ArrayLike
    steps: int
    nLx: ArrayLike
    fertility: ArrayLike
    fertility_first_age: int
    sex_ratio_at_birth: float | ArrayLike
    net_migration: ArrayLike | Product | None = None
    width: int = 1
    radix: float = DEFAULT_RADIX
    migration_timing: MigrationTiming = "end"


def project_cohort(
    inputs: CohortInputs,
    *,
    keep_ages: slice | ArrayLike | None = None,
    age_bands: Sequence[tuple[int, int]] | None = None,
    accounting: bool = False,
    births: bool = False,
    block_draws: int | None = None,
    block_areas: int | None = None,
    progress: Progress | None = None,
) -> Projection:
    """Cohort-component projection with mortality given as life-table ``nLx``.

    Computes the survival ratios with :func:`~capacity.core.survival.survival_ratios`
    and projects with :func:`project_cohort_survival`; see there (and
    :func:`capacity.core.step.step`) for the model.

    Parameters
    ----------
    inputs : CohortInputs
        Base population, rates and step width.
    keep_ages, age_bands, accounting, births, block_draws, block_areas, progress
        As in :func:`project_cohort_survival`.

    Returns
    -------
    Projection

    Raises
    ------
    SpecificationError
        As in :func:`project_cohort_survival`, and for an invalid ``nLx`` or ``radix``
        (:func:`~capacity.core.survival.survival_ratios`); a wrong shape or number of
        draws of the survival ratios is reported as one of ``nLx``.
    """
    survival = survival_ratios(inputs.nLx, width=inputs.width, radix=inputs.radix)
    return _project(
        inputs.base,
        steps=inputs.steps,
        survival=survival,
        survival_name="nLx",
        fertility=inputs.fertility,
        fertility_first_age=inputs.fertility_first_age,
        sex_ratio_at_birth=inputs.sex_ratio_at_birth,
        net_migration=inputs.net_migration,
        width=inputs.width,
        migration_timing=inputs.migration_timing,
        keep_ages=keep_ages,
        age_bands=age_bands,
        accounting=accounting,
        births=births,
        block_draws=block_draws,
        block_areas=block_areas,
        progress=progress,
    )


def project_cohort_survival(
    base: ArrayLike,
    *,
    steps: int,
    survival: ArrayLike,
    fertility: ArrayLike,
    fertility_first_age: int,
    sex_ratio_at_birth: float | ArrayLike,
    net_migration: ArrayLike | Product | None = None,
    width: int = 1,
    migration_timing: MigrationTiming = "end",
    keep_ages: slice | ArrayLike | None = None,
    age_bands: Sequence[tuple[int, int]] | None = None,
    accounting: bool = False,
    births: bool = False,
    block_draws: int | None = None,
    block_areas: int | None = None,
    progress: Progress | None = None,
) -> Projection:
    """Cohort-component projection with mortality given as survival ratios.

    Applies :func:`capacity.core.step.step` (the equations, in the notation of
    ``docs/model.md``) ``steps`` times, with the rates of step ``t`` taken from index
    ``t`` of the 5-d rate arrays, in blocks of areas x draws
    (:mod:`capacity.core._blocks`).

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
    net_migration : array_like or Product, shape (step, area, sex, G, draw), optional
        Net migrants per step (persons; in minus out, may be negative) by age group at
        the end of the step. A :class:`~capacity.core.product.Product` of small factors
        is multiplied out one step and block of draws at a time. Default: none.
    width : int
        Width ``n`` of age groups and of a step, years (1 or 5 typically).
    migration_timing : {"end", "phg"}
        The migration convention (:attr:`CohortInputs.migration_timing`); default
        ``"end"``.
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
    births : bool
        Also return the births of each step (:attr:`Projection.births`) without the rest
        of the accounting, which costs about half of a projection's time; implied by
        ``accounting``.
    block_draws, block_areas : int, optional
        Number of draws and of areas processed together (performance tuning only;
        default: as many draws as fit in about 4 MiB of state with one area, then as
        many areas as fit, :func:`capacity.core._blocks.block_shape`; ``block_draws``
        alone: every area). The result does not depend on them.
    progress : callable, optional
        Called with the number of draws finished (every area), after each range of
        draws.

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
        migration_timing=migration_timing,
        keep_ages=keep_ages,
        age_bands=age_bands,
        accounting=accounting,
        births=births,
        block_draws=block_draws,
        block_areas=block_areas,
        progress=progress,
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
    net_migration: ArrayLike | Product | None,
    width: int,
    migration_timing: MigrationTiming,
    keep_ages: slice | ArrayLike | None,
    age_bands: Sequence[tuple[int, int]] | None,
    accounting: bool,
    births: bool,
    block_draws: int | None,
    block_areas: int | None,
    progress: Progress | None,
) -> Projection:
    """Validate the inputs and run the blocks (see :func:`project_cohort_survival`)."""
    inputs = _EngineInputs.check(
        base,
        steps=steps,
        survival=survival,
        survival_name=survival_name,
        fertility=fertility,
        fertility_first_age=fertility_first_age,
        sex_ratio_at_birth=sex_ratio_at_birth,
        net_migration=net_migration,
        width=width,
        migration_timing=migration_timing,
    )
    outputs = _run(
        inputs.base,
        inputs.steps,
        inputs.draws,
        lambda outputs: _CohortKernel(inputs, outputs if accounting or births else None),
        keep_ages=keep_ages,
        age_bands=age_bands,
        block_draws=block_draws,
        block_areas=block_areas,
        accounting=accounting,
        births=births,
        progress=progress,
    )
    return _projection(outputs, inputs.width)
