"""Command line: ``capacity optimise [SCENARIO ...] --out DIR --draws N --seed S``.

:func:`register` adds the subcommand. It calls :func:`capacity.optimise.optimise` for each
scenario (default ``baseline``), prints the solver's report and the comparison of the
scenario as written against the optimised plan, and writes ``plan.csv``,
``comparison.csv``, ``p_shortfall.csv``, ``solution.csv``, ``optimised.toml``,
``actions_map.png`` (unless ``--no-map``) and ``meta.json`` into ``--out`` (a subfolder per scenario when several are given).
See ``docs/optimise.md``.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def cmd_optimise(args: argparse.Namespace) -> int:
    """Optimise each scenario's plan and write the outputs."""
    from capacity.io.district import load_district
    from capacity.optimise.run import optimise

    scenarios = list(args.scenarios) or ["baseline"]
    for scenario in scenarios:
        result = optimise(scenario, args.district, draws=args.draws, seed=args.seed, eval_seed=args.eval_seed)
        out = Path(args.out) if len(scenarios) == 1 else Path(args.out) / Path(scenario).stem
        s = result.solution
        print(f"{scenario}: {s.status}, objective {s.objective:,.0f}, MIP bound {s.dual_bound:,.0f}, "
              f"gap {s.mip_gap:.2%}, LP bound {s.lp_bound:,.0f} (10,000 CNY); "
              f"{s.variables:,} variables ({s.integers:,} integer), {s.constraints:,} constraints, "
              f"{s.seconds:.1f} s")
        started = result.plan[result.plan["units"] > 0]
        print(f"{started['action_id'].nunique()} actions started, {int((result.plan['units'] == 0).sum())} "
              f"project rows cancelled")
        if len(result.comparison):
            print(result.comparison.to_string(index=False, float_format=lambda v: f"{v:,.3g}" if v < 1 else f"{v:,.0f}"))
        result.write(out, district=None if args.no_map else load_district(args.district))
        names = "plan.csv, comparison.csv, p_shortfall.csv, solution.csv, optimised.toml, meta.json"
        print(f"wrote {out}/ ({names}{'' if args.no_map else ', actions_map.png'})")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``capacity optimise`` to the parser's subcommands."""
    from capacity.cli_plot import add_common_options

    p = subparsers.add_parser(
        "optimise",
        help="what to build, where and when: a MILP over projects and candidate actions",
        description="Choose projects' opening years (or cancel them), class expansions, conversions and new "
        "schools to minimise capital cost plus weighted place-years short and idle (the scenario's [optimise] "
        "table, docs/optimise.md); evaluate the plan against the scenario as written on fresh draws.",
    )
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="scenario TOML files or shipped names (default baseline)")
    add_common_options(p, "out", out_help="output folder; files are replaced atomically, others kept")
    p.add_argument("--eval-seed", type=int, default=None, metavar="N",
                   help="seed of the fresh draws the plan is evaluated on (default: --seed + 1)")
    p.add_argument("--no-map", action="store_true", help="do not draw actions_map.png (the map of the recommended actions)")
    p.set_defaults(func=cmd_optimise)
