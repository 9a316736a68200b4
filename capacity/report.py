"""One PDF report for planners (matplotlib's PdfPages).

Pages, in order:

1. summary: district, scenarios, run settings and the plan comparison table;
2. for each scenario: the plan comparison chart; gap maps of every stage in the plan's
   target year and in the horizon year; with draws, the probability of a shortfall in
   the target year; demand against places for the district; the construction schedule;
   the scenario's assumptions (resolved settings and the scenario file with its comments);
3. data provenance: which inputs are estimates (``sources.csv``), their sources and
   methods, the map attribution and the inputs' SHA-256.

:func:`page_count` tells how many pages :func:`write_report` writes for given results.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import capacity

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.results.result import Results, ScenarioView

PAGE = (11.69, 8.27)  # A4 landscape, inches
LINES_PER_PAGE = 58
WRAP = 150


def _page(title: str, subtitle: str = "") -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=PAGE, dpi=100)
    fig.text(0.04, 0.955, title, fontsize=15, fontweight="bold", ha="left", va="top")
    if subtitle:
        fig.text(0.04, 0.915, subtitle, fontsize=9, ha="left", va="top", color="#333333")
    return fig


def _text_pages(title: str, subtitle: str, lines: list[str], fontsize: float = 7.2) -> list[Figure]:
    """Lines of monospaced text on as many pages as they need."""
    from capacity.plot.fonts import cjk_font, has_cjk

    chunks = [lines[i:i + LINES_PER_PAGE] for i in range(0, max(len(lines), 1), LINES_PER_PAGE)] or [[]]
    pages = []
    for k, chunk in enumerate(chunks):
        head = title if len(chunks) == 1 else f"{title} ({k + 1}/{len(chunks)})"
        fig = _page(head, subtitle)
        y = 0.875
        step = 0.83 / LINES_PER_PAGE
        for line in chunk:
            if has_cjk(line):
                props = cjk_font(fontsize)
                if props is None:  # no CJK font: drop the characters it cannot draw
                    line = "".join(ch if not has_cjk(ch) else "?" for ch in line)
                    fig.text(0.04, y, line, fontsize=fontsize, family="monospace", ha="left", va="top")
                else:
                    fig.text(0.04, y, line, fontproperties=props, ha="left", va="top")
            else:
                fig.text(0.04, y, line, fontsize=fontsize, family="monospace", ha="left", va="top")
            y -= step
        pages.append(fig)
    return pages


def _wrap(text: str, indent: str = "    ") -> list[str]:
    return textwrap.wrap(text, WRAP, subsequent_indent=indent) or [""]


def _fmt(v: Any, pct: bool = False) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return ""
    return f"{f:.0%}" if pct else f"{f:,.0f}"


def summary_page(results: Results) -> Figure:
    """District, scenarios, run settings and the plan comparison table."""
    first = results.view()
    d = first.district
    fig = _page(f"School places in {d.name}: projection against the plan",
                f"capacity {capacity.__version__}; {first.years[0]}-{first.years[-1]}; "
                + (f"{first.draws} Monte Carlo draws, seed {first.seed}" if first.draws else "deterministic run")
                + f"; {len(d.area_codes)} streets; {len(results.scenarios)} scenario(s)")
    y = 0.86
    for run in results.views():
        for line in _wrap(f"Scenario '{run.scenario.name}': {run.scenario.description or ''}", "      "):
            fig.text(0.04, y, line, fontsize=8.5, ha="left", va="top")
            y -= 0.027
    pc = results.plan_comparison
    cols = [("scenario", "scenario"), ("stage", "stage"), ("target_year", "target\nyear"),
            ("plan_need", "plan's\nneed"), ("appendix_places", "planned\nplaces"),
            ("projected_need", "projected\nneed"), ("gap_after_projects", "gap after\nprojects"),
            ("shortfall_after_projects", "shortfall\n(streets)"), ("peak_demand_year", "peak\nyear"),
            ("peak_demand", "peak\ndemand")]
    has_q = "projected_need_p10" in pc
    if has_q:
        cols.insert(6, ("projected_need_p10", "need\nP10"))
        cols.insert(7, ("projected_need_p90", "need\nP90"))
        cols.append(("p_shortfall_target_year", "P(shortfall)\ntarget year"))

    def cell(c: str, v: Any) -> str:
        if c == "stage":
            return first.stage_label(str(v))
        if c == "scenario":
            return str(v)
        if c.startswith("p_"):
            return _fmt(v, pct=True)
        if c.endswith("year"):
            return str(int(v))
        return _fmt(v)

    from matplotlib.transforms import Bbox

    cells = [[cell(c, row[c]) for c, _ in cols] for _, row in pc.iterrows()]
    height = min(0.032 * (len(cells) + 2), y - 0.25)
    ax = fig.add_axes((0.04, y - 0.02 - height, 0.92, height))
    ax.set_axis_off()
    widths = [2.4 if c == "scenario" else 2.0 if c == "stage" else 1.0 for c, _ in cols]
    total = sum(widths)
    table = ax.table(cellText=cells, colLabels=[label for _, label in cols], bbox=Bbox.from_bounds(0, 0, 1, 1), cellLoc="right",
                     colLoc="center", colWidths=[w / total for w in widths])
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    for (r, _), box in table.get_celld().items():
        box.set_edgecolor("#bbbbbb")
        if r == 0:
            box.set_facecolor("#eeeeee")
            box.set_text_props(fontweight="bold")
    notes = [
        "Plan's need: new places the district's plan says are needed by the target year; "
        "planned places: the places of the projects in its appendix.",
        "Projected need: projected demand in the target year minus the base year's places. Gap after projects: places "
        "minus demand in the target year, district total (negative = shortfall); shortfall (streets): the sum of the "
        "streets' shortfalls, without offsetting surpluses of other streets.",
        f"Every base figure marked as an estimate in sources.csv is one (see the provenance page). {d.attribution}.",
    ]
    y2 = y - 0.05 - height
    for note in notes:
        for line in _wrap(note, ""):
            fig.text(0.04, y2, line, fontsize=7.5, ha="left", va="top", color="#333333")
            y2 -= 0.024
    return fig


def assumption_lines(run: ScenarioView) -> list[str]:
    """The scenario's resolved settings (non-empty), then the text of its file."""
    lines = [f"Scenario '{run.scenario.name}': settings as used by the run (empty settings left out)", ""]

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif value in (None, [], (), {}, ""):
            return
        else:
            lines.extend(_wrap(f"{prefix} = {value}", "      "))

    settings = run.scenario.to_dict()
    settings.pop("source", None)
    walk("", settings)
    source = run.scenario.source
    if source and Path(source).is_file():
        lines += ["", f"Scenario file: {Path(source).name}", "-" * 60]
        for raw in Path(source).read_text(encoding="utf-8").splitlines():
            lines.extend(_wrap(raw, "      ") if raw else [""])
    return lines


def provenance_lines(results: Results) -> list[str]:
    """Which inputs are estimates, sources and methods, attribution and input hashes."""
    from capacity.results.write import estimates

    first = results.view()
    d = first.district
    est = estimates(d)
    lines = [f"Inputs that are estimates ({len(est)}): " + ", ".join(est), ""]
    lines = _wrap(lines[0], "      ") + [""]
    lines.append("Every input figure and where it comes from (sources.csv of the district):")
    lines.append("")
    for _, row in d.sources.iterrows():
        flag = "ESTIMATE" if str(row["estimate"]).lower() in ("yes", "true") else "published"
        lines.extend(_wrap(f"[{flag}] {row['file']} : {row['column']} -- source: {row['source']}", "      "))
        if str(row.get("method", "") or "").strip():
            lines.extend(_wrap(f"      method: {row['method']}", "      "))
    lines += ["", "Map attribution: " + d.attribution, "",
              f"capacity {capacity.__version__}; seed {first.seed}; draws {first.draws}", "",
              "Input files (SHA-256):"]
    for name, digest in sorted(d.input_hashes().items()):
        lines.append(f"    {digest}  {name}")
    return lines


def figures(results: Results, year: int | None = None) -> Iterator[Figure]:
    """Every page of the report, in order, as Figures."""
    from capacity.plot import PlotAccessor
    from capacity.plot.maps import small_multiples

    plot = PlotAccessor(results)
    yield summary_page(results)
    for run in results.views():
        name = run.name
        ty = year if year is not None else run.target_year()
        horizon = int(run.years[-1])
        yield plot.plan_comparison(scenario=name)
        yield small_multiples(results, None, ty, scenario=name)
        if horizon != ty:
            yield small_multiples(results, None, horizon, scenario=name)
        if run.draws > 0:
            yield plot.shortfall_probability_map(None, ty, scenario=name)
        yield plot.demand_vs_places(scenario=name)
        yield plot.schedule_timeline(scenario=name)
        yield from _text_pages("Assumptions", f"scenario '{name}'", assumption_lines(run))
    yield from _text_pages("Data provenance", f"{results.district.name}: what the inputs are and where they "
                           "come from", provenance_lines(results))
    if results.district.observed is not None:
        from capacity.results.observed import observed_lines

        yield from _text_pages("Check against observations", "observed.csv beside the projection (observed_check.csv)",
                               observed_lines(results.observed_check))


def page_count(results: Results, year: int | None = None) -> int:
    """Number of pages :func:`write_report` writes for ``results``."""
    def n_text(lines: list[str]) -> int:
        return max(1, -(-len(lines) // LINES_PER_PAGE))

    n = 1 + n_text(provenance_lines(results))
    if results.district.observed is not None:
        from capacity.results.observed import observed_lines

        n += n_text(observed_lines(results.observed_check))
    for run in results.views():
        ty = year if year is not None else run.target_year()
        n += 4 + (int(run.years[-1]) != ty) + (run.draws > 0) + n_text(assumption_lines(run))
    return n


def write_report(results: Results, path: str | Path, *, year: int | None = None) -> Path:
    """Write the report PDF atomically (:func:`capacity.atomic.write_files`); returns its path."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from capacity.atomic import write_files

    path = Path(path)
    meta = {"Title": f"School places in {results.district.name}: projection against the plan",
            "Subject": ", ".join(results.scenarios), "Creator": f"capacity {capacity.__version__}",
            "CreationDate": None}

    def draw(tmp: Path) -> None:
        with matplotlib.rc_context({"pdf.compression": 6}), PdfPages(tmp, metadata=meta) as pdf:
            for fig in figures(results, year):
                pdf.savefig(fig)

    write_files(path.parent, {path.name: draw}, last=None, **results.input_paths())
    return path


__all__ = ["figures", "page_count", "write_report", "assumption_lines", "provenance_lines", "summary_page"]
