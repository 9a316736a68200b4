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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from capacity.errors import InputError
from capacity.io.district import District, load_district
from capacity.model import RunResult
from capacity.scenario import Scenario, load_scenario

REPO = Path(__file__).resolve().parents[1]


def default_scenario_path() -> Path:
    """The shipped baseline scenario (package data)."""
    from capacity.resources import scenario_path

    return scenario_path("baseline")


def _as_scenario(s: Scenario | str | Path) -> Scenario:
    return s if isinstance(s, Scenario) else load_scenario(s)


@dataclass
class Results:
    """Results of one or more scenarios on one district.

    Attributes
    ----------
    runs : list of RunResult
        One per scenario, with the arrays in the core's axis order.
    elapsed : float
        Seconds the runs took.
    """

    runs: list[RunResult]
    elapsed: float = 0.0
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def _table(self, name: str) -> pd.DataFrame:
        from capacity import results as r

        if name not in self._tables:
            make = {"gap": r.gap_table, "plan_comparison": r.plan_comparison_table,
                    "indicators": r.indicators_table, "schedule": r.schedule_table}[name]
            self._tables[name] = pd.concat([make(run) for run in self.runs], ignore_index=True)
        return self._tables[name]

    @property
    def gap(self) -> pd.DataFrame:
        """Tidy gap table: scenario, year, area_code, area_name, stage, demand, places, gap, ..."""
        return self._table("gap")

    @property
    def plan_comparison(self) -> pd.DataFrame:
        """One row per scenario and stage: the plan's need against the projection."""
        return self._table("plan_comparison")

    @property
    def indicators(self) -> pd.DataFrame:
        """The plan's indicators projected year by year."""
        return self._table("indicators")

    @property
    def schedule(self) -> pd.DataFrame:
        """Each project against the year its places are needed; unaddressed shortfalls."""
        return self._table("schedule")

    @property
    def plot(self) -> Any:
        """Figures of these results (:class:`capacity.plot.PlotAccessor`; matplotlib loads on first use)."""
        from capacity.plot import PlotAccessor

        return PlotAccessor(self)

    @property
    def scenarios(self) -> list[str]:
        return [r.scenario.name for r in self.runs]

    @property
    def meta(self) -> dict[str, Any]:
        """What produced the results (version, scenarios, seed, inputs' hashes)."""
        from capacity import results as r

        return r.meta_record(self.runs, self.elapsed, {})

    def explain(self, *, area: str, stage: str, year: int, scenario: str | None = None) -> Any:
        """The calculation behind one cell of ``gap`` (deterministic; default: first scenario).

        Returns a :class:`capacity.explain.Explanation` (prints as text in a notebook).
        """
        from capacity.explain import explain

        run = self[scenario] if scenario is not None else self.runs[0]
        return explain(run.district, run.scenario, area=area, stage=stage, year=year)

    def files(self) -> dict[str, bytes]:
        """Every output file as bytes (see :func:`capacity.results.output_files`)."""
        from capacity import results as r

        return r.output_files(self.runs, self.elapsed)

    def write(self, out_dir: str | Path) -> Path:
        """Write the outputs into ``out_dir`` atomically; returns the folder."""
        from capacity import results as r

        out = Path(out_dir)
        r.write_atomic(out, self.files())
        return out

    def __getitem__(self, scenario: str) -> RunResult:
        for r in self.runs:
            if r.scenario.name == scenario:
                return r
        raise KeyError(scenario)

    def __repr__(self) -> str:
        first = self.runs[0]
        return (f"<Results {len(self.runs)} scenario(s) {self.scenarios} on {first.district.name}, "
                f"{first.years[0]}-{first.years[-1]}, draws={first.draws}, seed={first.seed}>")

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.__repr__()[1:-1]}</b></p>"
        return head + self.plan_comparison.to_html(index=False, float_format=lambda v: f"{v:,.0f}")


def run(
    scenarios: Sequence[Scenario | str | Path] | Scenario | str | Path | None = None,
    district: District | str | Path | None = None,
    *,
    draws: int = 0,
    seed: int = 0,
    progress: bool = False,
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

    Returns
    -------
    Results
    """
    from capacity import model

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
    for s in loaded:  # every check before any work
        model.check_scenario(district, s)
    start = time.perf_counter()
    runs = []
    bar = None
    if progress and draws > 0:
        from tqdm import tqdm

        bar = tqdm(total=draws * len(loaded), unit="draw", desc="projecting", leave=False)
    for s in loaded:
        def tick(n: int, done: list[int] = [0]) -> None:  # noqa: B006 -- one counter per scenario
            if bar is not None:
                bar.update(n - done[0])
                done[0] = n

        runs.append(model.run(district, s, draws=draws, seed=seed, progress=tick))
    if bar is not None:
        bar.close()
    return Results(runs, time.perf_counter() - start)


def compare(results: Results, base: str | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``base`` (default: the first).

    With draws, differences are taken draw by draw (common random numbers make them
    paired) and summarised by mean, P10, P50, P90; ``p_worse`` is the share of draws in
    which the scenario's district shortfall is larger than the base's.

    Returns
    -------
    DataFrame
        scenario, base, year, area_code, stage, and for demand, places, gap and
        shortfall: ``d_<name>`` (mean difference) and, with draws, ``d_<name>_p10/p50/p90``.
    """
    from capacity.results import QUANTILES

    base_name = base or results.runs[0].scenario.name
    b = results[base_name]
    frames = []
    for r in results.runs:
        if r.scenario.name == base_name:
            continue
        if r.gap.demand.shape != b.gap.demand.shape:
            raise InputError.one(r.scenario.source or r.scenario.name, "key horizon", "",
                                 f"expected the same years and draws as '{base_name}' to compare")
        d = r.district
        codes = list(d.area_codes) + [d.code]
        idx = pd.MultiIndex.from_product([r.years, codes, list(d.stage_names)], names=["year", "area_code", "stage"])
        cols: dict[str, Any] = {}
        for name in ("demand", "places", "gap", "shortfall"):
            a1 = getattr(r.gap, name)
            a0 = getattr(b.gap, name)
            diff = np.concatenate([a1 - a0, (a1.sum(axis=1) - a0.sum(axis=1))[:, None]], axis=1)
            cols[f"d_{name}"] = diff.mean(axis=-1).reshape(-1)
            if r.draws > 0:
                for q in QUANTILES:
                    cols[f"d_{name}_p{q}"] = np.percentile(diff, q, axis=-1).reshape(-1)
        if r.draws > 0:
            s1 = np.concatenate([r.gap.shortfall, r.gap.district_shortfall[:, None]], axis=1)
            s0 = np.concatenate([b.gap.shortfall, b.gap.district_shortfall[:, None]], axis=1)
            cols["p_worse"] = (s1 > s0 + 1e-9).mean(axis=-1).reshape(-1)
        f = pd.DataFrame(cols, index=idx).reset_index()
        f.insert(0, "base", base_name)
        f.insert(0, "scenario", r.scenario.name)
        frames.append(f)
    if not frames:
        raise InputError.one("<compare>", "", "", "expected at least two scenarios to compare")
    return pd.concat(frames, ignore_index=True)


__all__ = ["Results", "run", "compare", "load_district", "load_scenario", "default_scenario_path"]
