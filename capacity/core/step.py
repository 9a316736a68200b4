"""One step of the cohort-component projection, written as the textbook equations.

:func:`step` is the model: Preston, Heuveline & Guillot, *Demography: Measuring and
Modeling Population Processes* (2001), chapter 6, with net migration counted half at the
start and half at the end of the step, in one of two conventions (``migration_timing``):

* ``"end"`` (default, the engine's own): ``M_x`` are the migrants whose age group at the
  *end* of the step is ``x``; half join cohort ``x - 1`` at the start and are survived
  with it into group ``x``, half are added to group ``x`` at the end;
* ``"phg"`` (Preston, Heuveline & Guillot's worked form and the UN's World Population
  Prospects step, ``mig_assumption = "even"`` of the UN Population Division's
  ``ccmppWPP``): ``M_x`` are the migrants of age group ``x`` during the step; half are
  added to group ``x`` at the start and survived with it into group ``x + 1``, half are
  added to group ``x`` at the end, and both halves count in the women exposed to births.

It is written for reading next to
``docs/model.md`` (same notation) and is the reference the fast block kernel of the
engine (:mod:`capacity.core._kernel`) is tested against
(``tests/test_cohort.py::test_kernel_agrees_with_step``).

Notation (per area and draw; ``s`` sex, ``x`` age group, ``n`` years per group and step):

=====================  ===============================================================
``P_{s,x}(t)``         persons of sex ``s`` in age group ``x`` at time ``t``
``S_{s,x}``            survival ratio *into* group ``x`` over the step
                       (:func:`~capacity.core.survival.survival_ratios`), 1
``F_x``                annual fertility rate of women of group ``x``, births per
                       woman per year
``srb``                sex ratio at birth, male births per female birth
``pi_s``               share of sex ``s`` among births: ``1 / (1 + srb)`` girls,
                       ``srb / (1 + srb)`` boys
``M_{s,x}``            net migrants of the step (in minus out, persons) of age group
                       ``x``: at the *end* of the step (``"end"``) or during it
                       (``"phg"``)
``W_x = P_{f,x}``      women of group ``x``
=====================  ===============================================================
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from capacity.core._checks import FEMALE, Array

__all__ = ["MIGRATION_TIMINGS", "MigrationTiming", "StepResult", "step"]

MigrationTiming = Literal["end", "phg"]
"""How net migration enters a step: ``"end"`` (by age group at the end of the step, the
default) or ``"phg"`` (by age group during the step; Preston, Heuveline & Guillot and
the UN's World Population Prospects)."""

#: The values of :data:`MigrationTiming`.
MIGRATION_TIMINGS: tuple[MigrationTiming, ...] = ("end", "phg")


@dataclass(frozen=True)
class StepResult:
    """The population at the end of a step and the components of change.

    Attributes
    ----------
    population : ndarray, shape (area, sex, G, draw)
        ``P(t + n)``, persons.
    births : ndarray, shape (area, sex, draw)
        ``B_s = pi_s B``, live births of the step by sex of the child, persons.
    deaths : ndarray, shape (area, sex, draw)
        ``sum_x D_{s,x}``, deaths during the step, persons.
    net_migration : ndarray, shape (area, sex, draw)
        ``sum_x M'_{s,x}``, realised net migration (after clipping), persons.
    migration_adjustment : ndarray, shape (area, sex, draw)
        ``sum_x (M'_{s,x} - M_{s,x}) >= 0``: out-migrants that could not leave, persons.
    """

    population: Array
    births: Array
    deaths: Array
    net_migration: Array
    migration_adjustment: Array


def step(
    population: ArrayLike,
    survival: ArrayLike,
    fertility: ArrayLike,
    sex_ratio_at_birth: float | ArrayLike,
    net_migration: ArrayLike | None = None,
    *,
    fertility_first_age: int,
    width: int = 1,
    migration_timing: MigrationTiming = "end",
) -> StepResult:
    """Project a population by sex and age one step of ``n = width`` years.

    Parameters
    ----------
    population : array_like, shape (area, sex, G, draw)
        ``P(t)``, persons at the start of the step; sex 0 female, 1 male; group ``G - 1``
        is open (``(G - 1) n`` years and over).
    survival : array_like, shape (area|1, sex|1, G, draw|1)
        ``S_x``, survival ratios into each group, dimensionless in [0, 1]
        (:func:`~capacity.core.survival.survival_ratios`).
    fertility : array_like, shape (area|1, 1, K, draw|1)
        ``F_x``, annual fertility rates (births per woman per year) of the ``K`` groups
        starting at ``fertility_first_age``.
    sex_ratio_at_birth : float or array_like, shape (area|1, 1, 1, draw|1)
        ``srb``, male births per female birth.
    net_migration : array_like, shape (area|1, sex|1, G, draw|1), optional
        ``M_x``, net migrants of the step by age group (at the end of the step for
        ``"end"``, during the step for ``"phg"``), persons.
    fertility_first_age : int
        Age in years at which group ``fertility_first_age / n`` (the first fertile group)
        starts; at least ``n``.
    width : int
        ``n``, width of the age groups and length of the step, years.
    migration_timing : {"end", "phg"}
        The migration convention (module docstring; equations below). Default
        ``"end"``.

    Returns
    -------
    StepResult
        ``P(t + n)`` and the births, deaths and realised migration of the step.

    Notes
    -----
    The rates are those of one step: ``rate[t]`` of the engine's 5-d arrays. Inputs are
    not validated here (see :func:`~capacity.core.cohort.project_cohort`).

    The numbered parts are those of ``docs/model.md`` and of the comments below.

    1. **Cohorts exposed to mortality**: half of the step's migrants join their cohort
       at the start and are survived with it,

       .. math::

           E_x &= P_{x-1}(t) + M_x / 2, \\qquad 1 \\le x \\le G - 2,\\\\
           E_{G-1} &= P_{G-2}(t) + P_{G-1}(t) + M_{G-1} / 2 \\quad \\text{(open group)}.

    2. **Survival**, and the other half of the migrants at the end:
       :math:`U_x = S_x E_x + M_x / 2`.

    3. **Births** (persons, both sexes) from the women's exposure: the average of the
       women at the start and at the end of the step, times ``n`` years, times the
       annual rates,

       .. math::

           B = \\sum_x F_x \\, n \\, \\frac{W_x(t) + W_x(t+n)}{2}, \\qquad B_s = \\pi_s B,

       with :math:`W_x(t+n) = P_{f,x}(t+n)` from part 5 (the fertile groups start at
       ``x >= 1``, so they are known before group 0).

    4. **Group 0**: the births survived to the end of the step,
       :math:`E_{s,0} = B_s + M_{s,0} / 2`, :math:`U_{s,0} = S_{s,0} E_{s,0} + M_{s,0} / 2`.

    5. **Clipping of out-migration**: if :math:`U_x < 0` (more out-migrants than the
       cohort holds), the out-migration is cut so that the cell ends at exactly zero.
       With :math:`A_x = \\min(U_x, 0) / (1 + S_x) \\le 0` removed from both halves of
       the migrants,

       .. math::

           P_x(t+n) &= S_x (E_x - A_x) + M_x / 2 - A_x = \\max(U_x, 0),\\\\
           M'_x &= M_x - 2 A_x \\quad \\text{(realised net migration)},\\\\
           D_x &= (1 - S_x)(E_x - A_x) \\quad \\text{(deaths)}.

    6. **Balancing equation** (exact up to rounding), per area, sex and draw:
       :math:`\\sum_x P_x(t+n) = \\sum_x P_x(t) + B_s - \\sum_x D_x + \\sum_x M'_x`.

    With ``migration_timing="phg"`` the migrants of group ``x`` are counted half at the
    start in group ``x`` (then survived into ``x + 1``) and half at the end in group
    ``x``; with :math:`P^*_x = P_x(t) + M_x / 2`, parts 1-4 become

    .. math::

        E_x &= P^*_{x-1}, \\qquad 1 \\le x \\le G - 2, \\qquad
        E_{G-1} = P^*_{G-2} + P^*_{G-1}, \\qquad E_{s,0} = B_s,\\\\
        U_x &= S_x E_x + M_x / 2 \\quad (\\text{all } x),\\\\
        B &= \\sum_x F_x \\, n \\, \\frac{W^*_x + W_x(t+n)}{2}, \\qquad
        W^*_x = P^*_{f,x} = W_x(t) + M_{f,x} / 2,

    so both halves of the women's migration count in the exposure to births. Part 5
    (clipping) is unchanged in form: where :math:`U_x < 0`,
    :math:`A_x = \\min(U_x, 0) / (1 + S_x)` is removed from the start-of-step migrants
    surviving into cell ``x`` (those of group ``x - 1``; of groups ``G - 2`` and
    ``G - 1`` for the open group; for group 0, which has no start-of-step migrants, from
    the births' exposure, as if the newborn cohort had lost them) and from the
    end-of-step half :math:`M_x / 2`, so that the cell
    ends at exactly zero, deaths are :math:`D_x = (1 - S_x)(E_x - A_x)` and the
    realised migration summed over age is :math:`\\sum_x M_x - 2 \\sum_x A_x`; the
    balancing equation 6 holds exactly as above. Unlike ``"end"``, the cohort exposed
    to mortality :math:`E_x` can be negative when the start half of a group's
    out-migration exceeds the group (as in ``ccmppWPP``): deaths of that cohort are
    then negative, and the balance still holds.
    """
    P = np.asarray(population, dtype=np.float64)
    S = np.asarray(survival, dtype=np.float64)
    F = np.asarray(fertility, dtype=np.float64)
    srb = np.asarray(sex_ratio_at_birth, dtype=np.float64)
    areas, sexes, groups, draws = P.shape
    full = (areas, sexes, groups, draws)
    M = np.zeros(full) if net_migration is None else np.asarray(net_migration, dtype=np.float64)
    M = np.broadcast_to(M, full)
    S = np.broadcast_to(S, full)
    n = width
    if migration_timing not in MIGRATION_TIMINGS:
        raise ValueError(f"migration_timing = {migration_timing!r}: expected one of {MIGRATION_TIMINGS}")
    phg = migration_timing == "phg"
    # "phg": P*_x = P_x(t) + M_x/2, the start-of-step half of group x's migrants
    start = P + M / 2 if phg else P

    # 1. cohorts exposed to mortality during the step (group 0: the births, part 4)
    E = np.zeros(full)
    if phg:
        E[:, :, 1:] = start[:, :, :-1]  # P*_{x-1}
    else:
        E[:, :, 1:] = P[:, :, :-1] + M[:, :, 1:] / 2
    E[:, :, -1] += start[:, :, -1]  # open group: also P_{G-1} ("phg": P*_{G-1})

    # 2. survivors of groups 1 .. G-1 plus the migrants counted at the end
    U = np.zeros(full)
    U[:, :, 1:] = S[:, :, 1:] * E[:, :, 1:] + M[:, :, 1:] / 2
    end = np.maximum(U, 0.0)

    # 3. births from the women at the start and at the end of the step
    first = fertility_first_age // n
    fertile = slice(first, first + F.shape[2])
    W_start = start[:, FEMALE, fertile]  # "phg": W*_x, with the start half of M_f,x
    W_end = end[:, FEMALE, fertile]
    B = np.sum(F[:, 0] * n * (W_start + W_end) / 2, axis=1)  # (area, draw)
    srb = srb.reshape(1, 1, 1, 1) if srb.ndim == 0 else srb
    pi = np.concatenate([1 / (1 + srb), srb / (1 + srb)], axis=1)  # girls, boys
    B_s = B[:, np.newaxis, :] * pi[:, :, 0]  # (area, sex, draw)

    # 4. group 0: the births of the step survived to its end
    E[:, :, 0] = B_s if phg else B_s + M[:, :, 0] / 2
    U[:, :, 0] = S[:, :, 0] * E[:, :, 0] + M[:, :, 0] / 2

    # 5. clipping of out-migration, and the components of change (6. balance exactly)
    A = np.minimum(U, 0.0) / (1 + S)
    next_population = np.maximum(U, 0.0)
    realised = M - 2 * A
    deaths = (1 - S) * (E - A)
    return StepResult(
        population=next_population,
        births=B_s,
        deaths=deaths.sum(axis=2),
        net_migration=realised.sum(axis=2),
        migration_adjustment=(-2 * A).sum(axis=2) + 0.0,
    )
