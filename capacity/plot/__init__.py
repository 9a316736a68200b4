"""Maps, charts and figure files for planners.

Every function takes a :class:`capacity.results.Results` (what :func:`capacity.run` returns) and returns a
:class:`matplotlib.figure.Figure` built without pyplot, so it works the same in a notebook
(the figure shows itself as its return value) and headless (no display needed). Save one
with :func:`save_figure` (PNG at print resolution, SVG and PDF, written atomically).

Maps (:mod:`capacity.plot.maps`)
    :func:`gap_map`, :func:`small_multiples`, :func:`shortfall_probability_map`.
Charts (:mod:`capacity.plot.charts`)
    :func:`demand_vs_places`, :func:`schedule_timeline`, :func:`plan_comparison_chart`.

:class:`PlotAccessor` bundles them for one :class:`~capacity.api.Results`::

    res = capacity.run(draws=200)
    plot = PlotAccessor(res)          # or res.plot
    fig = plot.gap_map("primary")     # the plan's target year

matplotlib is imported only when a figure is drawn, never when this package is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from capacity.plot.common import (
    FORMATS,
    PRINT_DPI,
    check_stage,
    check_year,
    pick_run,
    save_figure,
    stage_colour,
    target_year,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.results.result import Results


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
           "pick_run", "plan_comparison_chart", "save_figure", "schedule_timeline",
           "shortfall_probability_map", "small_multiples", "stage_colour", "target_year"]
