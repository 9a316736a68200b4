"""Helpers shared by the maps and charts: choosing a scenario, stage and year; saving figures.

Everything a figure shows comes from the results' Dataset through a
:class:`~capacity.results.ScenarioView` (:meth:`capacity.results.Results.view`); stage
labels are the Dataset's ``stage_label`` coordinate (from the district's stages) and the
default year is the plan's target year (:func:`capacity.plan.target_year`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.results.result import Results, ScenarioView

#: Formats written by :func:`save_figure` by default.
FORMATS: tuple[str, ...] = ("png", "svg", "pdf")

#: PNG resolution for print.
PRINT_DPI = 300

STAGE_COLOURS = ("#66a61e", "#1f78b4", "#7570b3", "#e7298a", "#e6ab02", "#a6761d", "#666666")
"""Colours of the stages, in the district's stage order."""


def stage_colour(run: ScenarioView, stage: str) -> str:
    """Colour of a stage: by its position among the district's stages."""
    names = list(run.district.stage_names)
    return STAGE_COLOURS[names.index(stage) % len(STAGE_COLOURS)] if stage in names else "#666666"


def pick_run(results: Results, scenario: str | None = None) -> ScenarioView:
    """The view of ``scenario`` (default: the first).

    Raises
    ------
    ValueError
        If ``scenario`` is not one of the results' scenarios.
    """
    return results.view(scenario)


def check_stage(run: ScenarioView, stage: str) -> str:
    """``stage`` if it is a stage of the district, else ValueError."""
    if stage not in run.district.stage_names:
        raise ValueError(f"expected a stage of the district ({', '.join(run.district.stage_names)}), found {stage!r}")
    return stage


def check_year(run: ScenarioView, year: int) -> int:
    """``year`` if it is a year of the run, else ValueError."""
    years = [int(y) for y in run.years]
    if int(year) not in years:
        raise ValueError(f"expected a year {years[0]}-{years[-1]}, found {year!r}")
    return int(year)


def target_year(run: ScenarioView) -> int:
    """The plan's target year of the district (:func:`capacity.plan.target_year`)."""
    return run.target_year()


def save_figure(fig: Figure, out_dir: str | Path, stem: str, formats: Iterable[str] = FORMATS,
                dpi: int = PRINT_DPI) -> list[Path]:
    """Write ``fig`` as ``out_dir/stem.<format>`` for each format; returns the paths.

    The files are drawn into a temporary folder inside ``out_dir`` and then moved into
    place one by one, so a failed drawing leaves no half-written file, and other files in
    ``out_dir`` (e.g. the CSV outputs of ``capacity run``) are kept. PDF and SVG carry no
    creation date and SVG ids use a fixed salt, so the same figure gives the same bytes.
    """
    import matplotlib

    from capacity.atomic import write_files

    def drawer(fmt: str) -> Callable[[Path], None]:
        meta: dict[str, Any] | None = {"png": {"Software": None}, "svg": {"Date": None},
                                        "pdf": {"CreationDate": None}}.get(fmt)

        def draw(path: Path) -> None:
            with matplotlib.rc_context({"svg.hashsalt": "capacity", "pdf.compression": 6}):
                fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)

        return draw

    files = {f"{stem}.{fmt}": drawer(fmt) for fmt in formats}
    write_files(out_dir, files, last=None)
    return [Path(out_dir) / name for name in files]


__all__ = ["FORMATS", "PRINT_DPI", "STAGE_COLOURS", "check_stage", "check_year", "pick_run", "save_figure",
           "stage_colour", "target_year"]
