"""Maps, charts and figure files for planners.

Every function takes a :class:`capacity.api.Results` and returns a
:class:`matplotlib.figure.Figure` built without pyplot, so it works the same in a notebook
(the figure shows itself as its return value) and headless (no display needed). Save one
with :func:`save_figure` (PNG at print resolution, SVG and PDF, written atomically).

Maps (:mod:`capacity.plot.maps`)
    :func:`gap_map`, :func:`small_multiples`, :func:`shortfall_probability_map`.
Charts (:mod:`capacity.plot.charts`)
    :func:`demand_vs_places`, :func:`schedule_timeline`, :func:`plan_comparison_chart`.

:class:`PlotAccessor` bundles them for one :class:`~capacity.api.Results`::

    res = capacity.run(draws=200)
    plot = PlotAccessor(res)          # or res.plot, once wired
    fig = plot.gap_map("primary", 2025)

matplotlib is imported only when a figure is drawn, never when this package is imported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.api import Results
    from capacity.model import RunResult

#: Formats written by :func:`save_figure` by default.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: PNG resolution for print.
PRINT_DPI = 300

STAGE_LABELS = {"kindergarten": "Kindergarten", "primary": "Primary", "junior": "Junior secondary",
                "senior": "Senior secondary"}


def stage_label(stage: str) -> str:
    """Display name of a stage (``junior`` -> ``Junior secondary``)."""
    return STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())


def pick_run(results: Results, scenario: str | None = None) -> RunResult:
    """The run of ``scenario`` (default: the first)."""
    if scenario is None:
        return results.runs[0]
    try:
        return results[scenario]
    except KeyError:
        raise ValueError(f"expected one of the scenarios {results.scenarios}, found {scenario!r}") from None


def check_stage(run: RunResult, stage: str) -> str:
    if stage not in run.district.stage_names:
        raise ValueError(f"expected a stage of the district ({', '.join(run.district.stage_names)}), found {stage!r}")
    return stage


def check_year(run: RunResult, year: int) -> int:
    years = [int(y) for y in run.years]
    if int(year) not in years:
        raise ValueError(f"expected a year {years[0]}-{years[-1]}, found {year!r}")
    return int(year)


def target_year(run: RunResult) -> int:
    """The plan's target year (2025 for Haizhu) if within the horizon, else base year + 5."""
    needs = run.district.plan_needs
    years = [int(y) for y in run.years]
    if needs is not None and len(needs):
        year = int(needs["year"].max())
        if year in years:
            return year
    return years[min(5, len(years) - 1)]


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Iterable[str] = FORMATS,
                dpi: int = PRINT_DPI) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<format>`` for each format; returns the paths.

    The files are drawn into a temporary folder inside ``out_dir`` and then moved into
    place one by one, so a failed drawing leaves no half-written file, and other files in
    ``out_dir`` (e.g. the CSV outputs of ``capacity run``) are kept. PDF and SVG carry no
    creation date and SVG ids use a fixed salt, so the same figure gives the same bytes.
    """
    import matplotlib

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".plot-", dir=out))
    written = []
    try:
        drawn = []
        with matplotlib.rc_context({"svg.hashsalt": "capacity", "pdf.compression": 6}):
            for fmt in formats:
                path = tmp / f"{stem}.{fmt}"
                meta: dict[str, Any] | None = {"png": {"Software": None}, "svg": {"Date": None},
                                                "pdf": {"CreationDate": None}}.get(fmt)
                fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)
                drawn.append(path)
        for path in drawn:
            target = out / path.name
            os.replace(path, target)
            written.append(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return written


def move_into(tmp: Path, out: Path) -> list[Path]:
    """Move every file of ``tmp`` into ``out`` (created if need be); returns the new paths."""
    out.mkdir(parents=True, exist_ok=True)
    moved = []
    for path in sorted(tmp.iterdir()):
        target = out / path.name
        os.replace(path, target)
        moved.append(target)
    return moved


class PlotAccessor:
    """Figures of one :class:`~capacity.api.Results`; every method returns a Figure.

    Wired as ``Results.plot``; ``scenario`` defaults to the first scenario of the results.
    """

    def __init__(self, results: Results):
        self._results = results

    def gap_map(self, stage: str, year: int | None = None, scenario: str | None = None, **kw: Any) -> Figure:
        """Choropleth of the gap per street (shortfall red, surplus blue) with the projects."""
        from capacity.plot.maps import gap_map

        return gap_map(self._results, stage, year, scenario=scenario, **kw)

    def small_multiples(self, stages: Sequence[str] | str | None = None, years: Sequence[int] | int | None = None,
                        scenario: str | None = None, **kw: Any) -> Figure:
        """Gap maps side by side: every stage in one year, or one stage over several years."""
        from capacity.plot.maps import small_multiples

        return small_multiples(self._results, stages=stages, years=years, scenario=scenario, **kw)

    def shortfall_probability_map(self, stage: str | None = None, year: int | None = None,
                                  scenario: str | None = None, **kw: Any) -> Figure:
        """Share of draws with a shortfall per street (needs draws)."""
        from capacity.plot.maps import shortfall_probability_map

        return shortfall_probability_map(self._results, stage, year, scenario=scenario, **kw)

    def demand_vs_places(self, stage: str | None = None, area: str | None = None, scenario: str | None = None,
                         **kw: Any) -> Figure:
        """Demand against places over the years (district or one street), P10-P90 bands."""
        from capacity.plot.charts import demand_vs_places

        return demand_vs_places(self._results, stage, area=area, scenario=scenario, **kw)

    def schedule_timeline(self, scenario: str | None = None, **kw: Any) -> Figure:
        """When each project opens against when its places are needed."""
        from capacity.plot.charts import schedule_timeline

        return schedule_timeline(self._results, scenario=scenario, **kw)

    def plan_comparison(self, scenario: str | None = None, **kw: Any) -> Figure:
        """The plan's stated need and places against the projected need, per stage."""
        from capacity.plot.charts import plan_comparison_chart

        return plan_comparison_chart(self._results, scenario=scenario, **kw)

    def __repr__(self) -> str:
        return f"<PlotAccessor of {self._results!r}>"


def __getattr__(name: str) -> Any:
    lazy = {"gap_map": "maps", "small_multiples": "maps", "shortfall_probability_map": "maps",
            "demand_vs_places": "charts", "schedule_timeline": "charts", "plan_comparison_chart": "charts"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(f"capacity.plot.{lazy[name]}"), name)
    raise AttributeError(f"module 'capacity.plot' has no attribute {name!r}")


__all__ = ["FORMATS", "PRINT_DPI", "PlotAccessor", "check_stage", "check_year", "demand_vs_places", "gap_map",
           "pick_run", "plan_comparison_chart", "save_figure", "schedule_timeline", "shortfall_probability_map",
           "small_multiples", "stage_label", "target_year"]
