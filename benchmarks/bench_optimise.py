"""Benchmark of the optimiser (prints figures, asserts nothing).

Run::

    python benchmarks/bench_optimise.py            # Haizhu, 200 draws; scaling; done-when check
    python benchmarks/bench_optimise.py --quick    # fewer points, no done-when check

Figures printed:

* the Haizhu problem with 200 draws (18 streets, 4 stages, 2021-2035, the appendix's
  projects and ``candidates.csv``): variables (integer), constraints, non-zeros, the time
  to build the matrices and to solve (MILP to 1 % gap, then the LP relaxation), the MIP
  gap, the MIP bound and the LP bound;
* how the solve time grows with the number of draws (the first D of 400 draws: draws are
  keyed, so they are the draws a run with D draws would make) and with the number of
  streets (the first 6, 12, 18 streets and the candidate actions in them);
* the same with children assigned across streets within 3 km (10, 20, 50 draws);
* the done-when check: ``optimise.budget_total = "as_written"`` (no more cost than the
  appendix), fitted on 200 draws of seed 1, then the scenario as written and the
  optimised scenario TOML both run by ``capacity.run`` on 200 fresh draws of seed 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import capacity  # noqa: E402
from capacity.optimise.candidates import read_candidates  # noqa: E402
from capacity.optimise.inputs import make_inputs  # noqa: E402
from capacity.optimise.model import Action, Inputs, build  # noqa: E402
from capacity.optimise.run import optimise  # noqa: E402
from capacity.optimise.solve import solve  # noqa: E402
from capacity.scenario_file import OptimiseTable  # noqa: E402


def subset(inp: Inputs, draws: int, areas: int) -> Inputs:
    """The first ``draws`` draws and ``areas`` streets of a problem (actions outside dropped)."""
    keep: list[Action] = []
    for act in inp.actions:
        if all(a < areas for a, _, _ in act.effects):
            keep.append(act)
    return dataclasses.replace(inp, demand=inp.demand[:, :areas, :, :draws], base=inp.base[:, :areas],
                               actions=tuple(keep), areas=inp.areas[:areas])


def measure(inp: Inputs, label: str) -> None:
    start = time.perf_counter()
    p = build(inp)
    built = time.perf_counter() - start
    start = time.perf_counter()
    sol = solve(p, mip_gap=0.01, time_limit=300.0, lp_bound=False)
    solved = time.perf_counter() - start
    rows, cols = p.shape
    print(f"{label:<22} {cols:>8,} {int(p.integrality.sum()):>6,} {rows:>9,} {p.a.nnz:>10,} "
          f"{built:>7.2f} {solved:>8.2f} {sol.mip_gap:>7.2%}  {sol.status}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    district = capacity.load_district()
    candidates = read_candidates(district.path / "candidates.csv", district.area_codes, district.stage_names)
    most = 200 if args.quick else 400
    res = capacity.run("baseline", district, draws=most, seed=1)
    full = make_inputs(res.to_xarray(), district, OptimiseTable(), candidates)
    print(f"Haizhu: {len(full.areas)} streets, {len(full.stages)} stages, {full.years[0]}-{full.years[-1]}, "
          f"{len(full.actions)} actions ({sum(a.kind != 'project' for a in full.actions)} candidates)\n")

    inp = subset(full, 200, len(full.areas))
    start = time.perf_counter()
    p = build(inp)
    built = time.perf_counter() - start
    sol = solve(p, mip_gap=0.01, time_limit=60.0)
    rows, cols = p.shape
    print("Haizhu, 200 draws (MILP to 1 % gap, time limit 60 s; then the LP relaxation):")
    print(f"  variables {cols:,} ({int(p.integrality.sum()):,} integer), constraints {rows:,}, non-zeros {p.a.nnz:,}")
    print(f"  build {built:.2f} s, solve (MILP + LP) {sol.seconds:.1f} s, status {sol.status}")
    print(f"  objective {sol.objective:,.0f}, MIP bound {sol.dual_bound:,.0f}, MIP gap {sol.mip_gap:.3%}, "
          f"LP bound {sol.lp_bound:,.0f} (10,000 CNY)\n")

    print(f"{'problem':<22} {'vars':>8} {'ints':>6} {'rows':>9} {'nnz':>10} {'build s':>7} {'solve s':>8} {'gap':>7}")
    for draws in ([25, 100, 200] if args.quick else [25, 50, 100, 200, 400]):
        measure(subset(full, draws, len(full.areas)), f"{draws} draws, 18 streets")
    for areas in (6, 12):
        measure(subset(full, 200, areas), f"200 draws, {areas} streets")
    # assignment across streets within 3 km: one transport problem per year, stage and draw
    from capacity.model import area_distances_km

    travel = dataclasses.replace(full, distance_km=area_distances_km(district), travel_limit_km=3.0)
    for draws in ([10] if args.quick else [10, 20, 50]):
        measure(subset(travel, draws, len(full.areas)), f"{draws} draws, 3 km travel")

    if args.quick:
        return
    print("\ndone-when: budget_total = \"as_written\", fitted on 200 draws (seed 1), evaluated on 200 fresh draws (seed 2)")
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "same_cost.toml"
        scenario.write_text('extend = "baseline"\nname = "baseline"\n[optimise]\nbudget_total = "as_written"\n',
                            encoding="utf-8")
        start = time.perf_counter()
        result = optimise(scenario, district, draws=200, seed=1, eval_seed=2)
        took = time.perf_counter() - start
    s = result.solution
    print(f"  {s.status}, MIP gap {s.mip_gap:.3%}, solve {s.seconds:.1f} s, whole command {took:.1f} s")
    print(result.comparison.to_string(index=False, float_format=lambda v: f"{v:,.3f}" if v < 1 else f"{v:,.0f}"))
    started = result.plan[result.plan["units"] > 0]
    print(f"  {started['action_id'].nunique()} actions started, {int((result.plan['units'] == 0).sum())} project rows cancelled")
    worse = result.p_shortfall[result.p_shortfall["p_shortfall_optimised"] > result.p_shortfall["p_shortfall_as_written"]]
    print(f"  streets x stages where P(shortfall) rises: {len(worse)} of {len(result.p_shortfall)}; "
          f"mean P(shortfall) as written {np.mean(result.p_shortfall['p_shortfall_as_written']):.3f}, "
          f"optimised {np.mean(result.p_shortfall['p_shortfall_optimised']):.3f}")


if __name__ == "__main__":
    main()
