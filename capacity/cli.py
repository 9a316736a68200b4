"""Command line: ``capacity <command> ...``.

Commands are argparse subcommands; each is a function ``cmd_<name>(args) -> int`` registered
in :func:`build_parser`. Heavy modules (geopandas, pandera, the model) are imported inside
the command functions so that ``capacity --help`` starts fast.

Exit status: 0 success; 2 bad input (:class:`capacity.errors.InputError`: one line per
problem on stderr, naming file, row or key, column, expected and found; by default only the
first problem); 1 any other error (one line ``error: ...``). Never a traceback.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from capacity import __version__

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INPUT = 2


def cmd_validate(args: argparse.Namespace) -> int:
    """Check a district folder and print a one-line summary.

    Parameters
    ----------
    args : argparse.Namespace
        ``path`` (district folder or None for the embedded default).

    Returns
    -------
    int
        Exit status 0 (a bad input raises :class:`capacity.errors.InputError`).
    """
    from capacity.io.district import load_district

    district = load_district(args.path)
    n_projects = district.projects["project_id"].nunique()
    history = ""
    if district.history is not None:  # the district's own past (history/), for capacity backtest and scenario methods
        years = district.history.tables["population"].years
        history = f", history {years[0]}-{years[-1]}"
    print(f"ok: {district.name}, {len(district.area_codes)} areas, {n_projects} projects{history}")
    return EXIT_OK


def cmd_init(args: argparse.Namespace) -> int:
    """Write a template district folder (see :func:`capacity.template.write_template`)."""
    from capacity.template import write_template

    out = write_template(args.folder)
    print(f"wrote {out}/ (a copy of the embedded Haizhu district; see its README.md)")
    return EXIT_OK


def _scenarios(args: argparse.Namespace) -> list[str]:
    from capacity.api import default_scenario_path

    return list(args.scenarios) or [str(default_scenario_path())]


def _print_plan_comparison(results: Any) -> None:
    table = results.plan_comparison
    cols = ["scenario", "stage", "target_year", "plan_need", "appendix_places", "projected_need",
            "gap_after_projects", "shortfall_after_projects", "peak_demand_year", "peak_demand"]
    if "projected_need_p10" in table:
        cols += ["projected_need_p10", "projected_need_p90", "p_shortfall_target_year"]
    shown = table[cols].copy()
    for c in shown.columns:
        if c.startswith("p_"):
            shown[c] = shown[c].map(lambda v: f"{v:.0%}")
        elif shown[c].dtype.kind == "f":
            shown[c] = shown[c].map(lambda v: "" if v != v else f"{v:,.0f}")
    print(_localised(shown, results).to_string(index=False))


def _localised(frame: Any, results: Any) -> Any:
    """Headers, stage and street names of a printed table in the language in force (capacity.i18n)."""
    from capacity import i18n

    if i18n.current() == "en":
        return frame
    frame = frame.copy()
    view = results.view()
    if "stage" in frame:
        frame["stage"] = [i18n.stage_name(view.stage_label(s), s) for s in frame["stage"]]
    if "area_code" in frame and "area_name" in frame:
        zh = dict(zip(view.district.areas["area_code"], view.district.areas["name_zh"]))
        frame["area_name"] = [zh.get(c, n) for c, n in zip(frame["area_code"], frame["area_name"])]
    return frame.rename(columns=i18n.column)


def summary_years(view: Any) -> list[int]:
    """Years whose largest street gaps ``capacity run`` prints: the plan's target year(s) and the horizon."""
    from capacity.plan import target_years

    return sorted({*target_years(view.district, int(view.years[0]), view.horizon), view.horizon})


def cmd_run(args: argparse.Namespace) -> int:
    """Run scenarios, print the plan comparison and write the outputs into ``--out``."""
    import capacity.api as api
    from capacity import i18n

    if args.format == "parquet":  # summaries reduced chunk by chunk (capacity.summary)
        return _run_parquet(args)
    results = api.run(_scenarios(args), args.district, draws=args.draws, seed=args.seed,
                      progress=not args.quiet, scheduler=args.scheduler)
    out = results.write(args.out, format=args.format)
    first = results.view()
    with i18n.use(i18n.resolve(getattr(args, "lang", None), results.district)):
        _print_run_summary(args, results, first, out)
    return EXIT_OK


def _print_run_summary(args: argparse.Namespace, results: Any, first: Any, out: Any) -> None:
    """What ``capacity run`` prints, in the language in force."""
    from capacity.i18n import current, tr
    from capacity.results.tables import largest_in
    from capacity.results.write import estimates

    d = first.district
    how = tr("cli.deterministic") if args.draws == 0 else tr("n_draws", n=args.draws)
    print(tr("cli.head", district=(d.name_zh or d.name) if current() == "zh" else d.name, first=first.years[0],
             last=first.years[-1], how=how, seed=args.seed))
    _print_plan_comparison(results)
    gap = results.gap  # the table written to gap.csv (made once)
    for view in results.views():
        for year in summary_years(view):
            top = largest_in(gap[gap["scenario"] == view.name], year)
            if len(top):
                print("\n" + tr("cli.largest", scenario=view.name, year=year))
                print(_localised(top[["area_code", "area_name", "stage", "demand", "places", "gap"]], results)
                      .to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    est = estimates(results.district)
    print(tr("cli.estimates", n=len(est), names=", ".join(est)))
    names = ["gap.csv", "plan_comparison.csv", "indicators.csv", "schedule.csv"]
    if results.district.observed is not None:
        from capacity.results.observed import observed_summary

        print("", *observed_summary(results.observed_check), sep="\n")
        names.append("observed_check.csv")
    names += ["results.nc"] if args.format == "netcdf" else []
    print(tr("cli.wrote_run", out=out, names=", ".join([*names, "meta.json"])))


def _run_parquet(args: argparse.Namespace) -> int:
    from capacity.api import _as_scenario
    from capacity.execute import check_scheduler
    from capacity.io.district import load_district
    from capacity.summary import run_parquet

    check_scheduler(args.scheduler)
    files = run_parquet([_as_scenario(s) for s in _scenarios(args)], load_district(args.district), args.out,
                        draws=args.draws, seed=args.seed, scheduler=args.scheduler)
    print("wrote " + ", ".join(f"{args.out}/{name}" for name in files))
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    """Show the calculation behind one area x stage x year cell."""
    from capacity.api import default_scenario_path
    from capacity.explanation import explain
    from capacity.io.district import load_district
    from capacity.scenario import load_scenario

    district = load_district(args.district)
    scenario = load_scenario(args.scenario or default_scenario_path())
    print(explain(district, scenario, area=args.area, stage=args.stage, year=args.year).to_text())
    return EXIT_OK


def cmd_compare(args: argparse.Namespace) -> int:
    """Paired differences of scenarios against the first."""
    import capacity.api as api
    from capacity.atomic import write_files
    from capacity.errors import InputError
    from capacity.results.write import csv_bytes, netcdf_bytes

    if args.format == "parquet":
        raise InputError.one("--format", "", "", "expected csv or netcdf for compare (parquet summaries are written by "
                             "capacity run), found 'parquet'")
    if len(args.scenarios) < 2:
        raise InputError.one("capacity compare", "arguments", "", f"expected at least two scenarios, found {len(args.scenarios)}")
    results = api.run(args.scenarios, args.district, draws=args.draws, seed=args.seed, progress=not args.quiet,
                      scheduler=args.scheduler)
    diff = api.compare(results)
    summary = diff[(diff["area_code"] == results.district.code)]
    years = sorted(set(summary["year"]))
    pick = [y for y in years if y in (years[0] + 5, years[0] + 10, years[-1])]
    shown = summary[summary["year"].isin(pick)]
    cols = [c for c in ("scenario", "base", "year", "stage", "d_demand", "d_places", "d_shortfall",
                        "d_shortfall_p10", "d_shortfall_p90", "p_worse") if c in shown]
    from capacity import i18n

    with i18n.use(i18n.resolve(getattr(args, "lang", None), results.district)):
        print(_localised(shown[cols], results).to_string(index=False, float_format=lambda v: f"{v:,.1f}"))
    if args.out:
        files = {"compare.csv": csv_bytes(diff)}
        if args.format == "netcdf":
            files["results.nc"] = netcdf_bytes(results.to_xarray())
        write_files(args.out, files, last=None, **results.input_paths())
        print("wrote " + ", ".join(f"{args.out}/{name}" for name in files))
    return EXIT_OK


def _add_run_options(p: argparse.ArgumentParser, out_default: str | None) -> None:
    from capacity.cli_plot import add_common_options

    add_common_options(p, out_default, out_help="output folder; each file written atomically, other files kept")
    p.add_argument("--format", choices=("csv", "netcdf", "parquet"), default="csv",
                   help="csv (default): the tables as CSV; netcdf: also results.nc, the labelled result (xarray); "
                        "parquet: for runs too large to keep every draw, summaries per area reduced chunk by chunk, "
                        "one Parquet file per district (docs/scaling.md)")


class Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line on stderr and exit status 2.

    ``capacity run --drws 3`` prints ``capacity run: unrecognized arguments: --drws (did you
    mean --draws?); see capacity run --help``; the full usage is for ``--help``.
    """

    def error(self, message: str) -> NoReturn:
        hint = ""
        if message.startswith("unrecognized arguments: "):
            known = [o for action in self._actions for o in action.option_strings if o.startswith("--")]
            for arg in message.removeprefix("unrecognized arguments: ").split():
                close = difflib.get_close_matches(arg.split("=")[0], known, n=1)
                if close:
                    hint = f" (did you mean {close[0]}?)"
                    break
        self.exit(EXIT_INPUT, f"{self.prog}: {_one_line(message)}{hint}; see {self.prog} --help\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        """Parse, reporting options a subcommand does not know against that subcommand."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(parsed, "command", None)
            owner = self.commands().get(command, self) if command else self
            owner.error("unrecognized arguments: " + " ".join(extras))
        return parsed

    def commands(self) -> dict[str, argparse.ArgumentParser]:
        """The subcommands' parsers, by name."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return dict(action.choices)
        return {}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = Parser(
        prog="capacity",
        description="School-place capacity planning simulator (cohort projection, stage demand, construction, gap per area).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--all",
        action="store_true",
        dest="all_problems",
        help="on bad input, print every problem found (one per line), not just the first",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = sub.add_parser(
        "validate",
        help="check a district's input files",
        description="Check every input file of a district folder against the data format (docs/data-format.md).",
    )
    validate.add_argument(
        "path",
        nargs="?",
        default=None,
        help="district folder holding district.toml (default: the embedded Haizhu district, or $CAPACITY_DATA/districts/haizhu)",
    )
    validate.add_argument(
        "--all",
        action="store_true",
        dest="all_problems",
        default=argparse.SUPPRESS,
        help="print every problem found (one per line), not just the first",
    )
    validate.set_defaults(func=cmd_validate)

    run = sub.add_parser(
        "run",
        help="project demand, places and gap for scenarios and write the outputs",
        description="Run scenarios (default scenarios/baseline.toml) on a district, print the plan "
        "comparison and write gap.csv, plan_comparison.csv, indicators.csv, schedule.csv and meta.json "
        "(with --format netcdf also results.nc).",
    )
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                     help="scenario TOML files or names of shipped scenarios (default: baseline)")
    _add_run_options(run, "out")
    run.set_defaults(func=cmd_run)

    explain = sub.add_parser(
        "explain",
        help="show the calculation behind one area x stage x year",
        description="Show the cohorts and rates that make the demand and the places and projects "
        "that make the supply of one cell of gap.csv (deterministic run).",
    )
    explain.add_argument("scenario", nargs="?", default=None, metavar="SCENARIO",
                         help="scenario TOML file (default scenarios/baseline.toml)")
    explain.add_argument("--area", required=True, metavar="CODE", help="area code, e.g. 440105016")
    explain.add_argument("--stage", required=True, metavar="STAGE", help="stage, e.g. primary")
    explain.add_argument("--year", required=True, type=int, metavar="YEAR", help="school year (September), e.g. 2025")
    explain.add_argument("--district", default=None, metavar="PATH", help="district folder")
    explain.set_defaults(func=cmd_explain)

    compare = sub.add_parser(
        "compare",
        help="paired differences between scenarios",
        description="Run scenarios with the same seed (common random numbers) and report their "
        "differences from the first, draw by draw.",
    )
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                         help="scenario TOML files or names of shipped scenarios; the first is the base")
    _add_run_options(compare, None)
    compare.set_defaults(func=cmd_compare)

    init = sub.add_parser(
        "init",
        help="write a template district folder to start from",
        description="Write a self-contained district folder (a copy of the embedded Haizhu district, "
        "with a README of what to replace) that validates and runs as written.",
    )
    init.add_argument("folder", metavar="DIR", help="folder to create (must not exist, or be empty)")
    init.set_defaults(func=cmd_init)

    from capacity.cli_plot import register

    register(sub)
    from capacity import cli_calibrate
    from capacity.cli_backtest import register as register_backtest
    from capacity.cli_optimise import register as register_optimise

    register_backtest(sub)
    register_optimise(sub)
    cli_calibrate.register(sub)
    return parser


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 ok, 1 unexpected error, 2 bad input or usage.
    """
    parser = build_parser()
    assert isinstance(parser, Parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, usage errors
        code = exit_.code
        return code if isinstance(code, int) else EXIT_INPUT
    if getattr(args, "func", None) is None:
        names = ", ".join(parser.commands())
        print(f"capacity: expected a command ({names}); see capacity --help", file=sys.stderr)
        return EXIT_INPUT

    from capacity.errors import InputError

    try:
        return int(args.func(args))
    except BrokenPipeError:  # the reader went away (capacity run | head): end quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except InputError as error:
        problems = error.problems if getattr(args, "all_problems", False) else error.problems[:1]
        for problem in problems:
            print(_one_line(str(problem)), file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 -- the command line never shows a traceback
        message = _one_line(str(error)) or type(error).__name__
        print(f"error: {type(error).__name__}: {message}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
