"""Command line: ``capacity map``, ``capacity chart``, ``capacity export``, ``capacity report``.

:func:`register` adds the four subcommands to the ``capacity`` parser. Each runs the
scenarios (default ``scenarios/baseline.toml``) like ``capacity run`` and writes its files
into ``--out`` (default ``out``), next to whatever is there already: every file is drawn
into a temporary folder first and then moved into place, so a failure leaves no partial
file. Figures are written as PNG (``--dpi``, default 300 for print), SVG and PDF.

matplotlib, geopandas and the model are imported inside the command functions only.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

FORMATS = ("png", "svg", "pdf")


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, found {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, found {text!r}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a whole number > 0, found {text!r}")
    return value


def _formats(text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    bad = [t for t in items if t not in FORMATS]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(FORMATS)}, found {text!r}")
    return items


def _export_formats(text: str) -> tuple[str, ...]:
    from capacity.export import EXPORT_FORMATS

    items = tuple(dict.fromkeys(t.strip().lower() for t in text.split(",") if t.strip()))
    bad = [t for t in items if t not in EXPORT_FORMATS]
    if not items or bad:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(EXPORT_FORMATS)}, "
                                         f"found {text!r}")
    return items


def add_common_options(p: argparse.ArgumentParser, out_default: str | None = "out",
                       out_help: str = "output folder; files are added or replaced, others kept") -> None:
    """--district, --draws, --seed, --out, --quiet, --lang: the options every running command shares."""
    p.add_argument("--district", default=None, metavar="PATH",
                   help="district folder (default: the embedded Haizhu district)")
    p.add_argument("--draws", type=_non_negative, default=0, metavar="N",
                   help="Monte Carlo draws (default 0: one deterministic run)")
    p.add_argument("--seed", type=_non_negative, default=0, metavar="N", help="root random seed (default 0)")
    shown = out_default if out_default is not None else "none: print only, write no file"
    p.add_argument("--out", default=out_default, metavar="DIR", help=f"{out_help} (default: {shown})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--lang", choices=("en", "zh"), default=None,
                   help="language of the printed summary, figures, report and workbook: en or zh (default: the "
                   "district's `language`, else en)")
    p.add_argument("--scheduler", default="threads", metavar="NAME",
                   help="where the projection runs: synchronous, threads (default), processes, or a Dask "
                        "scheduler address such as tcp://host:8786; the outputs are the same bytes")


def _scenario_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="scenario TOML files or names of shipped scenarios (default: baseline)")


def _figure_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dpi", type=_positive, default=300, metavar="N", help="PNG resolution (default 300, for print)")
    p.add_argument("--format", dest="formats", type=_formats, default=FORMATS, metavar="LIST",
                   help="file formats, comma-separated (default png,svg,pdf)")


def _run(args: argparse.Namespace) -> Any:
    import capacity.api as api
    from capacity.atomic import check_output_folder

    scenarios = list(args.scenarios) or [str(api.default_scenario_path())]
    results = api.run(scenarios, args.district, draws=args.draws, seed=args.seed,
                      progress=not getattr(args, "quiet", False), scheduler=getattr(args, "scheduler", "threads"))
    check_output_folder(args.out, (), **results.input_paths())
    return results


def _bad(what: str, expected: str) -> Exception:
    from capacity.errors import InputError

    return InputError.one("capacity", f"option {what}", "", expected)


def _check(results: Any, args: argparse.Namespace) -> tuple[list[str], int | None]:
    run = results.view()
    stages = list(run.district.stage_names)
    chosen = stages
    if getattr(args, "stage", None):
        if args.stage not in stages:
            raise _bad("--stage", f"expected one of {', '.join(stages)}, found {args.stage!r}")
        chosen = [args.stage]
    year = getattr(args, "year", None)
    if year is not None:
        years = [int(y) for y in run.years]
        if year not in years:
            raise _bad("--year", f"expected a year {years[0]}-{years[-1]}, found {year}")
    area = getattr(args, "area", None)
    if area is not None:
        args.area = resolve_area(run.district, area)
    return chosen, year


def resolve_area(district: Any, text: str) -> str:
    """The area code of ``text``: a code, a Chinese name (with or without 街道) or an English name (any case)."""
    from capacity.results.levels import aggregates

    if text == district.code or text in district.area_codes or text in {a.code for a in aggregates(district.area_codes, district.code)}:
        return str(text)
    if text in (district.name, district.name_zh):
        return str(district.code)
    key = text.strip().lower()
    for _, row in district.areas.iterrows():
        zh = str(row["name_zh"])
        names = {zh, zh.removesuffix("街道"), str(row["name_en"]).lower(),
                 str(row["name_en"]).lower().removesuffix(" subdistrict").removesuffix(" street")}
        if text in names or key in names:
            return str(row["area_code"])
    raise _bad("--area", f"expected an area code, Chinese or English name of a street of the district, a "
               f"district of the region or {district.code}, found {text!r}")


def _save(fig: Any, args: argparse.Namespace, stem: str, written: list[Path]) -> None:
    from capacity.plot import save_figure

    written.extend(save_figure(fig, args.out, stem, formats=args.formats, dpi=args.dpi))


def _done(written: list[Path], start: float, args: argparse.Namespace | None = None, district: Any = None) -> int:
    from capacity import i18n

    names = sorted({p.name for p in written})
    folder = written[0].parent if written else Path(".")
    lang = i18n.resolve(getattr(args, "lang", None), district)
    with i18n.use(lang):
        print(i18n.tr("cli.wrote", n=len(names), folder=folder, seconds=time.perf_counter() - start))
    for name in names:
        print(f"  {name}")
    return 0


def cmd_map(args: argparse.Namespace) -> int:
    """Gap maps per stage, the stages side by side, and with draws the probability of a shortfall."""
    from capacity.plot import PlotAccessor

    start = time.perf_counter()
    results = _run(args)
    stages, year = _check(results, args)
    plot = PlotAccessor(results)
    written: list[Path] = []
    suffix = "" if args.level == "area" else f"_{args.level}"
    if args.level != "area":
        from capacity.plot.layers import district_areas

        if district_areas(results.district).empty:
            raise _bad("--level", f"expected a region of several districts for --level district (area codes whose "
                       f"first six digits differ from {results.district.code}), found one district")
    for run in results.views():
        name = run.name
        y = year if year is not None else run.target_year()
        for stage in stages:
            _save(plot.gap_map(stage, y, scenario=name, labels=args.labels, lang=args.lang, level=args.level), args,
                  f"gap_map{suffix}_{name}_{stage}_{y}", written)
            if run.draws > 0:
                _save(plot.shortfall_probability_map(stage, y, scenario=name, labels=args.labels, lang=args.lang,
                                                     level=args.level),
                      args, f"p_shortfall_map{suffix}_{name}_{stage}_{y}", written)
        if len(stages) > 1 and args.level == "area":
            _save(plot.small_multiples(None, y, scenario=name, labels=args.labels, lang=args.lang), args,
                  f"gap_maps_{name}_{y}", written)
        if args.years and args.level == "area":
            for stage in stages:
                _save(plot.small_multiples(stage, args.years, scenario=name, labels=args.labels, lang=args.lang),
                      args, f"gap_maps_{name}_{stage}_{'-'.join(map(str, args.years))}", written)
    return _done(written, start, args, results.district)


def cmd_chart(args: argparse.Namespace) -> int:
    """Demand against places, the construction schedule and the plan comparison."""
    from capacity.plot import PlotAccessor

    start = time.perf_counter()
    results = _run(args)
    stages, _ = _check(results, args)
    plot = PlotAccessor(results)
    written: list[Path] = []
    area = args.area or results.district.code
    for name in results.scenarios:
        stage = args.stage
        suffix = f"_{stage}" if stage else ""
        _save(plot.demand_vs_places(stage, area=area, scenario=name, lang=args.lang), args,
              f"demand_vs_places_{name}_{area}{suffix}", written)
        _save(plot.schedule_timeline(scenario=name, lang=args.lang), args, f"schedule_{name}", written)
        _save(plot.plan_comparison(scenario=name, lang=args.lang), args, f"plan_comparison_{name}", written)
    return _done(written, start, args, results.district)


def cmd_export(args: argparse.Namespace) -> int:
    """GeoPackage and GeoJSON of the streets with their gap figures."""
    from capacity.export import export

    start = time.perf_counter()
    results = _run(args)
    _, year = _check(results, args)
    written = export(results, args.out, year=year, formats=args.export_formats, lang=args.lang)
    return _done(written, start, args, results.district)


def cmd_report(args: argparse.Namespace) -> int:
    """One PDF report: plan comparison, maps, charts, assumptions and data provenance."""
    from capacity.report import write_report

    if Path(args.name).name != args.name or args.name in ("", ".", ".."):
        raise _bad("--name", f"expected a file name inside --out, found {args.name!r}")
    start = time.perf_counter()
    results = _run(args)
    _, year = _check(results, args)
    path = write_report(results, Path(args.out) / args.name, year=year, lang=args.lang)
    return _done([path], start, args, results.district)


def register(subparsers: Any, add_common: Callable[..., None] | None = None) -> None:
    """Add ``map``, ``chart``, ``export`` and ``report`` to the ``capacity`` parser's subcommands.

    Parameters
    ----------
    subparsers
        The object returned by ``parser.add_subparsers()``.
    add_common : callable, optional
        ``add_common(parser, out_default)`` adding --district, --draws, --seed, --out and
        --quiet; default :func:`add_common_options`.
    """
    common = add_common or add_common_options

    p = subparsers.add_parser(
        "map", help="draw gap maps per street (PNG, SVG, PDF)",
        description="Draw the gap (places minus demand) per street as maps: one per stage, the stages side by "
        "side, and with --draws the probability of a shortfall. Files: gap_map_<scenario>_<stage>_<year>.*, "
        "gap_maps_<scenario>_<year>.*, p_shortfall_map_<scenario>_<stage>_<year>.*.")
    _scenario_arg(p)
    common(p, "out")
    p.add_argument("--stage", default=None, metavar="STAGE", help="one stage (default: every stage)")
    p.add_argument("--year", type=int, default=None, metavar="YEAR",
                   help="school year to map (default: the plan's target year)")
    p.add_argument("--years", type=int, nargs="+", default=None, metavar="YEAR",
                   help="also draw each stage over these years side by side")
    p.add_argument("--labels", choices=("auto", "zh", "en", "none"), default="auto",
                   help="street names: in the language of --lang (auto, default), Chinese, English, or none")
    p.add_argument("--level", choices=("area", "district"), default="area",
                   help="map the streets (default) or, for a region of several districts, the districts "
                   "(files gap_map_district_*, p_shortfall_map_district_*)")
    _figure_options(p)
    p.set_defaults(func=cmd_map)

    p = subparsers.add_parser(
        "chart", help="draw demand against places, the construction schedule and the plan comparison",
        description="Draw demand against places over the years (district or --area; P10-P90 band with --draws; "
        "the plan's target marked), the construction schedule and the plan comparison.")
    _scenario_arg(p)
    common(p, "out")
    p.add_argument("--stage", default=None, metavar="STAGE", help="one stage (default: every stage, 2 x 2 panels)")
    p.add_argument("--area", default=None, metavar="AREA",
                   help="a street: its code, Chinese name (赤岗 or 赤岗街道) or English name (default: the district)")
    _figure_options(p)
    p.set_defaults(func=cmd_chart)

    p = subparsers.add_parser(
        "export", help="write GIS files, an Excel workbook or an offline web map",
        description="With --format gis (default), write gap.gpkg (layer gap: one feature per scenario, street, stage and year; layer "
        "gap_<year>: one feature per scenario and street, a column per stage), gap.geojson (the long layer) and "
        "gap_<year>.geojson (the wide layer); with xlsx capacity.xlsx (README sheet, then gap, plan_comparison, indicators, schedule with headers in --lang); with html map.html, one self-contained file that works offline (streets coloured by gap, year slider, stage and scenario selectors, tooltips, projects).")
    _scenario_arg(p)
    common(p, "out")
    p.add_argument("--year", type=int, default=None, metavar="YEAR",
                   help="year of the wide layer and the web map's first year (default: the plan's target year)")
    p.add_argument("--format", dest="export_formats", type=_export_formats, default=("gis",), metavar="LIST",
                   help="comma-separated: gis (gap.gpkg, gap.geojson, gap_<year>.geojson; default), xlsx "
                   "(capacity.xlsx: a sheet per table and a README sheet), html (map.html: an offline web map)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser(
        "report", help="write one PDF report for planners",
        description="Write one PDF: the plan comparison, gap maps, demand against places, the construction "
        "schedule, each scenario's assumptions and the data's provenance (which inputs are estimates).")
    _scenario_arg(p)
    common(p, "out")
    p.add_argument("--year", type=int, default=None, metavar="YEAR",
                   help="year of the maps (default: the plan's target year)")
    p.add_argument("--name", default="report.pdf", metavar="FILE", help="file name (default report.pdf)")
    p.set_defaults(func=cmd_report)


__all__ = ["register", "add_common_options", "cmd_map", "cmd_chart", "cmd_export", "cmd_report"]
