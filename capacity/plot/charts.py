"""Charts: demand against places, the construction schedule, the plan comparison.

* :func:`demand_vs_places` -- demand and places over the years for the district or one
  street, per stage, with the P10-P90 band of the draws and the plan's target (places in
  the base year plus the plan's stated need, in the target year).
* :func:`schedule_timeline` -- each project's opening year (with its phases and, with
  draws, the P10-P90 range of its delayed opening) against the year its places are first
  needed.
* :func:`plan_comparison_chart` -- per stage, the plan's stated need, the places its
  appendix plans, the projected need and the gap left in the target year.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from capacity import plan
from capacity.plot.common import check_stage, pick_run, stage_colour, target_year
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
    lines = [t for t in (text, "Data note: the base data are estimates (population, migration, existing places, "
                               "project sites and opening years); see sources.csv.") if t]
    fig.text(0.01, 0.01, "\n".join(lines), fontsize=6, color="#444444", ha="left", va="bottom", linespacing=1.4)


def _area_name(run: ScenarioView, area: str, labels: str = "auto") -> str:
    from capacity.plot.maps import resolve_labels

    zh_ok = resolve_labels(labels) == "zh"
    d = run.district
    if area == d.code:
        zh = f" ({d.name_zh})" if d.name_zh and zh_ok else ""
        return f"{d.name}{zh} district"
    row = d.areas[d.areas["area_code"] == area]
    if row.empty:
        raise ValueError(f"expected an area code of the district or {d.code}, found {area!r}")
    zh = str(row["name_zh"].iloc[0])
    en = str(row["name_en"].iloc[0])
    return f"{en} ({zh})" if zh and zh_ok else en


def _series_panel(ax: Axes, frame: pd.DataFrame, run: ScenarioView, stage: str, area: str,
                  show_target: bool, legend: bool, fontsize: float) -> None:
    years = frame["year"].to_numpy()
    demand = frame["demand"].to_numpy(float)
    places = frame["places"].to_numpy(float)
    if "demand_p10" in frame:
        ax.fill_between(years, frame["demand_p10"], frame["demand_p90"], color=DEMAND, alpha=0.18, lw=0,
                        label="demand P10-P90 of draws")
        if not np.allclose(frame["places_p10"], frame["places_p90"]):
            ax.fill_between(years, frame["places_p10"], frame["places_p90"], color=PLACES, alpha=0.15, lw=0,
                            label="places P10-P90 of draws")
    ax.fill_between(years, places, demand, where=demand > places, interpolate=True, color=SHORT, alpha=0.12, lw=0,
                    label="shortfall (net)" if area == run.district.code else "shortfall")
    ax.plot(years, demand, color=DEMAND, lw=2, marker="o", ms=2.5, label="demand" + (" (mean)" if run.draws else ""))
    ax.plot(years, places, color=PLACES, lw=2, marker="s", ms=2.5, label="places" + (" (mean)" if run.draws else ""))
    stated = plan.need(run.district, stage) if show_target else None
    if stated is not None and years[0] <= stated[1] <= years[-1]:
        need, ty = stated
        base = float(places[0])
        ax.plot([ty], [base + need], ls="", marker="*", ms=11, color=TARGET, zorder=5,
                label=f"plan target: {int(years[0])} places + stated need")
        ax.annotate(f"+{need:,.0f} by {ty}", (ty, base + need), xytext=(6, 5), textcoords="offset points",
                    fontsize=fontsize - 0.5, color=TARGET)
    ax.set_title(run.stage_label(stage), fontsize=fontsize + 1.5, fontweight="bold", loc="left")
    ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
    ax.grid(True, color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    ax.tick_params(labelsize=fontsize)
    ax.set_ylabel("children / places", fontsize=fontsize)
    _thousands(ax)
    lo = min(float(np.nanmin(demand)), float(np.nanmin(places)))
    ax.set_ylim(bottom=max(0.0, lo * 0.85))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend:
        fig = ax.figure
        handles, labels = ax.get_legend_handles_labels()
        height = fig.get_figheight()  # type: ignore[union-attr]
        fig.legend(handles, labels, loc="upper left", bbox_to_anchor=(0.01, 1 - 0.68 / height),
                   ncol=len(handles), fontsize=fontsize - 0.5, frameon=False, columnspacing=1.4,
                   handlelength=1.8)


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
        Add the Chinese name to the title if a CJK font is installed (``auto``, ``zh``).
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
    title = f"Demand and places, {name}" + (f": {run.stage_label(stages[0])}" if len(stages) == 1 else "")
    fig.text(0.01, 1 - 0.1 / height, title, fontsize=12.5, fontweight="bold", ha="left", va="top",
             fontproperties=cjk_font(12.5, "bold") if has_cjk(title) else None)
    sub = (f"Scenario '{run.scenario.name}', "
           + (f"mean of {run.draws} draws with the P10-P90 band" if run.draws else "deterministic run")
           + ". Places: base-year places plus the construction projects as they open.")
    fig.text(0.01, 1 - 0.45 / height, sub, fontsize=8, ha="left", va="top", color="#333333")
    extra = ("District totals: the shaded shortfall is net (surpluses of some streets offset shortfalls of others)."
             if area == district.code else "")
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
    ax = fig.add_axes((0.37, bottom / height, 0.40, 1 - (top + bottom) / height))
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
        status = str(r["status"])
        if status == "late" and np.isfinite(r["needed"]):
            status = f"late {int(round(start - r['needed']))} y"
        extra = []
        if np.isfinite(r["p_late"]) and run.draws:
            extra.append(f"P(late) {r['p_late']:.0%}")
        if np.isfinite(r["p_cancelled"]) and r["p_cancelled"] > 0:
            extra.append(f"P(cancelled) {r['p_cancelled']:.0%}")
        ax.text(1.015, y, ", ".join([status, *extra]), transform=ax.get_yaxis_transform(),
                fontsize=6.5, va="center", ha="left", color=SHORT if status.startswith("late") else "#333333")
    labels: list[str] = []
    for r in rows.to_dict("records"):
        name = r["name_en"] if len(r["name_en"]) <= 42 else r["name_en"][:41] + "\u2026"
        labels.append(f"{r['project_id']} {name} ({run.stage_label(r['stage']).split()[0].lower()}, {r['places']:,.0f})")
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
    ax.set_xlabel("school year (September)", fontsize=7.5)
    handles: list[Artist] = [Patch(color=stage_colour(run, s), alpha=0.6, label=f"open ({run.stage_label(s).lower()})")
               for s in run.district.stage_names if s in set(rows["stage"])]
    handles += [Line2D([], [], ls="", marker="o", ms=4, color="#999999", mec="#222222", label="opening year (median)"),
                Line2D([], [], ls="", marker="D", ms=5, color=SHORT, label="places first needed"),]
    if run.draws and (rows["opening_p90"] > rows["opening_p10"]).any():
        handles.append(Line2D([], [], color="#222222", marker="|", lw=1.2, label="opening P10-P90 (delays)"))
    fig.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.01, 0.36 / height), ncol=min(len(handles), 4),
               fontsize=6.8, frameon=False)
    fig.text(0.01, 1 - 0.1 / height, "Construction schedule: opening against need", fontsize=12.5,
             fontweight="bold", ha="left", va="top")
    sub = (f"{run.district.name}, scenario '{run.scenario.name}'"
           + (f", {run.draws} draws (median opening year; delays and cancellations drawn)" if run.draws else "")
           + ".\nA project is late when its street's places are needed before it opens (status on the right); "
             "a phased project's bar darkens as its phases open.")
    fig.text(0.01, 1 - 0.42 / height, sub, fontsize=7.5, ha="left", va="top", color="#333333", linespacing=1.4)
    _note(fig, run)
    return fig


def plan_comparison_chart(results: Results, *, scenario: str | None = None, width: float = 10.0,
                          dpi: float = 100) -> Figure:
    """Per stage: plan's stated need, appendix places, projected need, gap left (target year)."""
    run = pick_run(results, scenario)
    pc = results.plan_comparison
    pc = pc[pc["scenario"] == run.scenario.name].reset_index(drop=True)
    ty = int(pc["target_year"].iloc[0]) if len(pc) else target_year(run)
    base = int(run.years[0])
    series = [
        ("plan_need", f"plan's stated need (new places by {ty})", "#969696"),
        ("appendix_places", "places of the plan's projects (appendix)", "#1f78b4"),
        ("projected_need", f"projected need: demand {ty} \u2212 places {base}", "#d95f02"),
        ("gap_after_projects", f"gap left in {ty}: places \u2212 demand (negative = shortfall)", "#6a3d9a"),
    ]
    fig = _figure((width, 5.2), dpi)
    ax = fig.add_axes((0.08, 0.22, 0.9, 0.63))
    x = np.arange(len(pc))
    w = 0.2
    for k, (col, label, colour) in enumerate(series):
        vals = pc[col].to_numpy(float)
        pos = x + (k - 1.5) * w
        bars = ax.bar(pos, np.nan_to_num(vals), width=w * 0.92, color=colour, label=label)
        ends = vals.copy()
        if col == "projected_need" and "projected_need_p10" in pc:
            p10 = pc["projected_need_p10"].to_numpy(float)
            p90 = pc["projected_need_p90"].to_numpy(float)
            ax.errorbar(pos, vals, yerr=[vals - p10, p90 - vals], fmt="none", ecolor="#222222", elinewidth=1,
                        capsize=3)
            ends = np.where(vals >= 0, np.maximum(vals, p90), np.minimum(vals, p10))
        for b, v, e in zip(bars, vals, ends):
            if np.isfinite(v):
                ax.annotate(f"{v:,.0f}", (b.get_x() + b.get_width() / 2, e), xytext=(0, 2 if v >= 0 else -2),
                            textcoords="offset points", ha="center", va="bottom" if v >= 0 else "top", fontsize=6.5)
    ax.axhline(0, color="#333333", lw=0.8)
    ax.set_xticks(x, [run.stage_label(s) for s in pc["stage"]], fontsize=9)
    ax.tick_params(axis="y", labelsize=7.5)
    _thousands(ax)
    ax.set_ylabel("places", fontsize=8)
    ax.grid(True, axis="y", color="#dddddd", lw=0.6)
    ax.set_axisbelow(True)
    lo, hi = ax.get_ylim()
    span = hi - lo
    ax.set_ylim(lo - 0.06 * span, hi + 0.06 * span)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.08), ncol=2, fontsize=7.5, frameon=False)
    fig.text(0.01, 0.98, f"The plan against the projection, {ty}", fontsize=12.5, fontweight="bold",
             ha="left", va="top")
    sub = (f"{run.district.name}, scenario '{run.scenario.name}'"
           + (f", mean of {run.draws} draws (error bars: P10-P90)" if run.draws else "")
           + ". Projected need below zero: fewer children than base-year places.")
    fig.text(0.01, 0.915, sub, fontsize=8, ha="left", va="top", color="#333333")
    _note(fig, run)
    return fig


__all__ = ["demand_vs_places", "schedule_timeline", "plan_comparison_chart"]
