"""Gap between places and demand, with and without children crossing street lines.

Axis order
----------
``(year, area, stage, draw)`` for totals over sectors; ``(year, area, stage, sector, draw)``
where a sector axis is kept.

Model
-----
Per area ``a``, stage ``s`` and year ``t``:

.. math::

    G = S - D, \\qquad \\text{shortfall} = \\max(-G, 0), \\qquad \\text{surplus} = \\max(G, 0)

(places, persons). A surplus in one area never offsets a shortfall in another: the
district's shortfall is :math:`\\sum_a \\max(-G_a, 0)` and its surplus
:math:`\\sum_a \\max(G_a, 0)`; the net :math:`\\sum_a G_a` is reported beside them.

Transport
---------
If children may take places in other areas within a travel limit, the gap left after the
best assignment solves, for each year, stage and draw, the linear program

.. math::

    \\min \\; \\sum_i u_i + \\varepsilon \\sum_{i,j} d_{ij} x_{ij}
    \\quad \\text{s.t.} \\quad
    \\sum_j x_{ij} + u_i = D_i, \\;\\; \\sum_i x_{ij} \\le S_j, \\;\\; x, u \\ge 0,

over the pairs :math:`(i, j)` with distance :math:`d_{ij}` within the limit (every area may
use its own places, :math:`d_{ii} = 0`). :math:`x_{ij}` are children of area ``i`` placed in
area ``j``, :math:`u_i` the children left without a place. The small weight
:math:`\\varepsilon` picks, among the assignments that leave fewest children unplaced, the
one with the shortest total travel. Solved with SciPy's HiGHS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capacity.errors import SpecificationError


@dataclass(frozen=True)
class Gap:
    """Gap per area plus district sums that never let a surplus offset a shortfall.

    All arrays have shape ``(year, area, stage, draw)``, or ``(year, stage, draw)`` for the
    ``district_*`` fields.
    """

    demand: NDArray[np.float64]
    places: NDArray[np.float64]

    @property
    def gap(self) -> NDArray[np.float64]:
        """Places minus demand; negative is a shortfall."""
        return self.places - self.demand

    @property
    def shortfall(self) -> NDArray[np.float64]:
        return np.maximum(self.demand - self.places, 0.0)

    @property
    def surplus(self) -> NDArray[np.float64]:
        return np.maximum(self.places - self.demand, 0.0)

    @property
    def district_shortfall(self) -> NDArray[np.float64]:
        """Sum of the areas' shortfalls (no offsetting)."""
        total: NDArray[np.float64] = self.shortfall.sum(axis=1)
        return total

    @property
    def district_surplus(self) -> NDArray[np.float64]:
        total: NDArray[np.float64] = self.surplus.sum(axis=1)
        return total

    @property
    def district_net(self) -> NDArray[np.float64]:
        """Net gap of the district: surplus minus shortfall."""
        total: NDArray[np.float64] = self.gap.sum(axis=1)
        return total


def strict_gap(demand: NDArray[np.float64], places: NDArray[np.float64]) -> Gap:
    """Gap per area, summing sectors.

    Parameters
    ----------
    demand, places : ndarray, shape (year, area, stage, sector, draw)
        Places wanted and places available.
    """
    if demand.shape != places.shape:
        raise SpecificationError(f"demand {demand.shape} and places {places.shape} must have the same shape")
    if demand.ndim != 5:
        raise SpecificationError(f"expected (year, area, stage, sector, draw) arrays, got shape {demand.shape}")
    return Gap(demand.sum(axis=3), places.sum(axis=3))


def transport_unplaced(
    demand: NDArray[np.float64],
    places: NDArray[np.float64],
    distance_km: NDArray[np.float64],
    limit_km: float,
    epsilon: float = 1e-6,
) -> NDArray[np.float64]:
    """Children left without a place after the best assignment within a travel limit.

    Parameters
    ----------
    demand, places : ndarray, shape (year, area, stage, draw)
        Demand and places per area (sectors summed).
    distance_km : ndarray, shape (area, area)
        Distance between areas (e.g. between centroids), km; the diagonal is ignored.
    limit_km : float
        Largest distance a child may travel to another area.
    epsilon : float
        Weight of travel against unplaced children, see the module docstring.

    Returns
    -------
    ndarray, shape (year, area, stage, draw)
        :math:`u_i`, children of each area left without a place (persons).
    """
    if demand.shape != places.shape or demand.ndim != 4:
        raise SpecificationError(
            f"demand {demand.shape} and places {places.shape} must both be (year, area, stage, draw)"
        )
    n_area = demand.shape[1]
    if distance_km.shape != (n_area, n_area):
        raise SpecificationError(f"distance_km must have shape ({n_area}, {n_area}), got {distance_km.shape}")
    if not limit_km >= 0:
        raise SpecificationError(f"limit_km = {limit_km!r}: expected a distance >= 0")
    from scipy.optimize import linprog  # imported here: a third of a second, needed only with a travel limit
    from scipy.sparse import coo_matrix

    pairs = [(i, j) for i in range(n_area) for j in range(n_area)
             if i == j or distance_km[i, j] <= limit_km]
    src = np.array([i for i, _ in pairs])
    dst = np.array([j for _, j in pairs])
    cost = np.array([0.0 if i == j else float(distance_km[i, j]) for i, j in pairs])
    n_x = len(pairs)
    # equality rows: sum_j x_ij + u_i = D_i
    a_eq = coo_matrix(
        (np.ones(n_x + n_area), (np.concatenate([src, np.arange(n_area)]),
                                 np.concatenate([np.arange(n_x), n_x + np.arange(n_area)]))),
        shape=(n_area, n_x + n_area),
    ).tocsr()
    a_ub = coo_matrix((np.ones(n_x), (dst, np.arange(n_x))), shape=(n_area, n_x + n_area)).tocsr()
    c = np.concatenate([epsilon * cost, np.ones(n_area)])
    out = np.zeros_like(demand)
    for t, s, d in np.ndindex(demand.shape[0], demand.shape[2], demand.shape[3]):
        dem = demand[t, :, s, d]
        cap = places[t, :, s, d]
        if (dem <= cap).all():
            continue  # every area covers its own children
        res = linprog(c, A_ub=a_ub, b_ub=cap, A_eq=a_eq, b_eq=dem, bounds=(0, None), method="highs")
        if res.status != 0:
            raise RuntimeError(f"transport problem failed (year {t}, stage {s}, draw {d}): {res.message}")
        out[t, :, s, d] = np.maximum(res.x[n_x:], 0.0)
    return out
