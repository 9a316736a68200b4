"""The levels above the areas: districts of a region and the folder's own total.

A district folder's areas may belong to several districts (a region): an area's district
is the first six digits of its code, as in Chinese administrative codes (``440105 016``
is a street of Haizhu, ``440105``). The outputs then carry, besides a row per area:

* one row per district (``level = district``) whose code differs from the folder's
  own code, when the folder holds more than one district or a district other than itself;
* one row for the whole folder (its ``code`` in ``district.toml``): ``level = district``
  for a folder that is one district (Haizhu), ``level = region`` for a region.

Every aggregate is a **no-offset** sum over its areas, draw by draw: a surplus in one
street never fills a shortfall in another. Shortfall and surplus add up; the gap is the
net sum; ``p_shortfall`` of an aggregate is the share of draws whose summed shortfall
exceeds :data:`capacity.stats.THRESHOLD` (a street short somewhere in it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Digits of an area code that name its district.
DISTRICT_DIGITS = 6


@dataclass(frozen=True)
class Aggregate:
    """One row above the areas: its ``code``, ``level`` and the areas it sums (``index``
    into the area axis; ``slice(None)`` for the whole folder)."""

    code: str
    level: str
    index: slice | NDArray[np.intp]


def aggregates(area_codes: Sequence[str], folder_code: str) -> list[Aggregate]:
    """The rows above the areas, in output order: districts (sorted by code), then the folder.

    Parameters
    ----------
    area_codes : sequence of str
        The folder's area codes, in area order.
    folder_code : str
        The folder's own code (``district.toml``).

    Examples
    --------
    >>> [(a.code, a.level) for a in aggregates(["440105001", "440105002"], "440105")]
    [('440105', 'district')]
    >>> [(a.code, a.level) for a in aggregates(["990001001", "990002001"], "990000")]
    [('990001', 'district'), ('990002', 'district'), ('990000', 'region')]
    """
    prefixes = np.array([code[:DISTRICT_DIGITS] for code in area_codes])
    districts = sorted(set(prefixes.tolist()) - {folder_code})
    rows = [Aggregate(code, "district", np.flatnonzero(prefixes == code)) for code in districts]
    rows.append(Aggregate(folder_code, "region" if rows else "district", slice(None)))
    return rows


def area_level(area_codes: Sequence[str], folder_code: str) -> dict[str, str]:
    """Level of every code of the outputs: ``area``, ``district`` or ``region``."""
    levels = {str(code): "area" for code in area_codes}
    levels.update({a.code: a.level for a in aggregates(area_codes, folder_code)})
    return levels


def sum_over(per_area: NDArray[np.float64], index: slice | NDArray[np.intp]) -> NDArray[np.float64]:
    """Sum of ``per_area`` (axis 1 = area) over the areas of ``index``: ``(year, stage, ...)``."""
    if isinstance(index, slice) and index == slice(None):
        total: NDArray[np.float64] = per_area.sum(axis=1)  # the folder: the very same sum as before levels existed
    else:
        total = per_area[:, index].sum(axis=1)
    return total


__all__ = ["DISTRICT_DIGITS", "Aggregate", "aggregates", "area_level", "sum_over"]
