"""Charts: demand against places, the construction schedule, the plan comparison.

* :func:`demand_vs_places` -- demand and places over the years for the district or one
  street, per stage, with the P10-P90 band of the draws and the plan's target (places in
  the base year plus the plan's stated need, in the target year).
* :func:`schedule_timeline` -- each project's opening year (with its phases and, with
  draws, the P10-P90 range of its delayed opening) against the year its places are first
  needed.
* :func:`plan_comparison_chart` -- the plan's stated need, the places its appendix plans,
  the projected need and the gap left in the target year: one panel per quantity, the
  stages as bars, so each reads on its own scale; a negative projected need is explained
  on the chart.

Places are drawn as steps (they change when a school opens, at the start of a school
year); count axes start at zero; the shortfall is hatched, the P10-P90 bands are plain
tints. Every text is in the language asked for (``lang``, :mod:`capacity.i18n`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from capacity import plan
from capacity.i18n import area_label, current, tr
from capacity.i18n import status as status_name
from capacity.plot.common import check_stage, in_language, pick_run, stage_colour, stage_label, target_year
from capacity.plot.fonts import cjk_font, has_cjk

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from capacity.results.result import Results, ScenarioView

DEMAND = "#d95f02"
PLACES = "#1f78b4"
SHORT = "#e31a1c"
TARGET = "#111111"


def _figure(figsize: tuple[float, float], dpi: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, dpi=dpi)


def _thousands(ax: Axes) -> None:
    from matplotlib.ticker import FuncFormatter

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}"))


def _note(fig: Figure, run: ScenarioView, text: str = "") -> None:
    lines = [t for t in (text, tr("data_note")) if t]
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=6, color="#444444", ha="left", va="bottom", linespacing=1.4)


def _area_name(run: ScenarioView, area: str, labels: str = "auto") -> str:
    d = run.district
    if area == d.code:
        return d.name_zh or d.name if current() == "zh" else tr("district_of", name=d.name)
    row = d.areas[d.areas["area_code"] == area]
    if row.empty:
        from capacity.results.levels import aggregates

        if area in {a.code for a in aggregates(d.area_codes, d.code)}:
            return area  # a district of a region: known by its code
        raise ValueError(f"expected an area code of the district or {d.code}, found {area!r}")
    return area_label(str(row["name_zh"].iloc[0]), str(row["name_en"].iloc[0]), area)


def _district_name(run: ScenarioView) -> str:
    d = run.district
    return (d.name_zh or d.name) if current() == "zh" else d.name


def _series_panel(ax: Axes, frame: pd.DataFrame, run: ScenarioView, stage: str, area: str,
                  show_target: bool, legend: bool, fontsize: float) -> None:
    years = frame["year"].to_numpy()
    demand = frame["demand"].to_numpy(float)
    places = frame["places"].to_numpy(float)
    if "demand_p10" in frame:
        ax.fill_between(years, frame["demand_p10"], frame["demand_p90"], color=DEMAND, alpha=0.18, lw=0,
                        label=tr("ch.band_demand"))
        if not np.allclose(frame["places_p10"], frame["places_p90"]):
            ax.fill_between(years, frame["places_p10"], frame["places_p90"], color=PLACES, alpha=0.15, lw=0,
                            step="mid", label=tr("ch.band_places"))
    ax.fill_between(years, places, demand, where=demand > places, interpolate=True, facecolor="none",
                    edgecolor=SHORT, hatch="////", lw=0, label=tr("ch.short_net") if area == run.district.code
                    else tr("shortfall"))
    ax.plot(years, demand, color=DEMAND, lw=2, marker="o", ms=2.5,
            label=tr("ch.demand_mean") if run.draws else tr("demand"))
    ax.plot(years, places, color=PLACES, lw=2, drawstyle="steps-mid",
            label=tr("ch.places_mean") if run.draws else tr("places"))
    stated = plan.need(run.district, stage) if show_target else None
    if stated is not None and years[0] <= stated[1] <= years[-1]:
        need, ty = stated
        base = float(places[0])
        ax.plot([ty], [base + need], ls="", marker="*", ms=11, color=TARGET, zorder=5,
                label=tr("ch.target", year=int(years[0])))
        ax.annotate(tr("ch.target_note", need=need, year=ty), (ty, base + need), xytext=(6, 5), textcoords="offset points",
                    fontsize=fontsize - 0.5, color=TARGET)
    ax.set_title(stage_label(run, stage), fontsize=fontsize + 1.5, fontweight="bold", loc="left")
    ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
    ax.grid(True, color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=fontsize)
    ax.set_ylabel(tr("ch.axis"), fontsize=fontsize)
    _thousands(ax)
    ax.set_ylim(bottom=0.0)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend:
        fig = ax.figure
        handles, labels = ax.get_legend_handles_labels()
        height = fig.get_figheight()  # type: ignore[union-attr]
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.68 / height),
                   ncol=len(handles), fontsize=fontsize - 0.5, frameon=False, columnspacing=1.4,
                   handlelength=1.8)


@in_language
def demand_vs_places(results: Results, stage: str | None = None, *, area: str | None = None,
                     scenario: str | None = None, labels: str = "auto", width: float = 10.0,
                     dpi: float = 100) -> Figure:
    """Demand and places over the years, for the district (default) or one street.

    Parameters
    ----------
    stage : str, optional
        One stage; default every stage (2 x 2 panels).
    area : str, optional
        Area code of a street; default the district (its code, e.g. ``440105``).
    labels : {"auto", "zh", "en"}
        Kept for compatibility; names follow the language.
    lang : {"en", "zh"}, optional
        Language of every text (default: the district's ``language``, else English).
    """
    run = pick_run(results, scenario)
    district = run.district
    area = district.code if area is None else str(area)
    name = _area_name(run, area, labels)
    stages = [check_stage(run, stage)] if stage is not None else list(district.stage_names)
    g = results.gap
    sel = g[(g["scenario"] == run.scenario.name) & (g["area_code"] == area)]
    cols = 1 if len(stages) == 1 else 2
    rows = int(np.ceil(len(stages) / cols))
    height = 1.5 + 3.1 * rows
    fig = _figure((width, height), dpi)
    gs = fig.add_gridspec(rows, cols, left=0.08, right=0.98, top=1 - 1.25 / height, bottom=0.55 / height,
                          hspace=0.38, wspace=0.18)
    for i, s in enumerate(stages):
        ax = fig.add_subplot(gs[i // cols, i % cols])
        frame = sel[sel["stage"] == s].sort_values("year")
        _series_panel(ax, frame, run, s, area, show_target=area == district.code, legend=i == 0,
                      fontsize=7.5 if cols > 1 else 8.5)
    title = tr("ch.dvp_title", name=name) + (f": {stage_label(run, stages[0])}" if len(stages) == 1 else "")
    fig.text(0.01, 1 - 0.1 / height, title, fontsize=12.5, fontweight="bold", ha="left", va="top",
             fontproperties=cjk_font(12.5, "bold") if has_cjk(title) and current() != "zh" else None)
    how = tr("ch.dvp_how_draws", n=run.draws) if run.draws else tr("deterministic")
    sub = tr("ch.dvp_sub", scenario=tr("scenario_q", name=run.scenario.name), how=how)
    fig.text(0.01, 1 - 0.45 / height, sub, fontsize=8, ha="left", va="top", color="#333333")
    extra = tr("ch.net_note") if area == district.code else ""
    _note(fig, run, extra)
    return fig


def _project_rows(results: Results, run: ScenarioView) -> pd.DataFrame:
    out = run.projects()
    out["row"] = np.arange(len(out))
    sched = results.schedule
    sched = sched[(sched["scenario"] == run.name) & (sched["status"] != "unaddressed")].reset_index(drop=True)
    out["status"] = sched["status"].to_numpy() if len(sched) == len(out) else ""
    out["p_late"] = sched["p_late"].to_numpy() if "p_late" in sched and len(sched) == len(out) else np.nan
    out["p_cancelled"] = (sched["p_cancelled"].to_numpy() if "p_cancelled" in sched and len(sched) == len(out)
                          else np.nan)
    order = {s: i for i, s in enumerate(run.district.stage_names)}
    out["_stage"] = out["stage"].map(order)
    out = out[out["places"] > 0].sort_values(["_stage", "opening", "project_id"], kind="stable")
    return out.drop(columns="_stage").reset_index(drop=True)


@in_language
def schedule_timeline(results: Results, *, scenario: str | None = None, width: float = 10.0,
                      dpi: float = 100) -> Figure:
    """When each project opens against when its places are first needed."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    run = pick_run(results, scenario)
    rows = _project_rows(results, run)
    years = run.years
    phases = run.ds["phase_share"].values
    n = len(rows)
    top, bottom = 1.0, 1.45
    height = top + bottom + 0.24 * max(n, 4)
    fig = _figure((width, height), dpi)
    labels: list[str] = []
    for r in rows.to_dict("records"):
        full = area_label(str(r.get("name_zh", "") or ""), str(r["name_en"]))
        limit = 24 if current() == "zh" else 48
        name = full if len(full) <= limit else full[:limit - 1] + "\u2026"
        stage = stage_label(run, r["stage"])
        stage = stage if current() == "zh" else stage.split()[0].lower()
        labels.append(f"{r['project_id']} {name} ({stage}, {r['places']:,.0f})")
    from capacity.plot.pages import _width

    left = min(0.45, max(0.12, (max((_width(t) for t in labels), default=10) * 6.5 * 0.55 / 72 + 0.2) / width))
    ax = fig.add_axes((left, bottom / height, 0.80 - left, 1 - (top + bottom) / height))
    x_end = int(years[-1]) + 1
    for y, r in enumerate(rows.to_dict("records")):
        colour = stage_colour(run, r["stage"])
        share = phases[r["row"]]
        start = float(r["opening"])
        for k, sh in enumerate(share):
            if sh <= 0:
                continue
            ax.barh(y, x_end - (start + k), left=start + k, height=0.55, color=colour, alpha=0.25 + 0.5 * sh, lw=0)
        if r["opening_p90"] > r["opening_p10"]:
            ax.plot([r["opening_p10"], r["opening_p90"] + 1], [y, y], color="#222222", lw=1.2, zorder=4)
            ax.plot([r["opening_p10"], r["opening_p90"] + 1], [y, y], ls="", marker="|", ms=7, color="#222222", zorder=4)
        ax.plot([start], [y], ls="", marker="o", ms=4, color=colour, mec="#222222", mew=0.6, zorder=5)
        if np.isfinite(r["needed"]):
            ax.plot([r["needed"]], [y], ls="", marker="D", ms=5, color=SHORT, mec="white", mew=0.5, zorder=6)
        late = str(r["status"]) == "late"
        status = status_name(str(r["status"]))
        if late and np.isfinite(r["needed"]):
            status = tr("ch.late_y", n=int(round(start - r["needed"])))
        extra = []
        if np.isfinite(r["p_late"]) and run.draws:
            extra.append(tr("ch.p_late", p=r["p_late"]))
        if np.isfinite(r["p_cancelled"]) and r["p_cancelled"] > 0:
            extra.append(tr("ch.p_cancelled", p=r["p_cancelled"]))
        ax.text(1.015, y, ", ".join([status, *extra]), transform=ax.get_yaxis_transform(),
                fontsize=6.5, va="center", ha="left", color=SHORT if late else "#333333")
    ax.set_yticks(range(n), labels, fontsize=6.5)
    ax.set_ylim(n - 0.4, -0.6)
    ax.set_xlim(int(years[0]) - 0.5, x_end + 0.2)
    ax.set_xticks(range(int(years[0]), x_end + 1, 1 if len(years) <= 16 else 2))
    ax.tick_params(axis="x", labelsize=7, rotation=0)
    for lab in ax.get_xticklabels():
        lab.set_rotation(45)
        lab.set_horizontalalignment("right")
    ax.grid(True, axis="x", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(tr("ch.school_year"), fontsize=7.5)
    handles: list[Artist] = [Patch(color=stage_colour(run, s), alpha=0.6,
                                   label=tr("ch.open_stage", stage=stage_label(run, s).lower()))
                             for s in run.district.stage_names if s in set(rows["stage"])]
    handles += [Line2D([], [], ls="", marker="o", ms=4, color="#999999", mec="#222222", label=tr("ch.opening_median")),
                Line2D([], [], ls="", marker="D", ms=5, color=SHORT, label=tr("ch.first_needed"))]
    if run.draws and (rows["opening_p90"] > rows["opening_p10"]).any():
        handles.append(Line2D([], [], color="#222222", marker="|", lw=1.2, label=tr("ch.opening_band")))
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.36 / height), ncol=min(len(handles), 4),
               fontsize=6.8, frameon=False)
    fig.text(0.01, 1 - 0.1 / height, tr("ch.sched_title"), fontsize=12.5,
             fontweight="bold", ha="left", va="top")
    sub = tr("ch.sched_sub", district=_district_name(run), scenario=tr("scenario_q", name=run.scenario.name),
             draws=tr("ch.sched_draws", n=run.draws) if run.draws else "")
    fig.text(0.01, 1 - 0.42 / height, sub, fontsize=7.5, ha="left", va="top", color="#333333", linespacing=1.4)
    _note(fig, run)
    return fig


@in_language
def plan_comparison_chart(results: Results, *, scenario: str | None = None, width: float = 10.0,
                          dpi: float = 100) -> Figure:
    """The plan against the projection in the target year: one panel per quantity, a bar per stage.

    Panels: the plan's stated need (new places), the places of the plan's projects, the
    projected need (demand in the target year minus places in the base year; below zero
    when there are fewer children than places, said under the panel) and the gap left
    after the projects (places minus demand; negative = shortfall). Each panel has its own
    scale, so a need of 1,100 senior places is not lost next to 9,000 kindergarten ones.
    """
    run = pick_run(results, scenario)
    pc = results.plan_comparison
    pc = pc[pc["scenario"] == run.scenario.name].reset_index(drop=True)
    ty = int(pc["target_year"].iloc[0]) if len(pc) else target_year(run)
    base = int(run.years[0])
    series = [
        ("plan_need", tr("ch.pc_need", year=ty), "#969696"),
        ("appendix_places", tr("ch.pc_appendix"), "#1f78b4"),
        ("projected_need", tr("ch.pc_projected", year=ty, base=base), "#d95f02"),
        ("gap_after_projects", tr("ch.pc_gap", year=ty), "#6a3d9a"),
    ]
    fig = _figure((width, 4.6), dpi)
    names = [stage_label(run, s) for s in pc["stage"]]
    y = np.arange(len(pc))
    # room on the left for the longest stage name (about 0.0075 of the width per character)
    left = min(0.2, max(0.1, 0.03 + 0.0075 * max(len(n) for n in names)))
    panel_w = (0.9 - left) / len(series)
    for k, (col, label, colour) in enumerate(series):
        ax = fig.add_axes((left + k * (panel_w + 0.012), 0.2, panel_w - 0.035, 0.58))
        vals = pc[col].to_numpy(float)
        ax.barh(y, np.nan_to_num(vals), height=0.6, color=colour)
        if col == "projected_need" and "projected_need_p10" in pc:
            p10 = pc["projected_need_p10"].to_numpy(float)
            p90 = pc["projected_need_p90"].to_numpy(float)
            ax.errorbar(vals, y, xerr=[vals - p10, p90 - vals], fmt="none", ecolor="#222222", elinewidth=1, capsize=2)
        lo = min(0.0, float(np.nanmin(vals)) if np.isfinite(vals).any() else 0.0)
        hi = max(0.0, float(np.nanmax(vals)) if np.isfinite(vals).any() else 1.0)
        span = max(hi - lo, 1.0)
        ax.set_xlim(lo - 0.32 * span * (lo < 0), hi + 0.32 * span * (hi > 0 or lo == 0))
        for yy, v in zip(y, vals):
            if np.isfinite(v):
                ax.annotate(f"{v:,.0f}", (v, yy), xytext=(3 if v >= 0 else -3, 0), textcoords="offset points",
                            ha="left" if v >= 0 else "right", va="center", fontsize=7)
        ax.axvline(0, color="#333333", lw=0.8)
        ax.set_yticks(y, names if k == 0 else [""] * len(y), fontsize=8.5)
        ax.set_ylim(len(y) - 0.5, -0.5)
        ax.tick_params(axis="x", labelsize=6.5)
        ax.xaxis.set_major_formatter(_formatter())
        ax.xaxis.set_major_locator(_locator())
        ax.grid(True, axis="x", color="#dddddd", lw=0.6)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        ax.set_title("\n".join(_wrap(label, 26 if current() == "zh" else 34)), fontsize=7.5, loc="left",
                     color=colour if colour != "#969696" else "#444444", fontweight="bold")
        if col == "projected_need" and (vals < 0).any():
            ax.text(0.0, -0.12, "\n".join(_wrap(tr("ch.pc_negative", year=ty, base=base),
                                                 22 if current() == "zh" else 40)),
                    transform=ax.transAxes, fontsize=6.3, va="top", ha="left", color="#7f2704")
    fig.text(0.01, 0.98, tr("ch.pc_title", year=ty), fontsize=12.5, fontweight="bold", ha="left", va="top")
    sub = tr("ch.pc_sub", district=_district_name(run), scenario=tr("scenario_q", name=run.scenario.name),
             draws=tr("ch.pc_draws", n=run.draws) if run.draws else "")
    fig.text(0.01, 0.915, sub, fontsize=8, ha="left", va="top", color="#333333")
    _note(fig, run)
    return fig


def _wrap(text: str, width: int) -> list[str]:
    import textwrap

    if current() == "zh":
        return [text[i:i + width] for i in range(0, len(text), width)] or [""]
    return textwrap.wrap(text, width) or [""]


def _formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _: f"{v:,.0f}")


def _locator() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3)


__all__ = ["demand_vs_places", "schedule_timeline", "plan_comparison_chart"]
