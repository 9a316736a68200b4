"""Helpers shared by the maps and charts: choosing a scenario, stage and year; saving figures.

Everything a figure shows comes from the results' Dataset through a
:class:`~capacity.results.ScenarioView` (:meth:`capacity.results.Results.view`); stage
labels are the Dataset's ``stage_label`` coordinate (from the district's stages) and the
default year is the plan's target year (:func:`capacity.plan.target_year`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

    from capacity.io.district import District
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


def stage_label(run: ScenarioView, stage: str) -> str:
    """Display name of a stage in the language in force (:func:`capacity.i18n.stage_name`)."""
    from capacity.i18n import stage_name

    return stage_name(run.stage_label(stage), stage)


def district_text(district: District) -> str:
    """Every name of the district a figure may draw: district, streets, projects (for the font check)."""
    parts = [district.name_zh, *map(str, district.areas["name_zh"])]
    if "name_zh" in district.projects:
        parts += [str(v) for v in district.projects["name_zh"]]
    return "".join(parts)


@contextlib.contextmanager
def language(district: District, lang: str | None) -> Iterator[str]:
    """Draw in ``lang`` (default: the district's language, else the one in force).

    Inside the block, :func:`capacity.i18n.tr` speaks that language and, for Chinese, every
    text is set in the CJK font (:func:`capacity.plot.fonts.rc`), checked first to draw
    every name of the district (else :class:`~capacity.errors.InputError`: exit 2 with the fix).
    """
    import logging

    import matplotlib

    from capacity import i18n
    from capacity.plot import fonts

    chosen = i18n.resolve(lang, district)
    if chosen == "zh":
        fonts.require(fonts.PROBE + district_text(district))
    # the CJK font has one weight: its bold titles are drawn regular, which need not be said each time
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    with i18n.use(chosen), matplotlib.rc_context(fonts.rc(chosen)):  # type: ignore[arg-type]
        yield chosen


def in_language(func: Callable[..., Figure]) -> Callable[..., Figure]:
    """Give a figure function ``(results, ...)`` a keyword ``lang`` ("en", "zh"; default the district's)."""
    import functools

    @functools.wraps(func)
    def wrapper(results: Results, *args: Any, lang: str | None = None, **kw: Any) -> Figure:
        with language(results.district, lang):
            return func(results, *args, **kw)

    return wrapper


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
            with matplotlib.rc_context({"svg.hashsalt": "capacity", "pdf.compression": 6, "pdf.fonttype": 42}):
                fig.savefig(path, format=fmt, dpi=dpi, metadata=meta)

        return draw

    files = {f"{stem}.{fmt}": drawer(fmt) for fmt in formats}
    write_files(out_dir, files, last=None)
    return [Path(out_dir) / name for name in files]


__all__ = ["FORMATS", "PRINT_DPI", "STAGE_COLOURS", "check_stage", "check_year", "district_text", "in_language", "language",
           "pick_run", "save_figure", "stage_colour", "stage_label", "target_year"]
