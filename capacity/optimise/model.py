"""The optimiser's mixed-integer programme as sparse matrices (pure: no I/O, no solver).

The formulation is ``docs/optimise.md``; the numbers (1)-(6) below refer to it.

Axis order
----------
``demand`` is ``(year, area, stage, draw)``, draws last; ``base`` is ``(year, area, stage)``.

Variables, in this order
------------------------
``n[i, τ]`` units of action ``i`` started in year ``τ`` (integer), ``K[t, a, s]`` places,
``θ[t, a, s]`` expected shortfall, and with a travel limit ``x[t, s, ω, pair]`` (children
of the pair's home street placed in its school street) and ``u[t, s, ω, a]`` (unplaced).

The programme is ``min c·z`` subject to ``row_lb ≤ A z ≤ row_ub`` and
``var_lb ≤ z ≤ var_ub``, ``z`` integer where ``integrality`` is 1; ``offset`` is the
constant the objective leaves out (``−w_idle Σ D̄``), so that ``c·z + offset`` is the
capital cost plus the weighted expected place-years short and idle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

__all__ = ["Action", "Inputs", "Programme", "build", "places_range", "required_places"]


@dataclass(frozen=True)
class Action:
    """One decision: a project, a new school, a class expansion or a conversion.

    ``effects`` are ``(area index, stage index, places per unit)``; ``years`` the years
    it may start; ``duration`` 0 for permanent places, else the years a unit lasts;
    ``required``: a project that may not be cancelled (exactly one start).
    """

    action_id: str
    kind: str
    effects: tuple[tuple[int, int, float], ...]
    years: tuple[int, ...]
    cost: float
    max_units: int = 1
    max_per_year: int = 1
    duration: int = 0
    site: str = ""
    required: bool = False
    planned_year: int | None = None


@dataclass(frozen=True)
class Inputs:
    """Everything the programme is built from (units in ``docs/optimise.md``)."""

    years: NDArray[np.int64]
    demand: NDArray[np.float64]
    base: NDArray[np.float64]
    actions: tuple[Action, ...]
    shortfall_penalty: float = 2.0
    idle_cost: float = 0.05
    budget_per_year: NDArray[np.float64] | None = None
    budget_total: float | None = None
    build_capacity_per_year: float | None = None
    max_p_shortfall: float | None = None
    requirement_from_year: int | None = None
    distance_km: NDArray[np.float64] | None = None
    travel_limit_km: float | None = None
    #: area codes and stage names, for messages
    areas: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()


@dataclass
class Programme:
    """The MILP as arrays, with what each variable and each hard row stands for."""

    c: NDArray[np.float64]
    a: sparse.csr_matrix
    row_lb: NDArray[np.float64]
    row_ub: NDArray[np.float64]
    var_lb: NDArray[np.float64]
    var_ub: NDArray[np.float64]
    integrality: NDArray[np.int64]
    offset: float
    #: (action index, year) of each unit variable, in order from 0
    units: list[tuple[int, int]]
    #: index of the first K and θ variable; both are (year, area, stage) in C order
    k0: int
    theta0: int
    #: hard rows (budgets, build capacity, requirements): row -> (key, description, sense)
    hard: dict[int, tuple[str, str, str]] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        rows, cols = self.a.shape
        return int(rows), int(cols)


class _Rows:
    """Collects rows of ``A`` as coordinates."""

    def __init__(self) -> None:
        self.r: list[NDArray[np.int64]] = []
        self.c: list[NDArray[np.int64]] = []
        self.v: list[NDArray[np.float64]] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, cols: NDArray[np.int64] | list[int], vals: NDArray[np.float64] | list[float], lb: float, ub: float) -> int:
        row = len(self.lb)
        cols_a = np.asarray(cols, dtype=np.int64)
        self.r.append(np.full(len(cols_a), row, dtype=np.int64))
        self.c.append(cols_a)
        self.v.append(np.asarray(vals, dtype=np.float64))
        self.lb.append(lb)
        self.ub.append(ub)
        return row

    def block(self, rows: NDArray[np.int64], cols: NDArray[np.int64], vals: NDArray[np.float64],
              lb: NDArray[np.float64], ub: NDArray[np.float64]) -> None:
        """Add ``len(lb)`` rows at once; ``rows`` counts from 0 within the block."""
        start = len(self.lb)
        self.r.append(rows + start)
        self.c.append(cols)
        self.v.append(vals)
        self.lb.extend(lb.tolist())
        self.ub.extend(ub.tolist())

    def matrix(self, n_var: int) -> sparse.csr_matrix:
        if not self.r:
            return sparse.csr_matrix((0, n_var))
        return sparse.coo_matrix((np.concatenate(self.v), (np.concatenate(self.r), np.concatenate(self.c))),
                                 shape=(len(self.lb), n_var)).tocsr()


def required_places(demand: NDArray[np.float64], alpha: float) -> NDArray[np.float64]:
    """Places that keep ``P(D > K) <= alpha`` over the draws: the ``⌊α n⌋ + 1``-th largest demand.

    Parameters
    ----------
    demand : ndarray, shape (..., draw)
    alpha : float

    Returns
    -------
    ndarray, shape (...)
    """
    n = demand.shape[-1]
    k = min(int(np.floor(alpha * n + 1e-9)) + 1, n)
    out: NDArray[np.float64] = -np.sort(-demand, axis=-1)[..., k - 1]
    return out


def places_range(inp: Inputs) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Bounds on the places any plan can reach, ``(year, area, stage)`` each.

    Every action at its most units from its first possible year: the lower bound takes
    only the places it removes, the upper bound only those it adds. The epigraph (5) needs
    only the lines whose piece of the sample average meets this range (see :func:`build`).
    """
    years = [int(y) for y in inp.years]
    lo = inp.base.astype(np.float64).copy()
    hi = lo.copy()
    for act in inp.actions:
        starts = [years.index(int(y)) for y in act.years if int(y) in years]
        if not starts:
            continue
        first = min(starts)
        for a, s, e in act.effects:
            (hi if e > 0 else lo)[first:, a, s] += e * act.max_units
    return lo, hi


def build(inp: Inputs) -> Programme:
    """Build the programme of ``docs/optimise.md`` from its inputs.

    Parameters
    ----------
    inp : Inputs

    Returns
    -------
    Programme
    """
    years = np.asarray(inp.years, dtype=np.int64)
    n_t, n_a, n_s, n_w = inp.demand.shape
    t_index = {int(y): i for i, y in enumerate(years)}
    units = [(i, int(y)) for i, act in enumerate(inp.actions) for y in act.years if int(y) in t_index]
    n_u = len(units)
    k0, theta0 = n_u, n_u + n_t * n_a * n_s
    n_k = n_t * n_a * n_s
    transport = inp.travel_limit_km is not None and inp.distance_km is not None
    pairs: list[tuple[int, int]] = []
    if transport:
        assert inp.distance_km is not None and inp.travel_limit_km is not None
        pairs = [(i, j) for i in range(n_a) for j in range(n_a) if i == j or inp.distance_km[i, j] <= inp.travel_limit_km]
    n_p = len(pairs)
    x0 = theta0 + n_k
    u0 = x0 + n_t * n_s * n_w * n_p
    n_var = u0 + (n_t * n_s * n_w * n_a if transport else 0)

    def kvar(t: int, a: int, s: int) -> int:
        return int(k0 + (t * n_a + a) * n_s + s)

    c = np.zeros(n_var)
    var_lb = np.zeros(n_var)
    var_ub = np.full(n_var, np.inf)
    integrality = np.zeros(n_var, dtype=np.int64)
    for j, (i, _) in enumerate(units):
        act = inp.actions[i]
        c[j] = act.cost
        var_ub[j] = min(act.max_per_year, act.max_units)
        integrality[j] = 1
    rows = _Rows()
    hard: dict[int, tuple[str, str, str]] = {}

    # (1) places: K - sum e n = base
    contrib: dict[int, tuple[list[int], list[float]]] = {}
    for j, (i, y) in enumerate(units):
        act = inp.actions[i]
        last = years[-1] if act.duration == 0 else y + act.duration - 1
        for a, s, e in act.effects:
            for t in range(t_index[y], n_t):
                if years[t] > last:
                    break
                cols, vals = contrib.setdefault(kvar(t, a, s), ([], []))
                cols.append(j)
                vals.append(-e)
    for t, a, s in np.ndindex(n_t, n_a, n_s):
        kv = kvar(t, a, s)
        cols, vals = contrib.get(kv, ([], []))
        b = float(inp.base[t, a, s])
        rows.add([kv, *cols], [1.0, *vals], b, b)

    # (2) units per action and per site
    by_action: dict[int, list[int]] = {}
    for j, (i, _) in enumerate(units):
        by_action.setdefault(i, []).append(j)
    for i, act in enumerate(inp.actions):
        cols = by_action.get(i, [])
        if act.required:
            row = rows.add(cols, [1.0] * len(cols), 1.0, 1.0)
            hard[row] = (f"projects.{act.action_id}", f"project {act.action_id} must open between "
                         f"{min(act.years, default=0)} and {max(act.years, default=0)} (optimise.allow_cancel = false)", "=")
        elif cols:
            rows.add(cols, [1.0] * len(cols), 0.0, float(act.max_units))
    sites: dict[str, list[int]] = {}
    for j, (i, _) in enumerate(units):
        if inp.actions[i].site:
            sites.setdefault(inp.actions[i].site, []).append(j)
    for cols in sites.values():
        rows.add(cols, [1.0] * len(cols), 0.0, 1.0)

    # (3) budgets and (4) build capacity
    for t, y in enumerate(years):
        cols = [j for j, (_, yy) in enumerate(units) if yy == y]
        if inp.budget_per_year is not None and np.isfinite(inp.budget_per_year[t]) and cols:
            row = rows.add(cols, [inp.actions[units[j][0]].cost for j in cols], -np.inf, float(inp.budget_per_year[t]))
            hard[row] = (f"optimise.budget_per_year.{y}", f"the budget of {y}", "<=")
        if inp.build_capacity_per_year is not None and cols:
            vals = [sum(max(e, 0.0) for _, _, e in inp.actions[units[j][0]].effects) for j in cols]
            row = rows.add(cols, vals, -np.inf, float(inp.build_capacity_per_year))
            hard[row] = ("optimise.build_capacity_per_year", f"the build capacity of {y}", "<=")
    if inp.budget_total is not None and n_u:
        row = rows.add(list(range(n_u)), [inp.actions[i].cost for i, _ in units], -np.inf, float(inp.budget_total))
        hard[row] = ("optimise.budget_total", "the total budget", "<=")

    mean_demand = inp.demand.mean(axis=-1)
    if not transport:
        # (5) theta >= (1/n) sum_{k<=m} D_(k) - (m/n) K, at the kinks of the sample average
        srt = -np.sort(-inp.demand, axis=-1)
        csum = np.cumsum(srt, axis=-1)
        m = np.arange(1, n_w + 1)
        kink = np.ones(srt.shape, dtype=bool)
        kink[..., :-1] = srt[..., :-1] > srt[..., 1:] + 1e-9
        # only the lines whose piece [D_(m+1), D_(m)] meets the places any plan can reach
        k_lo, k_hi = places_range(inp)
        below = np.full(srt.shape, -np.inf)
        below[..., :-1] = srt[..., 1:]
        kink &= (srt > k_lo[..., None] - 1e-9) & (below < k_hi[..., None] + 1e-9)
        cell, mm = np.nonzero(kink.reshape(n_k, n_w))
        n_rows = len(cell)
        r = np.repeat(np.arange(n_rows), 2)
        cols2 = np.column_stack([theta0 + cell, k0 + cell]).ravel()
        vals2 = np.column_stack([np.ones(n_rows), m[mm] / n_w]).ravel()
        lb = csum.reshape(n_k, n_w)[cell, mm] / n_w
        rows.block(r, cols2, vals2, lb, np.full(n_rows, np.inf))
        c[theta0:theta0 + n_k] = inp.shortfall_penalty + inp.idle_cost
        c[k0:k0 + n_k] = inp.idle_cost
        offset = -inp.idle_cost * float(mean_demand.sum())
    else:
        # (5') transport per year, stage and draw
        src = np.array([p[0] for p in pairs])
        dst = np.array([p[1] for p in pairs])
        for t, s, w in np.ndindex(n_t, n_s, n_w):
            xb = x0 + ((t * n_s + s) * n_w + w) * n_p
            ub0 = u0 + ((t * n_s + s) * n_w + w) * n_a
            d = inp.demand[t, :, s, w]
            r = np.concatenate([src, np.arange(n_a)])
            cols_t = np.concatenate([xb + np.arange(n_p), ub0 + np.arange(n_a)])
            rows.block(r, cols_t, np.ones(n_p + n_a), d, d)
            r = np.concatenate([dst, np.arange(n_a)])
            cols_t = np.concatenate([xb + np.arange(n_p), [kvar(t, b, s) for b in range(n_a)]])
            rows.block(r, cols_t, np.concatenate([np.ones(n_p), -np.ones(n_a)]), np.full(n_a, -np.inf), np.zeros(n_a))
        for t, a, s in np.ndindex(n_t, n_a, n_s):
            cols = [theta0 + (t * n_a + a) * n_s + s] + [u0 + ((t * n_s + s) * n_w + w) * n_a + a for w in range(n_w)]
            rows.add(cols, [1.0] + [-1.0 / n_w] * n_w, 0.0, 0.0)
        c[theta0:theta0 + n_k] = inp.shortfall_penalty
        c[k0:k0 + n_k] = inp.idle_cost
        c[x0:u0] = -inp.idle_cost / n_w
        offset = 0.0

    # (6) chance constraint: K >= the (floor(alpha n) + 1)-th largest demand
    if inp.max_p_shortfall is not None:
        need = required_places(inp.demand, inp.max_p_shortfall)
        first = inp.requirement_from_year if inp.requirement_from_year is not None else int(years[0])
        for t, a, s in np.ndindex(n_t, n_a, n_s):
            if years[t] >= first and need[t, a, s] > 0:
                row = rows.add([kvar(t, a, s)], [1.0], float(need[t, a, s]), np.inf)
                area = inp.areas[a] if inp.areas else str(a)
                stage = inp.stages[s] if inp.stages else str(s)
                hard[row] = ("optimise.max_p_shortfall", f"area {area}, {stage}, {int(years[t])}: "
                             f"{need[t, a, s]:,.0f} places", ">=")
    return Programme(c=c, a=rows.matrix(n_var), row_lb=np.array(rows.lb), row_ub=np.array(rows.ub),
                     var_lb=var_lb, var_ub=var_ub, integrality=integrality, offset=offset, units=units,
                     k0=k0, theta0=theta0, hard=hard)
