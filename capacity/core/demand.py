"""Stage demand: from children by single year of age to places wanted per stage and sector.

Axis order
----------
Input population: ``(year, area, sex, age, draw)`` (the projection's order, draws last).
Output demand: ``(year, area, stage, sector, draw)`` with sector 0 = public, 1 = private.

Model
-----
For a stage ``s`` with age band ``[a0_s, a1_s]`` (completed years at the school-year
cut-off, 31 August) the resident children of the stage are

.. math::  C_s = \\sum_{sex} \\sum_{a=a0_s}^{a1_s} P_{sex,a}

and the enrolled children (persons) are :math:`E_s = e_s C_s`, with ``e_s`` the gross
enrolment rate (enrolled per resident child; may exceed 1 where a district draws children
from outside). Of the enrolled, a share :math:`m_s` are children of migrants (随迁子女).
Local children take public places with probability :math:`L_s`, migrants' children with
:math:`M_s` (the share admitted to public or government-funded places), so

.. math::

    D^{pub}_s = E_s \\,[(1 - m_s) L_s + m_s M_s], \\qquad D^{priv}_s = E_s - D^{pub}_s .

All parameters may vary by year, area and draw (broadcast over the leading axes).

Calendar year and school year
-----------------------------
Population ``t`` is taken to stand at the start of school year ``t``/``t+1`` (September
of year ``t``): the base population of a census taken on 1 November is within two months
of the cut-off, and the age at the census is used as the age at the cut-off. A projection
step of one year moves to the next school year. Demand for year ``t`` is therefore the
demand of the school year that starts in September of ``t``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from capacity.errors import SpecificationError

SECTORS: tuple[str, str] = ("public", "private")


@dataclass(frozen=True)
class StageBands:
    """Age bands and enrolment parameters of the stages, in stage order.

    Parameters
    ----------
    names : tuple of str
        Stage names, e.g. ``("kindergarten", "primary", "junior", "senior")``.
    first_age, last_age : ndarray of int, shape (stage,)
        Inclusive age band of each stage, completed years at the cut-off.
    enrolment_rate : ndarray, broadcastable to (year, area, stage, draw)
        Gross enrolment rate :math:`e_s` (enrolled per resident child).
    migrant_share : ndarray, broadcastable to (year, area, stage, draw)
        :math:`m_s`, share of enrolled children who are children of migrants.
    local_public_share, migrant_public_share : ndarray, broadcastable likewise
        :math:`L_s` and :math:`M_s`, shares in public places.
    """

    names: tuple[str, ...]
    first_age: NDArray[np.int64]
    last_age: NDArray[np.int64]
    enrolment_rate: NDArray[np.float64]
    migrant_share: NDArray[np.float64]
    local_public_share: NDArray[np.float64]
    migrant_public_share: NDArray[np.float64]

    def __post_init__(self) -> None:
        n = len(self.names)
        first = np.asarray(self.first_age)
        last = np.asarray(self.last_age)
        if first.shape != (n,) or last.shape != (n,):
            raise SpecificationError(
                f"first_age and last_age must have shape ({n},), got {first.shape} and {last.shape}"
            )
        for i in range(n):
            if last[i] < first[i] or first[i] < 0:
                raise SpecificationError(
                    f"stage '{self.names[i]}': age band {first[i]}..{last[i]} is empty or negative"
                )
        order = np.argsort(first)
        for i, j in zip(order[:-1], order[1:]):
            if first[j] <= last[i]:
                raise SpecificationError(
                    f"stages '{self.names[i]}' ({first[i]}..{last[i]}) and '{self.names[j]}' "
                    f"({first[j]}..{last[j]}) overlap"
                )
        _check_range("enrolment_rate", self.enrolment_rate, 0.0, 2.0)
        for name in ("migrant_share", "local_public_share", "migrant_public_share"):
            _check_range(name, getattr(self, name), 0.0, 1.0)

    @property
    def public_share(self) -> NDArray[np.float64]:
        """Share of enrolled children in public places, :math:`(1-m)L + mM`."""
        m = np.asarray(self.migrant_share, dtype=float)
        share: NDArray[np.float64] = (1.0 - m) * np.asarray(
            self.local_public_share, dtype=float
        ) + m * np.asarray(self.migrant_public_share, dtype=float)
        return share


def _check_range(name: str, value: ArrayLike, low: float, high: float) -> None:
    arr = np.asarray(value, dtype=float)
    bad = ~np.isfinite(arr) | (arr < low) | (arr > high)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise SpecificationError(
            f"{name}{list(index)} = {float(arr[index])!r}: expected a value in [{low:g}, {high:g}]"
        )


def _as_stage_param(value: ArrayLike) -> NDArray[np.float64]:
    """A per-stage parameter as an array broadcastable to (year, area, stage, draw).

    A 1-d array of one value per stage is placed on the stage axis; arrays with 4 axes
    are taken as they are.
    """
    arr = np.asarray(value, dtype=float)
    if arr.ndim <= 1:
        return arr.reshape(1, 1, -1, 1)
    if arr.ndim != 4:
        raise SpecificationError(
            f"stage parameter must have 1 axis (stage) or 4 (year, area, stage, draw), got shape {arr.shape}"
        )
    return arr


def stage_children(
    population: NDArray[np.float64], first_age: ArrayLike, last_age: ArrayLike, age0: int = 0
) -> NDArray[np.float64]:
    """Resident children of each stage's ages, summed over sex.

    Parameters
    ----------
    population : ndarray, shape (year, area, sex, age, draw)
        Persons by single year of age; ``age`` index ``k`` means age ``age0 + k``.
    first_age, last_age : array of int, shape (stage,)
        Inclusive age bands.
    age0 : int
        Age of the first age index (non-zero when the projection kept only some ages).

    Returns
    -------
    ndarray, shape (year, area, stage, draw)
        :math:`C_s`, persons.
    """
    if population.ndim != 5:
        raise SpecificationError(
            f"population must have 5 axes (year, area, sex, age, draw), got shape {population.shape}"
        )
    first = np.asarray(first_age, dtype=int) - age0
    last = np.asarray(last_age, dtype=int) - age0
    n_age = population.shape[3]
    if (first < 0).any() or (last >= n_age).any():
        raise SpecificationError(
            f"stage ages {np.asarray(first_age).tolist()}..{np.asarray(last_age).tolist()} are "
            f"outside the population's ages {age0}..{age0 + n_age - 1}"
        )
    by_age = population.sum(axis=2)  # (year, area, age, draw)
    cum = np.concatenate([np.zeros_like(by_age[:, :, :1]), np.cumsum(by_age, axis=2)], axis=2)
    out: NDArray[np.float64] = cum[:, :, last + 1, :] - cum[:, :, first, :]
    return out


def stage_demand(
    population: NDArray[np.float64], stages: StageBands, age0: int = 0
) -> NDArray[np.float64]:
    """Demand for places per stage and sector.

    Parameters
    ----------
    population : ndarray, shape (year, area, sex, age, draw)
        Persons by single year of age at the school-year cut-off.
    stages : StageBands
        Age bands and enrolment parameters; each parameter broadcastable to
        ``(year, area, stage, draw)``.
    age0 : int
        Age of the first age index of ``population``.

    Returns
    -------
    ndarray, shape (year, area, stage, sector, draw)
        :math:`D^{pub}_s` and :math:`D^{priv}_s`, places (persons enrolled).
    """
    children = stage_children(population, stages.first_age, stages.last_age, age0)
    return demand_from_children(children, stages)


def demand_from_children(children: NDArray[np.float64], stages: StageBands,
                         out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
    """Demand per stage and sector from the resident children of each stage.

    :math:`E = C\\,e_s`, :math:`D_{\\mathrm{public}} = E\\,p_s`, :math:`D_{\\mathrm{private}} = E - D_{\\mathrm{public}}`
    (persons; :math:`e_s` the enrolment rate, :math:`p_s` the public share).

    Parameters
    ----------
    children : ndarray, shape (year, area, stage, draw)
        :math:`C_s`, persons of the stage's ages.
    stages : StageBands
    out : ndarray, shape (year, area, stage, sector, draw), optional
        Written in place and returned (the same numbers as a new array).

    Returns
    -------
    ndarray, shape (year, area, stage, sector, draw)
    """
    if children.ndim != 4 or children.shape[2] != len(stages.names):
        raise SpecificationError(
            f"children must have shape (year, area, {len(stages.names)} stages, draw), got {children.shape}"
        )
    shape = (*children.shape[:3], 2, children.shape[3])
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape:
        raise SpecificationError(f"out must have shape {shape}, got {out.shape}")
    enrolled = children * _as_stage_param(stages.enrolment_rate)
    public = np.multiply(enrolled, _as_stage_param(stages.public_share), out=out[:, :, :, 0])
    np.subtract(enrolled, public, out=out[:, :, :, 1])
    return out
