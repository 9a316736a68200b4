"""The result of a projection (:class:`Projection`), shared by both engines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capacity.core._blocks import _Outputs
from capacity.core._checks import Array

__all__ = ["Projection"]


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
