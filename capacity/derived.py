"""Per-draw variables of a run computed when read, from the ones a run keeps.

A run with many draws keeps, per draw, only what cannot be recomputed cheaply: the children
of each stage (the projection) and the demand summed over sectors (which the schedule and
the gap use). Demand by sector and the gap with its shortfall and surplus are elementwise
functions of those, so they are computed when a selection of them is read, with the same
operations in the same order as when they were stored, and give the same numbers to the
last bit:

.. math::

    E = C\\,e_s, \\qquad D_{\\mathrm{public}} = E\\,p_s, \\qquad D_{\\mathrm{private}} = E - D_{\\mathrm{public}},

(:func:`capacity.core.demand.demand_from_children`; :math:`C` children of the stage,
persons; :math:`e_s` enrolment rate, :math:`p_s` public share) and
:math:`G = S - D`, shortfall :math:`\\max(D - S, 0)`, surplus :math:`\\max(S - D, 0)`
(:class:`capacity.core.gap.Gap`; places and persons, sectors summed).

A selection is a *basic key*: one integer or slice per axis (missing trailing axes take
everything), as numpy's basic indexing; an integer drops its axis. Only the selected cells
are computed, so reading one year of demand costs one year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capacity.core.demand import StageBands, demand_from_children
from capacity.core.gap import Gap

Key = tuple[int | slice, ...]
"""A basic key: one integer or slice per axis."""

__all__ = ["READ_CELLS", "SLAB_CELLS", "GapPart", "Key", "SectorDemand", "as_slices", "by_slabs", "key_shape", "year_slabs"]


def as_slices(key: Key, shape: Sequence[int]) -> tuple[tuple[slice, ...], tuple[int, ...]]:
    """A basic key as one slice per axis, and the axes its integers drop.

    Parameters
    ----------
    key : tuple of int or slice
        At most ``len(shape)`` entries; missing trailing axes take everything.
    shape : sequence of int

    Returns
    -------
    slices : tuple of slice
        ``len(shape)`` slices selecting the same cells (an integer ``i`` as ``i:i+1``).
    dropped : tuple of int
        The axes that had an integer (to be squeezed from the result).
    """
    if len(key) > len(shape):
        raise IndexError(f"expected at most {len(shape)} indices, found {len(key)}")
    slices: list[slice] = []
    dropped: list[int] = []
    for axis, n in enumerate(shape):
        k = key[axis] if axis < len(key) else slice(None)
        if isinstance(k, slice):
            slices.append(k)
            continue
        i = int(k)
        if not -n <= i < n:
            raise IndexError(f"index {i} is out of bounds for axis {axis} with size {n}")
        i %= n
        slices.append(slice(i, i + 1))
        dropped.append(axis)
    return tuple(slices), tuple(dropped)


def key_shape(key: Key, shape: Sequence[int]) -> tuple[int, ...]:
    """The shape of ``array[key]`` for an array of ``shape`` (without making it)."""
    slices, dropped = as_slices(key, shape)
    return tuple(len(range(n)[s]) for axis, (n, s) in enumerate(zip(shape, slices)) if axis not in dropped)


def _as_slice(r: range) -> slice:
    """A range of indices as the slice that selects it."""
    return slice(r.start, r.stop if r.stop >= 0 else None, r.step)


#: Cells computed at once when a selection is computed piece by piece (whole years, or one
#: year and as many areas as fit): temporaries stay a few MiB whatever the selection.
SLAB_CELLS = 1 << 20

#: Cells of one piece when a large per-draw variable is read or reduced piece by piece
#: (:func:`year_slabs`): 32 MiB of float64, few enough pieces that their overhead is small.
READ_CELLS = 1 << 22


def year_slabs(n_year: int, per_year: int, limit: int | None = None) -> list[slice]:
    """Consecutive pieces of ``range(n_year)``, each of at most ``limit`` cells (at least one year).

    Parameters
    ----------
    n_year : int
    per_year : int
        Cells of one year.
    limit : int, optional
        Default :data:`READ_CELLS`.

    Returns
    -------
    list of slice
        In order; one slice of every year when they all fit.
    """
    step = max(1, (READ_CELLS if limit is None else limit) // max(per_year, 1))
    return [slice(t, min(t + step, n_year)) for t in range(0, n_year, step)]


def by_slabs(slices: tuple[slice, ...], dropped: tuple[int, ...], shape: Sequence[int],
             compute: Callable[[tuple[slice, ...], NDArray[np.float64]], None]) -> NDArray[np.float64]:
    """The cells selected by ``slices`` (axes ``year, area, ...``), computed one slab at a time.

    ``compute(slab, out)`` writes into ``out`` the cells of a selection of some years and
    areas (every other axis as in ``slices``): whole years while they fit in
    :data:`SLAB_CELLS` cells, else one year and a block of areas. ``out`` is that slab's
    part of one new C-ordered array, from which the ``dropped`` axes are then squeezed. The
    function must be elementwise over the year and area axes, so that the cells do not
    depend on the slabs.
    """
    out = np.empty(tuple(len(range(n)[s]) for n, s in zip(shape, slices)))
    years, areas = range(shape[0])[slices[0]], range(shape[1])[slices[1]]
    per_area = max(1, int(np.prod(out.shape[2:])))
    block = max(1, len(areas)) if per_area * len(areas) <= SLAB_CELLS else max(1, SLAB_CELLS // per_area)
    for piece in year_slabs(len(years), per_area * len(areas), SLAB_CELLS):
        cut = years[piece]
        for j in range(0, len(areas), block):
            part = areas[j:j + block]
            compute((_as_slice(cut), _as_slice(part), *slices[2:]), out[piece, j:j + len(part)])
    return out.squeeze(axis=dropped) if dropped else out


def _param(value: NDArray[np.float64], year: slice, stage: slice) -> NDArray[np.float64]:
    """A stage parameter broadcastable to (year, area, stage, draw), cut to the selected years and stages."""
    arr = np.asarray(value, dtype=float)
    arr = arr.reshape(1, 1, -1, 1) if arr.ndim <= 1 else arr
    return arr[year if arr.shape[0] > 1 else slice(None), :, stage if arr.shape[2] > 1 else slice(None)]


@dataclass(frozen=True)
class SectorDemand:
    """Demand ``(year, area, stage, sector, draw)`` of a run, computed for the cells read.

    Either from the children (``children`` and ``stages``), as
    :func:`capacity.core.demand.demand_from_children` computes it, or from a fixed demand
    (``fixed``, e.g. the plan's, the same in every draw) broadcast over the draws.

    Parameters
    ----------
    children : ndarray (year, area, stage, draw) or None
        Children of each stage's ages, persons.
    stages : StageBands or None
        The stages' enrolment rates and public shares, broadcastable to (year, area, stage, draw).
    fixed : ndarray (year, area, stage, sector, 1) or None
        Demand without children, persons.
    draws : int
        Length of the draw axis.
    """

    children: NDArray[np.float64] | None
    stages: StageBands | None
    fixed: NDArray[np.float64] | None
    draws: int

    @property
    def shape(self) -> tuple[int, int, int, int, int]:
        if self.children is not None:
            n_year, n_area, n_stage, _ = self.children.shape
        else:
            assert self.fixed is not None
            n_year, n_area, n_stage = self.fixed.shape[:3]
        return n_year, n_area, n_stage, 2, self.draws

    def __getitem__(self, key: Key) -> NDArray[np.float64]:
        """The selected cells as a new C-ordered array (see the module docstring)."""
        slices, dropped = as_slices(key if isinstance(key, tuple) else (key,), self.shape)
        if self.children is None:
            assert self.fixed is not None
            out = np.ascontiguousarray(np.broadcast_to(self.fixed, self.shape)[slices])
            return out.squeeze(axis=dropped) if dropped else out
        return by_slabs(slices, dropped, self.shape, self._slab)

    def _slab(self, cut: tuple[slice, ...], out: NDArray[np.float64]) -> None:
        """:func:`capacity.core.demand.demand_from_children` of the selected children, with the stage bands cut alike."""
        assert self.children is not None and self.stages is not None
        year, area, stage, sector, draw = cut
        s = self.stages
        bands = StageBands(names=tuple(np.asarray(s.names)[stage]), first_age=s.first_age[stage], last_age=s.last_age[stage],
                           enrolment_rate=_param(s.enrolment_rate, year, stage),
                           migrant_share=_param(s.migrant_share, year, stage),
                           local_public_share=_param(s.local_public_share, year, stage),
                           migrant_public_share=_param(s.migrant_public_share, year, stage))
        children = self.children[year, area, stage, draw]
        if range(2)[sector] == range(2):  # both sectors
            demand_from_children(children, bands, out=out)
        else:
            out[...] = demand_from_children(children, bands)[:, :, :, sector]


@dataclass(frozen=True)
class GapPart:
    """One of ``gap``, ``shortfall``, ``surplus`` (:class:`capacity.core.gap.Gap`) of a run, computed for the cells read.

    Parameters
    ----------
    gap : Gap
        Demand and places per area, sectors summed ``(year, area, stage, draw)``.
    name : {"gap", "shortfall", "surplus"}
    """

    gap: Gap
    name: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.gap.demand.shape)

    def __getitem__(self, key: Key) -> NDArray[np.float64]:
        """The selected cells as a new C-ordered array, computed a slab at a time."""
        slices, dropped = as_slices(key if isinstance(key, tuple) else (key,), self.shape)
        return by_slabs(slices, dropped, self.shape, self._slab)

    def _slab(self, cut: tuple[slice, ...], out: NDArray[np.float64]) -> None:
        out[...] = getattr(Gap(self.gap.demand[cut], self.gap.places[cut]), self.name)
