"""The optimiser's programme against brute-force enumeration on tiny instances."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from capacity.core.gap import transport_unplaced
from capacity.errors import InputError
from capacity.optimise.model import Action, Inputs, build, required_places
from capacity.optimise.solve import solve


def _places(inp: Inputs, units: dict[tuple[int, int], int]) -> np.ndarray:
    years = list(inp.years)
    k = inp.base.astype(float).copy()
    for (i, y), n in units.items():
        act = inp.actions[i]
        for t, yy in enumerate(years):
            if yy >= y and (act.duration == 0 or yy < y + act.duration):
                for a, s, e in act.effects:
                    k[t, a, s] += e * n
    return k


def _objective(inp: Inputs, units: dict[tuple[int, int], int]) -> float | None:
    """The objective of a plan by direct evaluation, or None if it breaks a constraint."""
    years = list(inp.years)
    cost_by_year = {y: 0.0 for y in years}
    for (i, y), n in units.items():
        cost_by_year[y] += inp.actions[i].cost * n
    for i, act in enumerate(inp.actions):
        total = sum(n for (j, _), n in units.items() if j == i)
        if total > act.max_units or (act.required and total != 1):
            return None
    sites: dict[str, int] = {}
    for (i, _), n in units.items():
        if inp.actions[i].site:
            sites[inp.actions[i].site] = sites.get(inp.actions[i].site, 0) + n
    if any(v > 1 for v in sites.values()):
        return None
    if inp.budget_total is not None and sum(cost_by_year.values()) > inp.budget_total + 1e-9:
        return None
    if inp.budget_per_year is not None and any(cost_by_year[y] > inp.budget_per_year[t] + 1e-9 for t, y in enumerate(years)):
        return None
    k = _places(inp, units)
    if inp.max_p_shortfall is not None:
        first = inp.requirement_from_year or years[0]
        short_share = (inp.demand > k[..., None] + 1e-9).mean(axis=-1)
        if (short_share[np.array(years) >= first] > inp.max_p_shortfall + 1e-12).any():
            return None
    d = inp.demand
    kk = np.broadcast_to(k[..., None], d.shape)
    if inp.travel_limit_km is not None and inp.distance_km is not None:
        short = transport_unplaced(d, np.ascontiguousarray(kk), inp.distance_km, inp.travel_limit_km, epsilon=0.0)
    else:
        short = np.maximum(d - kk, 0.0)
    idle = kk - d + short
    n_w = d.shape[-1]
    return (sum(cost_by_year.values()) + inp.shortfall_penalty * short.sum() / n_w
            + inp.idle_cost * idle.sum() / n_w)


def _brute(inp: Inputs) -> float | None:
    choices = []
    keys = []
    for i, act in enumerate(inp.actions):
        for y in act.years:
            keys.append((i, y))
            choices.append(range(min(act.max_per_year, act.max_units) + 1))
    best = None
    for combo in itertools.product(*choices):
        value = _objective(inp, {k: n for k, n in zip(keys, combo) if n})
        if value is not None and (best is None or value < best):
            best = value
    return best


def _instance(seed: int, n_area: int = 1, draws: int = 3, **kw: object) -> Inputs:
    rng = np.random.default_rng(seed)
    years = np.array([2021, 2022, 2023])
    n_s = 2
    demand = rng.uniform(50, 200, size=(3, n_area, n_s, draws)).round()
    base = np.full((3, n_area, n_s), 100.0)
    actions = (
        Action("P", "project", ((0, 0, 60.0),), (2021, 2022, 2023), cost=float(rng.uniform(20, 80)), planned_year=2022),
        Action("E", "expansion", ((n_area - 1, 0, 25.0),), (2022, 2023), cost=float(rng.uniform(5, 30)),
               max_units=2, max_per_year=1),
        Action("T", "expansion", ((0, 1, 30.0),), (2021, 2022), cost=float(rng.uniform(2, 10)),
               max_units=2, max_per_year=1, duration=1),
        Action("C", "conversion", ((0, 0, 20.0), (0, 1, -15.0)), (2022,), cost=float(rng.uniform(1, 10))),
    )
    args: dict = dict(years=years, demand=demand, base=base, actions=actions, shortfall_penalty=1.0, idle_cost=0.05)
    args.update(kw)
    return Inputs(**args)


@pytest.mark.parametrize("seed", range(6))
def test_mip_equals_brute_force(seed: int) -> None:
    inp = _instance(seed)
    sol = solve(build(inp), mip_gap=0.0)
    assert sol.objective == pytest.approx(_brute(inp), rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_mip_equals_brute_force_with_budgets_and_sites(seed: int) -> None:
    inp = _instance(seed, budget_total=60.0, budget_per_year=np.array([40.0, 30.0, np.inf]))
    acts = (*inp.actions, Action("S1", "new_school", ((0, 0, 80.0),), (2022, 2023), cost=50.0, site="X"),
            Action("S2", "new_school", ((0, 0, 120.0),), (2023,), cost=55.0, site="X"))
    inp = Inputs(**{**inp.__dict__, "actions": acts})
    sol = solve(build(inp), mip_gap=0.0)
    assert sol.objective == pytest.approx(_brute(inp), rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_mip_equals_brute_force_with_chance_constraint(seed: int) -> None:
    inp = _instance(seed, draws=4, max_p_shortfall=0.25, requirement_from_year=2023,
                    base=np.full((3, 1, 2), 150.0))
    best = _brute(inp)
    if best is None:
        with pytest.raises(InputError):
            solve(build(inp), mip_gap=0.0)
    else:
        assert solve(build(inp), mip_gap=0.0).objective == pytest.approx(best, rel=1e-7, abs=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_mip_equals_brute_force_with_travel(seed: int) -> None:
    dist = np.array([[0.0, 1.0], [1.0, 0.0]])
    inp = _instance(seed, n_area=2, draws=2, distance_km=dist, travel_limit_km=2.0)
    sol = solve(build(inp), mip_gap=0.0)
    assert sol.objective == pytest.approx(_brute(inp), rel=1e-6, abs=1e-5)


def test_sample_average_epigraph_is_exact() -> None:
    """theta equals the mean shortfall at the optimum, also with equal demands."""
    demand = np.array([[[[10.0, 30.0, 30.0, 50.0]]]])
    for base in (0.0, 20.0, 30.0, 40.0, 60.0):
        inp = Inputs(years=np.array([2021]), demand=demand, base=np.full((1, 1, 1), base), actions=(),
                     shortfall_penalty=1.0, idle_cost=0.0)
        sol = solve(build(inp), mip_gap=0.0)
        assert sol.objective == pytest.approx(np.maximum(demand - base, 0).mean())


def test_required_places_is_the_order_statistic() -> None:
    d = np.array([5.0, 1.0, 4.0, 2.0, 3.0])
    assert required_places(d, 0.0) == 5.0
    assert required_places(d, 0.2) == 4.0
    assert required_places(d, 0.39) == 4.0
    assert required_places(d, 0.4) == 3.0
    assert required_places(d, 1.0) == 1.0


def test_gap_and_lp_bound_are_reported() -> None:
    inp = _instance(1)
    sol = solve(build(inp), mip_gap=0.0)
    assert sol.status == "optimal"
    assert sol.lp_bound <= sol.objective + 1e-6
    assert sol.dual_bound <= sol.objective + 1e-6
    assert 0 <= sol.mip_gap <= 1e-6
    assert sol.integers > 0 and sol.nonzeros == build(inp).a.nnz


def test_too_small_budget_names_the_binding_constraint() -> None:
    base = np.zeros((3, 1, 2))
    base[..., 0], base[..., 1] = 100.0, 300.0  # stage 1 needs nothing; stage 0 needs the actions
    inp = _instance(2, max_p_shortfall=0.0, requirement_from_year=2023, budget_total=1.0, base=base)
    with pytest.raises(InputError) as info:
        solve(build(inp), file="plan.toml")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("plan.toml, key optimise.budget_total: expected")
    assert "needed" in message


def test_unreachable_requirement_names_it() -> None:
    inp = _instance(2, max_p_shortfall=0.0, requirement_from_year=2021)
    inp = Inputs(**{**inp.__dict__, "demand": inp.demand + 1000.0})
    with pytest.raises(InputError, match="key optimise.max_p_shortfall: expected a requirement"):
        solve(build(inp), file="plan.toml")
