"""When each project's places are needed, against when they open.

Axis order
----------
Inputs ``(year, area, stage, draw)``; outputs ``(project, draw)``.

Model
-----
For project row ``p`` in area ``a`` and stage ``s``, the places that exist without it are
the base-year places plus the projects of the same area and stage that open strictly
before it (earlier opening year):

.. math::  S^{-p}(t) = S^0_{a,s} + \\sum_{q:\\,o_q < o_p} c_q F_q(t)

with :math:`F_q(t)` the share of ``q`` open in year ``t`` (phases, cancellation). The
shortfall it is there to meet is :math:`U_p(t) = \\max(D_{a,s}(t) - S^{-p}(t), 0)`, and the
year its places are first needed is :math:`n_p = \\min\\{t : U_p(t) > 0\\}`. Against its
opening year :math:`o_p`:

* **late** if :math:`o_p > n_p`, by :math:`o_p - n_p` years, with
  :math:`\\sum_{n_p \\le t < o_p} \\min(U_p(t), c_p)` place-years short meanwhile;
* **on time** if :math:`o_p = n_p`;
* **early** if :math:`o_p < n_p`, with :math:`\\sum_{o_p \\le t < n_p} c_p F_p(t)` place-years
  standing empty until demand arrives;
* **not needed** if there is no shortfall in the horizon (all its open place-years idle);
* **cancelled** in draws where the project is dropped.

Only projects adding places (:math:`c_p > 0`) are matched; closures and the negative half of
a conversion get the status ``closure``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from capacity.core.supply import ProjectArrays

STATUS = ("on time", "late", "early", "not needed", "cancelled", "closure")


@dataclass(frozen=True)
class ScheduleMatch:
    """Result of :func:`match_projects`; every array has shape (project, draw).

    ``needed_year`` is -1 where places are never needed in the horizon; ``status`` holds
    indices into :data:`STATUS`.
    """

    opening_year: NDArray[np.int64]
    needed_year: NDArray[np.int64]
    status: NDArray[np.int8]
    years_late: NDArray[np.int64]
    place_years_short: NDArray[np.float64]
    place_years_idle: NDArray[np.float64]


def match_projects(
    demand: NDArray[np.float64],
    existing: NDArray[np.float64],
    projects: ProjectArrays,
    years: NDArray[np.int64],
    threshold: float = 0.5,
    reach: NDArray[np.bool_] | None = None,
) -> ScheduleMatch:
    """Match each project to the year its places are first needed.

    Parameters
    ----------
    demand : ndarray, shape (year, area, stage, draw)
        Demand per area and stage, sectors summed (persons).
    existing : ndarray, shape (area, stage)
        Base-year places, sectors summed.
    projects : ProjectArrays
    years : ndarray of int, shape (year,)
    threshold : float
        A shortfall counts from this many children (default half a child, so rounding
        noise is not a need).
    reach : ndarray of bool, shape (area, area), optional
        ``reach[a, b]``: a project in area ``a`` can serve children of area ``b`` (within
        the travel limit). The project's need is then judged on the pooled demand and
        places of the areas it can serve: :math:`D = \\sum_{b} D_b`,
        :math:`S^{-p} = \\sum_b S^0_b + \\sum_{q \\in b,\\, o_q < o_p} c_q F_q`. Without it,
        only the project's own area counts.
    """
    n_year, _, _, n_draw = demand.shape
    n = len(projects)
    years = np.asarray(years)
    frac = projects.open_fraction(years, n_draw)  # (p, year, draw)
    opening = np.broadcast_to(np.asarray(projects.opening_year).reshape(n, -1), (n, n_draw)).astype(np.int64)
    cancelled = np.broadcast_to(np.asarray(projects.cancelled).reshape(n, -1), (n, n_draw))
    places = np.asarray(projects.places, dtype=float)

    needed = np.full((n, n_draw), -1, dtype=np.int64)
    status = np.zeros((n, n_draw), dtype=np.int8)
    late = np.zeros((n, n_draw), dtype=np.int64)
    short_py = np.zeros((n, n_draw))
    idle_py = np.zeros((n, n_draw))
    t_index = years[:, None]  # (year, 1)
    n_area = existing.shape[0]
    served = np.eye(n_area, dtype=bool) if reach is None else np.asarray(reach, dtype=bool) | np.eye(n_area, dtype=bool)
    for p in range(n):
        a, s = projects.area[p], projects.stage[p]
        if places[p] <= 0:
            status[p] = STATUS.index("closure")
            continue
        pool = served[a]
        same = pool[projects.area] & (projects.stage == s)
        before = same[:, None] & (opening < opening[p][None, :])  # (q, draw)
        supply = existing[pool, s].sum() + np.einsum("q,qtd,qd->td", places, frac, before.astype(float))
        unmet = np.maximum(demand[:, pool, s, :].sum(axis=1) - supply, 0.0)  # (year, draw)
        hit = unmet > threshold
        any_hit = hit.any(axis=0)
        first = np.where(any_hit, years[np.argmax(hit, axis=0)], -1)
        needed[p] = first
        o = opening[p]
        st = np.where(~any_hit, STATUS.index("not needed"),
                      np.where(o > first, STATUS.index("late"),
                               np.where(o < first, STATUS.index("early"), STATUS.index("on time"))))
        st = np.where(cancelled[p], STATUS.index("cancelled"), st)
        status[p] = st
        is_late = st == STATUS.index("late")
        late[p] = np.where(is_late, o - first, 0)
        window_late = (t_index >= first[None, :]) & (t_index < o[None, :])
        short_py[p] = np.where(is_late, (np.minimum(unmet, places[p]) * window_late).sum(axis=0), 0.0)
        open_places = places[p] * frac[p]  # (year, draw)
        window_early = (t_index >= o[None, :]) & (t_index < first[None, :])
        idle_py[p] = np.where(st == STATUS.index("early"), (open_places * window_early).sum(axis=0),
                              np.where(st == STATUS.index("not needed"), open_places.sum(axis=0), 0.0))
    return ScheduleMatch(opening, needed, status, late, short_py, idle_py)
