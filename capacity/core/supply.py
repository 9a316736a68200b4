"""Supply: existing places plus construction projects, per year, area, stage, sector and draw.

Axis order
----------
Places: ``(year, area, stage, sector, draw)``, sector 0 = public, 1 = private.

Model
-----
A project row ``p`` adds :math:`c_p` places (negative for places closed or converted away)
to one area, stage and sector. It opens in phases: a share :math:`\\phi_{p,k}` of its places
opens ``k`` years after its opening year :math:`o_p` (:math:`\\sum_k \\phi_{p,k} = 1`). The
opening year may differ by draw (delays); a cancelled project (per draw) adds nothing.
Places in school year ``t`` are

.. math::

    S_{a,s,c}(t) = S^0_{a,s,c} + \\sum_{p \\in (a,s,c)} c_p \\,(1 - x_p)
                   \\sum_k \\phi_{p,k} \\,[o_p + k \\le t]

with :math:`S^0` the base-year places and :math:`x_p \\in \\{0, 1\\}` the cancellation.
A conversion (a kindergarten turned into primary classes, say) is two rows of one project:
``-c`` in the old stage and ``+c`` in the new, with the same opening year. Places are
never negative: a closure larger than the places there raises
:class:`~capacity.errors.SpecificationError` in the base year, and is clipped at zero
(with the clipped amount reported by :func:`places_by_year`) in later years.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from capacity.errors import SpecificationError


@dataclass(frozen=True)
class ProjectArrays:
    """Construction projects as arrays, one entry per project row (project x stage).

    Parameters
    ----------
    area, stage, sector : ndarray of int, shape (project,)
        Indices into the district's areas, stages and sectors (0 public, 1 private).
    places : ndarray of float, shape (project,)
        Places added (negative: closed or converted away).
    opening_year : ndarray of int, shape (project, draw) or (project,)
        First school year with pupils (September of that year), after any delay.
    phases : ndarray of float, shape (project, phase)
        Share of the places opening ``k`` years after ``opening_year``; rows sum to 1.
    cancelled : ndarray of bool, shape (project, draw) or (project,)
        Project dropped in this draw.
    """

    area: NDArray[np.int64]
    stage: NDArray[np.int64]
    sector: NDArray[np.int64]
    places: NDArray[np.float64]
    opening_year: NDArray[np.int64]
    phases: NDArray[np.float64] = field(default_factory=lambda: np.ones((0, 1)))
    cancelled: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.places)
        for name in ("area", "stage", "sector"):
            if np.asarray(getattr(self, name)).shape != (n,):
                raise SpecificationError(f"projects.{name} must have shape ({n},)")
        if np.asarray(self.opening_year).shape[:1] != (n,):
            raise SpecificationError(f"projects.opening_year must have {n} rows")
        phases = np.asarray(self.phases, dtype=float)
        if phases.shape[0] == 0 and n:
            object.__setattr__(self, "phases", np.ones((n, 1)))
            phases = self.phases
        if phases.ndim != 2 or phases.shape[0] != n:
            raise SpecificationError(f"projects.phases must have shape ({n}, phase), got {phases.shape}")
        if (phases < 0).any() or not np.allclose(phases.sum(axis=1), 1.0):
            bad = int(np.argmax(np.abs(phases.sum(axis=1) - 1.0) + (phases < 0).any(axis=1)))
            raise SpecificationError(
                f"projects.phases[{bad}] = {phases[bad].tolist()}: expected non-negative shares summing to 1"
            )
        if np.asarray(self.cancelled).shape[:1] not in ((n,), (0,)):
            raise SpecificationError(f"projects.cancelled must have {n} rows")
        if np.asarray(self.cancelled).shape[:1] == (0,) and n:
            object.__setattr__(self, "cancelled", np.zeros(n, dtype=bool))
        if not np.isfinite(np.asarray(self.places, dtype=float)).all():
            raise SpecificationError("projects.places contains NaN or infinity")

    def __len__(self) -> int:
        return len(self.places)

    def open_fraction(self, years: NDArray[np.int64], n_draw: int) -> NDArray[np.float64]:
        """Share of each project's places open in each year and draw.

        Returns
        -------
        ndarray, shape (project, year, draw)
            :math:`(1 - x_p) \\sum_k \\phi_{p,k} [o_p + k \\le t]`.
        """
        n = len(self)
        years = np.asarray(years)
        opening = np.broadcast_to(
            np.asarray(self.opening_year).reshape(n, -1), (n, n_draw)
        )  # (p, d)
        cancelled = np.broadcast_to(np.asarray(self.cancelled).reshape(n, -1), (n, n_draw))
        frac = np.zeros((n, len(years), n_draw))
        for k in range(self.phases.shape[1]):
            share = self.phases[:, k][:, None, None]
            open_k = (opening[:, None, :] + k) <= years[None, :, None]
            frac += share * open_k
        frac *= ~cancelled[:, None, :]
        return frac


def places_by_year(
    existing: NDArray[np.float64],
    projects: ProjectArrays,
    years: NDArray[np.int64],
    n_draw: int = 1,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Places per year from the base-year places and the projects.

    Parameters
    ----------
    existing : ndarray, shape (area, stage, sector)
        Places in the base year, :math:`S^0`.
    projects : ProjectArrays
    years : ndarray of int, shape (year,)
        School years (September of the year).
    n_draw : int
        Number of draws.

    Returns
    -------
    places : ndarray, shape (year, area, stage, sector, draw)
    clipped : ndarray, same shape
        Places that closures would have taken below zero (zero in a consistent plan).
    """
    existing = np.asarray(existing, dtype=float)
    if existing.ndim != 3:
        raise SpecificationError(f"existing places must have shape (area, stage, sector), got {existing.shape}")
    if (existing < 0).any() or not np.isfinite(existing).all():
        index = tuple(int(i) for i in np.argwhere(~(existing >= 0))[0])
        raise SpecificationError(f"existing{list(index)} = {float(existing[index])!r}: expected places >= 0")
    n_area, n_stage, n_sector = existing.shape
    for name, idx, size in (("area", projects.area, n_area), ("stage", projects.stage, n_stage),
                            ("sector", projects.sector, n_sector)):
        idx = np.asarray(idx)
        if len(idx) and ((idx < 0) | (idx >= size)).any():
            bad = int(np.argmax((idx < 0) | (idx >= size)))
            raise SpecificationError(f"projects.{name}[{bad}] = {idx[bad]}: expected an index in 0..{size - 1}")
    out = np.broadcast_to(existing[None, ..., None], (len(years), *existing.shape, n_draw)).copy()
    if len(projects):
        added = projects.open_fraction(years, n_draw) * np.asarray(projects.places, float)[:, None, None]
        # scatter-add each project's (year, draw) series into its cell
        for p in range(len(projects)):
            out[:, projects.area[p], projects.stage[p], projects.sector[p], :] += added[p]
    clipped = np.maximum(-out, 0.0)
    np.maximum(out, 0.0, out=out)
    return out, clipped
