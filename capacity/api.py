"""The public Python API: everything the command line does goes through here.

Examples
--------
>>> import capacity
>>> district = capacity.load_district()                      # embedded Haizhu data
>>> base = capacity.load_scenario("scenarios/baseline.toml")
>>> late = base.replace(name="tit_late", projects=capacity.ProjectChanges(delay=(("H2", 2),)))
>>> res = capacity.run([base, late], district, draws=0)
>>> res.plan_comparison                                      # doctest: +SKIP
>>> res.write("out")                                         # doctest: +SKIP
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from capacity.errors import InputError
from capacity.io.district import District, load_district
from capacity.results.result import Results as BaseResults
from capacity.results.result import from_runs
from capacity.results.tables import compare_table
from capacity.scenario import Scenario, load_scenario

if TYPE_CHECKING:  # pragma: no cover
    from capacity.explanation import Explanation
    from capacity.plot import PlotAccessor

REPO = Path(__file__).resolve().parents[1]


def default_scenario_path() -> Path:
    """The shipped baseline scenario (package data)."""
    from capacity.resources import scenario_path

    return scenario_path("baseline")


def _as_scenario(s: Scenario | str | Path) -> Scenario:
    return s if isinstance(s, Scenario) else load_scenario(s)


class Results(BaseResults):
    """Results of one or more scenarios on one district (see :class:`capacity.results.Results`).

    Adds the figures (:attr:`plot`) and :meth:`explain` to the tables, files and views of
    the labelled Dataset (:meth:`to_xarray`).
    """

    @property
    def plot(self) -> PlotAccessor:
        """Figures of these results (:class:`capacity.plot.PlotAccessor`; matplotlib loads on first use)."""
        from capacity.plot import PlotAccessor

        return PlotAccessor(self)

    def explain(self, *, area: str, stage: str, year: int, scenario: str | None = None) -> Explanation:
        """The calculation behind one cell of ``gap`` (default: first scenario).

        The totals and the projects are a selection of these results (of a deterministic
        run; with draws the scenario is run once more without draws); the cohorts and rates
        come from the model's inputs. Returns a :class:`capacity.explanation.Explanation`.
        """
        from capacity.explanation import explain_results

        res: Results = self
        if self.draws > 0:
            view = self.view(scenario)
            res = run([view.scenario], self.district)
        return explain_results(res, area=area, stage=stage, year=year, scenario=scenario)


class _Ticker:
    """Moves a progress bar to the number of draws a scenario has finished."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.done = 0

    def __call__(self, n: int) -> None:
        if self.bar is not None:
            self.bar.update(n - self.done)
            self.done = n


def run(
    scenarios: Sequence[Scenario | str | Path] | Scenario | str | Path | None = None,
    district: District | str | Path | None = None,
    *,
    draws: int = 0,
    seed: int = 0,
    progress: bool = False,
    scheduler: str = "threads",
) -> Results:
    """Run scenarios on a district.

    Parameters
    ----------
    scenarios : Scenario, path, or a sequence of them
        Default: ``scenarios/baseline.toml``.
    district : District or path, optional
        Default: the embedded Haizhu district.
    draws : int
        0 for one deterministic run; N for N Monte Carlo draws per scenario.
    seed : int
        Root seed; draw k sees the same random inputs in every scenario.
    progress : bool
        Show a progress bar (on standard error) for runs with draws.
    scheduler : str
        Where the projection's chunks of areas x draws run (:mod:`capacity.execute`):
        ``synchronous``, ``threads`` (default), ``processes`` or a ``dask.distributed``
        scheduler address; the results are the same bytes whatever the scheduler.

    Returns
    -------
    Results
    """
    from capacity import model
    from capacity.execute import check_scheduler

    check_scheduler(scheduler)
    if scenarios is None:
        scenarios = [default_scenario_path()]
    elif isinstance(scenarios, (Scenario, str, Path)):
        scenarios = [scenarios]
    loaded = [_as_scenario(s) for s in scenarios]
    names = [s.name for s in loaded]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError.one(loaded[names.index(dupes[0])].source or "<scenario>", "key name", "",
                             f"expected distinct scenario names, found '{dupes[0]}' twice")
    if not isinstance(district, District):
        district = load_district(district)
    from capacity.scenario_check import check_draws, check_scenario

    for s in loaded:  # every check before any work
        check_scenario(district, s)
    check_draws(district, loaded, draws)
    start = time.perf_counter()
    runs = []
    bar = None
    if progress and draws > 0:
        from tqdm import tqdm

        bar = tqdm(total=draws * len(loaded), unit="draw", desc="projecting", leave=False)
    for s in loaded:
        runs.append(model.run(district, s, draws=draws, seed=seed, progress=_Ticker(bar), scheduler=scheduler))
    if bar is not None:
        bar.close()
    return from_runs(Results, runs, time.perf_counter() - start)


def compare(results: BaseResults, base: str | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``base`` (default: the first).

    A reduction of the results' Dataset (:func:`capacity.results.tables.compare_table`):
    with draws, differences are taken draw by draw (common random numbers make them
    paired) and summarised by mean, P10, P50, P90; ``p_worse`` is the share of draws in
    which the scenario's shortfall is larger than the base's.

    Returns
    -------
    DataFrame
        scenario, base, year, area_code, stage, and for demand, places, gap and
        shortfall: ``d_<name>`` (mean difference) and, with draws, ``d_<name>_p10/p50/p90``.
    """
    return compare_table(results.to_xarray(), base)


__all__ = ["Results", "run", "compare", "load_district", "load_scenario", "default_scenario_path"]
