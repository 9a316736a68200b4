"""Solving the programme with HiGHS (``scipy.optimize.milp``), and explaining infeasibility.

:func:`solve` returns the solution with the figures a planner needs to trust it: the
objective, the best bound HiGHS proved (the MIP's dual bound), the relative gap between
them, and the bound of the linear relaxation. If the programme is infeasible,
:func:`solve` raises an :class:`~capacity.errors.InputError` naming the hard row that needs
the largest slack in an elastic version of the programme (see ``docs/optimise.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from capacity.errors import InputError
from capacity.optimise.model import Programme

__all__ = ["Solution", "solve"]


@dataclass(frozen=True)
class Solution:
    """A solved programme. Objective and bounds include the programme's ``offset``."""

    status: str
    x: NDArray[np.float64]
    objective: float
    dual_bound: float
    mip_gap: float
    lp_bound: float
    seconds: float
    variables: int
    integers: int
    constraints: int
    nonzeros: int

    def as_row(self) -> dict[str, object]:
        """The solver's report as one row (no times: the same inputs give the same bytes)."""
        return {"status": self.status, "objective": self.objective, "dual_bound": self.dual_bound,
                "mip_gap": self.mip_gap, "lp_bound": self.lp_bound, "variables": self.variables,
                "integers": self.integers, "constraints": self.constraints, "nonzeros": self.nonzeros}


def _milp(p: Programme, c: NDArray[np.float64], a: sparse.csr_matrix, lb: NDArray[np.float64], ub: NDArray[np.float64],
          var_lb: NDArray[np.float64], var_ub: NDArray[np.float64], integrality: NDArray[np.int64],
          mip_gap: float, time_limit: float) -> object:
    return milp(c, integrality=integrality, bounds=Bounds(var_lb, var_ub),
                constraints=LinearConstraint(a, lb, ub) if a.shape[0] else None,
                options={"mip_rel_gap": mip_gap, "time_limit": time_limit, "disp": False, "presolve": True})


def solve(p: Programme, *, mip_gap: float = 0.01, time_limit: float = 60.0, file: str = "<scenario>",
          lp_bound: bool = True) -> Solution:
    """Solve the programme.

    Parameters
    ----------
    p : Programme
    mip_gap : float
        Relative gap at which HiGHS stops.
    time_limit : float
        Seconds; the best solution found by then is returned (status ``time limit``).
    file : str
        The scenario file, named in an infeasibility message.
    lp_bound : bool
        Also solve the linear relaxation for its bound.

    Returns
    -------
    Solution

    Raises
    ------
    InputError
        If no plan meets the hard rows (budgets, build capacity, requirements).
    """
    start = time.perf_counter()
    res = _milp(p, p.c, p.a, p.row_lb, p.row_ub, p.var_lb, p.var_ub, p.integrality, mip_gap, time_limit)
    status = int(res.status)  # type: ignore[attr-defined]
    if status == 2:
        raise explain_infeasible(p, file, time_limit)
    x = getattr(res, "x", None)
    if x is None:
        raise RuntimeError(f"HiGHS found no plan: {res.message}")  # type: ignore[attr-defined]
    objective = float(res.fun) + p.offset  # type: ignore[attr-defined]
    dual = getattr(res, "mip_dual_bound", None)
    dual_bound = float(dual) + p.offset if dual is not None and np.isfinite(dual) else objective
    gap = getattr(res, "mip_gap", None)
    gap_v = float(gap) if gap is not None and np.isfinite(gap) else 0.0
    lp = float("nan")
    if lp_bound:
        relaxed = _milp(p, p.c, p.a, p.row_lb, p.row_ub, p.var_lb, p.var_ub, np.zeros_like(p.integrality), 0.0, time_limit)
        if getattr(relaxed, "x", None) is not None:
            lp = float(relaxed.fun) + p.offset  # type: ignore[attr-defined]
    n_rows, n_cols = p.shape
    return Solution(status="optimal" if status == 0 else "time limit" if status == 1 else f"status {status}",
                    x=np.asarray(x, dtype=np.float64), objective=objective, dual_bound=dual_bound, mip_gap=gap_v,
                    lp_bound=lp, seconds=time.perf_counter() - start, variables=n_cols,
                    integers=int(p.integrality.sum()), constraints=n_rows, nonzeros=int(p.a.nnz))


def explain_infeasible(p: Programme, file: str, time_limit: float) -> InputError:
    """The hard row an elastic programme relaxes most, as one line.

    Every hard row gets a slack ``σ ≥ 0`` (budgets and build capacity may be exceeded by
    ``σ``, requirements missed by ``σ``); the programme minimises the slacks, each
    divided by its row's right-hand side, requirements weighted 1000 times the budgets so
    that budgets give way first. The row with the largest relative slack is named.
    """
    rows = sorted(p.hard)
    n_rows, n_cols = p.shape
    n_h = len(rows)
    sign = np.array([-1.0 if p.hard[r][2] == "<=" else 1.0 for r in rows])
    slack = sparse.coo_matrix((sign, (rows, np.arange(n_h))), shape=(n_rows, n_h))
    a = sparse.hstack([p.a, slack]).tocsr()
    rhs = np.array([p.row_ub[r] if p.hard[r][2] == "<=" else p.row_lb[r] for r in rows])
    scale = np.maximum(np.abs(rhs), 1.0)
    weight = np.array([1.0 if p.hard[r][2] == "<=" else 1000.0 for r in rows])
    c = np.concatenate([np.zeros(n_cols), weight / scale])
    res = _milp(p, c, a, p.row_lb, p.row_ub, np.concatenate([p.var_lb, np.zeros(n_h)]),
                np.concatenate([p.var_ub, np.full(n_h, np.inf)]), np.concatenate([p.integrality, np.zeros(n_h, dtype=np.int64)]),
                1e-6, time_limit)
    x = getattr(res, "x", None)
    if x is None or not n_h:
        return InputError.one(file, "key optimise", "", "expected a feasible programme, found none (no hard row to relax)")
    s = np.asarray(x)[n_cols:]
    k = int(np.argmax(s / scale))
    key, what, sense = p.hard[rows[k]]
    if sense == "<=":
        return InputError.one(file, f"key {key}", "",
                              f"expected a limit that lets the hard requirements be met, found {rhs[k]:,.0f} for {what} "
                              f"(at least {rhs[k] + s[k]:,.0f} needed)")
    return InputError.one(file, f"key {key}", "",
                          f"expected a requirement the actions can meet, found {what} needed but at most "
                          f"{rhs[k] - s[k]:,.0f} reachable")
