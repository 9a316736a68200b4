"""Numpy core of the simulator: population projection engines (no I/O).

Axis order of every array: ``(year, area, sex, age, draw)``; rates
``(step, area, sex, age, draw)`` with length-1 axes broadcasting; sex 0 = female,
1 = male. See :mod:`capacity.core.cohort`.
"""

from capacity.core.cohort import (
    AXES,
    DEFAULT_RADIX,
    FEMALE,
    MALE,
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

__all__ = [
    "AXES",
    "DEFAULT_RADIX",
    "FEMALE",
    "HamiltonPerryRatios",
    "MALE",
    "Projection",
    "cohort_change_ratios",
    "project_cohort",
    "project_cohort_survival",
    "project_hamilton_perry",
    "survival_ratios",
]
