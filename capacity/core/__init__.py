"""Numpy core of the simulator: population projection engines (no I/O).

Axis order of every array: ``(year, area, sex, age, draw)``; rates
``(step, area, sex, age, draw)`` with length-1 axes broadcasting; sex 0 = female,
1 = male. See :mod:`capacity.core.cohort` (the projection and its inputs) and
:func:`capacity.core.step.step` (the equations of one step).
"""

from capacity.core.cohort import (
    AXES,
    DEFAULT_RADIX,
    FEMALE,
    MALE,
    CohortInputs,
    Product,
    Projection,
    project_cohort,
    project_cohort_survival,
    survival_ratios,
)
from capacity.core.hamilton_perry import (
    HamiltonPerryRatios,
    cohort_change_ratios,
    project_hamilton_perry,
)
from capacity.core.step import StepResult, step

__all__ = [
    "AXES",
    "DEFAULT_RADIX",
    "FEMALE",
    "CohortInputs",
    "HamiltonPerryRatios",
    "MALE",
    "Product",
    "Projection",
    "StepResult",
    "cohort_change_ratios",
    "project_cohort",
    "project_cohort_survival",
    "project_hamilton_perry",
    "step",
    "survival_ratios",
]
