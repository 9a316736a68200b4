"""One PDF briefing for the people who decide (matplotlib's PdfPages), in English or Chinese.

Pages, in order:

1. findings: a written summary generated from the results (:mod:`capacity.briefing`):
   per stage, which streets fall short in the plan's target year, by how much, the worst,
   from when the district falls short, with draws the probability, what the plan's
   projects change; then the first scenario's plan comparison as a table;
2. the scenario comparison: the streets' shortfall per scenario, stage, target year and
   horizon (one table, however many scenarios), what each scenario assumes, and the same
   shortfalls as grouped bars;
3. for the first scenario: the plan comparison chart, gap maps of every stage in the
   target year and the horizon (each map on its own scale), with draws the probability of
   a shortfall, demand against places, the construction schedule;
4. assumptions: the scenarios' settings as a table (a row per setting, a column per
   scenario);
5. provenance: every input figure's file, column, kind (published or estimate) and
   source, as a table; the map attribution; the run's version, seed and draws (the
   inputs' SHA-256 are in ``meta.json``).

The page count grows with the number of scenarios only through the tables (about 20
scenarios per comparison page, 4 per assumptions page), not by a set of pages per
scenario: :func:`page_count`.
Every text is in the language asked for (``lang``; default the district's, else English);
Chinese is set in the CJK font shipped with the package and embedded as TrueType, so the
PDF's text can be searched and copied (:mod:`capacity.plot.fonts`).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import capacity
from capacity.i18n import column, current, stage_name, tr

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.results.result import Results


def _fmt(v: Any, pct: bool = False) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return ""
    return f"{f:.0%}" if pct else f"{f:,.0f}"


def _plan_table(results: Results) -> tuple[list[str], list[list[str]], list[float], list[str]]:
    first = results.view()
    pc = results.plan_comparison
    pc = pc[pc["scenario"] == first.name]  # the other scenarios are on the comparison page
    cols = ["stage", "target_year", "plan_need", "appendix_places", "projected_need",
            "gap_after_projects", "shortfall_after_projects", "peak_demand_year", "peak_demand"]
    if "projected_need_p10" in pc:
        cols[6:6] = ["projected_need_p10", "projected_need_p90"]
        cols.append("p_shortfall_target_year")
    rows = []
    for _, row in pc.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if c == "stage":
                cells.append(stage_name(first.stage_label(str(v)), str(v)))
            elif c.startswith("p_"):
                cells.append(_fmt(v, pct=True))
            elif c.endswith("year"):
                cells.append(str(int(v)))
            else:
                cells.append(_fmt(v))
        rows.append(cells)
    widths = [1.6 if c == "stage" else 1.0 for c in cols]
    align = ["left"] + ["right"] * (len(cols) - 1)
    return [column(c) for c in cols], rows, widths, align


def findings_page(results: Results, year: int | None = None) -> list[Figure]:
    """Page 1: the written findings, the scenarios and the plan comparison table."""
    from capacity.briefing import findings
    from capacity.plot.pages import page, paragraphs, table_pages

    first = results.view()
    d = first.district
    name = (d.name_zh or d.name) if current() == "zh" else d.name
    how = tr("rep.how_draws", n=first.draws, seed=first.seed) if first.draws else tr("deterministic")
    fig = page(tr("rep.title", district=name),
               tr("rep.sub", version=capacity.__version__, first=int(first.years[0]), last=int(first.years[-1]),
                  how=how, streets=len(d.area_codes), n=len(results.scenarios)))
    y = 0.875
    fig.text(0.05, y, tr("rep.findings") + " \u2014 " + tr("scenario_q", name=first.name), fontsize=11.5,
             fontweight="bold", ha="left", va="top")
    y = paragraphs(fig, findings(results, year), y - 0.04, fontsize=9.3)
    headers, rows, widths, align = _plan_table(results)
    pages = table_pages("", "", headers, rows, widths, align=align, fontsize=7.3, first=fig, top=y - 0.01)
    notes = pages[-1]
    notes.text(0.05, 0.045, tr("rep.notes"), fontsize=6.5, ha="left", va="bottom", color="#444444", wrap=True)
    return pages


def comparison_pages(results: Results, year: int | None = None) -> list[Figure]:
    """The scenario comparison: the streets' shortfall per scenario, stage, target year and horizon."""
    from capacity.briefing import comparison
    from capacity.plot.pages import table_pages

    first = results.view()
    ty = year if year is not None else first.target_year()
    horizon = int(first.years[-1])
    years = sorted({ty, horizon})
    table = comparison(results, years)
    pairs: list[tuple[str, int]] = [(str(c[0]), int(c[1])) for c in table.columns]
    headers = [column("scenario")] + [f"{stage_name(first.stage_label(s), s)} {y}" for s, y in pairs]
    rows = [[str(name), *(_fmt(v) for v in values)] for name, values in zip(table.index, table.to_numpy())]
    widths = [2.5] + [1.0] * len(table.columns)
    align = ["left"] + ["right"] * len(table.columns)
    descriptions = [[r.name, r.scenario.description or ""] for r in results.views()]
    pages = table_pages(tr("rep.compare", year=ty), tr("rep.compare_sub"), headers, rows, widths, align=align,
                        fontsize=8.5)
    pages += table_pages(tr("rep.scenarios"), "", [column("scenario"), ""], descriptions, [1.0, 5.0], fontsize=8.0,
                         first=pages[-1], top=_below(pages[-1]))[1:]
    bottom = _below(pages[-1])
    if len(pages) == 1 and bottom > 0.3:
        _comparison_bars(pages[0], table, years, bottom - 0.02)
    return pages


def _comparison_bars(fig: Figure, table: Any, years: list[int], top: float) -> None:
    """Grouped bars under the comparison table: per year a panel, per stage a group, per scenario a bar."""
    import numpy as np

    from capacity.plot.common import STAGE_COLOURS

    first_stages = list(dict.fromkeys(str(c[0]) for c in table.columns))
    n = len(table.index)
    width = 0.8 / max(n, 1)
    colours = [STAGE_COLOURS[(k + 1) % len(STAGE_COLOURS)] for k in range(n)]
    for j, year in enumerate(years):
        ax = fig.add_axes((0.06 + j * 0.47, 0.08, 0.42, top - 0.14))
        x = np.arange(len(first_stages))
        for k, name in enumerate(table.index):
            vals = [float(table.loc[name, (s, year)]) if (s, year) in table.columns else 0.0 for s in first_stages]
            ax.bar(x + (k - (n - 1) / 2) * width, vals, width=width * 0.9, color=colours[k], label=str(name))
        ax.set_xticks(x, [stage_name(s, s) if current() == "zh" else s for s in first_stages], fontsize=7.5)
        ax.set_title(f"{tr('col.shortfall_after_projects')}, {year}", fontsize=8.5, loc="left")
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="y", labelsize=7)
        ax.yaxis.set_major_formatter(_thousands())
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if j == 0 and n > 1:
            ax.legend(fontsize=7, frameon=False, loc="upper left")


def _thousands() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _below(fig: Figure) -> float:
    """A y below the lowest text on ``fig`` (figure fraction)."""
    ys = [t.get_position()[1] for t in fig.texts]
    return max(0.1, min(ys) - 0.06) if ys else 0.875


def assumption_rows(results: Results) -> tuple[list[str], list[list[str]]]:
    """Settings as used by the runs: a row per non-empty setting, a column per scenario."""
    per: list[dict[str, str]] = []
    for run in results.views():
        flat: dict[str, str] = {}

        def walk(prefix: str, value: Any, flat: dict[str, str] = flat) -> None:
            if isinstance(value, dict):
                for k, v in value.items():
                    walk(f"{prefix}.{k}" if prefix else str(k), v)
            elif value not in (None, [], (), {}, ""):
                flat[prefix] = str(value)

        settings = run.scenario.to_dict()
        settings.pop("source", None)
        settings.pop("description", None)
        walk("", settings)
        per.append(flat)
    keys = list(dict.fromkeys(k for flat in per for k in flat))
    rows = [[k, *(flat.get(k, "") for flat in per)] for k in keys]
    return [tr("rep.setting"), *results.scenarios], rows


def assumption_pages(results: Results) -> list[Figure]:
    """The scenarios' settings as a table (four scenarios side by side per page)."""
    from capacity.plot.pages import table_pages

    headers, rows = assumption_rows(results)
    pages: list[Figure] = []
    for k in range(1, len(headers), 4):
        cols = [0, *range(k, min(k + 4, len(headers)))]
        pages += table_pages(tr("rep.assumptions", scenario=", ".join(headers[c] for c in cols[1:])), "",
                             [headers[c] for c in cols], [[r[c] for c in cols] for r in rows],
                             [2.0] + [2.5] * (len(cols) - 1), fontsize=7.0)
    return pages


def provenance_pages(results: Results) -> list[Figure]:
    """Every input figure's file, column, kind and source as a table; attribution and run."""
    from capacity.plot.pages import table_pages
    from capacity.results.write import estimates

    first = results.view()
    d = first.district
    rows = []
    for _, row in d.sources.iterrows():
        est = str(row["estimate"]).lower() in ("yes", "true")
        source = str(row["source"])
        method = str(row.get("method", "") or "").strip()
        rows.append([str(row["file"]), str(row["column"]), tr("rep.estimate") if est else tr("rep.published"),
                     source + (f" \u2014 {method}" if method and method != "nan" else "")])
    name = (d.name_zh or d.name) if current() == "zh" else d.name
    pages = table_pages(tr("rep.provenance"), tr("rep.prov_sub", district=name),
                        [tr("rep.file"), tr("rep.column"), tr("rep.kind"), tr("rep.source")], rows,
                        [1.3, 1.5, 0.8, 8.0], fontsize=6.6)
    flagged = estimates(d)
    last = pages[-1]
    foot = [tr("rep.estimates", n=len(flagged), names=", ".join(flagged)), tr("rep.attribution", text=d.attribution),
            tr("rep.run", version=capacity.__version__, seed=first.seed, draws=first.draws)]
    from capacity.plot.pages import paragraphs

    paragraphs(last, foot, _below(last) + 0.03, fontsize=6.8, bullet="")
    return pages


def observed_pages(results: Results) -> list[Figure]:
    """Each observed figure beside the first scenario's projection as a table (every scenario: ``observed_check.csv``)."""
    from capacity.plot.pages import table_pages
    from capacity.results.observed import observed_text

    rows = []
    check = results.observed_check
    for _, r in check[check["scenario"] == results.scenarios[0]].iterrows():
        what = " ".join(str(x) for x in (r["indicator"], r["stage"], r["sex"], r["age"]) if x)
        diff = f"{r['difference_pct']:+.1f} %" if r["difference_pct"] == r["difference_pct"] else str(r["note"])
        figure = [observed_text(str(r["indicator"]), float(r[k])) for k in ("observed", "projected")]
        rows.append([str(r["scenario"]), what, str(r["area_code"]), str(r["year"]), *figure, diff])
    headers = [tr(f"rep.obs_{k}") for k in ("scenario", "what", "area", "year", "observed", "projected", "difference")]
    return table_pages(tr("rep.observed"), tr("rep.observed_sub"), headers, rows, [1.2, 1.8, 1.0, 0.6, 1.1, 1.1, 2.4],
                       fontsize=6.8, align=["left", "left", "left", "right", "right", "right", "right"])


def figures(results: Results, year: int | None = None) -> Iterator[Figure]:
    """Every page of the report, in order, as Figures (in the language in force)."""
    from capacity.plot import PlotAccessor
    from capacity.plot.maps import small_multiples

    lang = current()
    plot = PlotAccessor(results)
    yield from findings_page(results, year)
    yield from comparison_pages(results, year)
    run = results.view()
    name = run.name
    ty = year if year is not None else run.target_year()
    horizon = int(run.years[-1])
    yield plot.plan_comparison(scenario=name, lang=lang)
    yield small_multiples(results, None, ty, scenario=name, lang=lang)
    if horizon != ty:
        yield small_multiples(results, None, horizon, scenario=name, lang=lang)
    if run.draws > 0:
        yield plot.shortfall_probability_map(None, ty, scenario=name, lang=lang)
    yield plot.demand_vs_places(scenario=name, lang=lang)
    yield plot.schedule_timeline(scenario=name, lang=lang)
    yield from assumption_pages(results)
    yield from provenance_pages(results)
    if results.district.observed is not None:
        yield from observed_pages(results)


def page_count(results: Results, year: int | None = None, lang: str | None = None) -> int:
    """Number of pages :func:`write_report` writes for ``results``."""
    from capacity.plot.common import language

    with language(results.district, lang):
        return sum(1 for _ in figures(results, year))


def write_report(results: Results, path: str | Path, *, year: int | None = None, lang: str | None = None) -> Path:
    """Write the report PDF atomically (:func:`capacity.atomic.write_files`); returns its path.

    ``lang``: ``"en"`` or ``"zh"`` (default: the district's ``language``, else English).
    Raises :class:`~capacity.errors.InputError` if Chinese is asked for and cannot be drawn.
    """
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages

    from capacity.atomic import write_files
    from capacity.plot.common import language

    path = Path(path)
    with language(results.district, lang) as chosen:
        d = results.district
        name = (d.name_zh or d.name) if chosen == "zh" else d.name
        meta = {"Title": tr("rep.title", district=name), "Subject": ", ".join(results.scenarios),
                "Creator": f"capacity {capacity.__version__}", "CreationDate": None}
        pages = list(figures(results, year))

    def draw(tmp: Path) -> None:
        with matplotlib.rc_context({"pdf.compression": 6, "pdf.fonttype": 42}), \
                language(results.district, chosen), PdfPages(tmp, metadata=meta) as pdf:
            for fig in pages:
                pdf.savefig(fig)

    write_files(path.parent, {path.name: draw}, last=None, **results.input_paths())
    return path


__all__ = ["assumption_rows", "comparison_pages", "figures", "findings_page", "page_count", "provenance_pages",
           "write_report"]
