"""The results of a run: one labelled Dataset and everything derived from it.

:class:`Results` holds the :class:`xarray.Dataset` of :mod:`capacity.results.dataset` (the
single source of truth), the district and the scenarios as run. Its tables, files and
per-scenario views are selections and reductions of the Dataset. :class:`capacity.api.Results`
adds the figures (``plot``) and ``explain``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

import capacity.results.tables as tb
from capacity import plan
from capacity.atomic import InputPaths
from capacity.io.district import District
from capacity.results.dataset import check_finite, select
from capacity.results.write import FORMATS, meta_record, output_files
from capacity.scenario import Scenario

if TYPE_CHECKING:  # pragma: no cover
    from capacity.model import RunResult

R = TypeVar("R", bound="Results")


@dataclass(frozen=True)
class ScenarioView:
    """One scenario of the results: its Dataset selection plus the district and the scenario as run.

    Attributes
    ----------
    ds : Dataset
        :func:`capacity.results.dataset.select` of the scenario (its years and project rows).
    district : District
    scenario : Scenario
    """

    ds: xr.Dataset
    district: District
    scenario: Scenario

    @property
    def name(self) -> str:
        return str(self.ds["scenario"].values)

    @property
    def years(self) -> NDArray[np.int64]:
        return self.ds["year"].to_numpy()

    @property
    def draws(self) -> int:
        return int(self.ds.attrs["draws"])

    @property
    def seed(self) -> int:
        return int(self.ds.attrs["seed"])

    @property
    def horizon(self) -> int:
        return int(self.years[-1])

    def stage_label(self, stage: str) -> str:
        """Display name of a stage (the Dataset's ``stage_label`` coordinate)."""
        labels = dict(zip((str(s) for s in self.ds["stage"].values), (str(v) for v in self.ds["stage_label"].values)))
        return labels.get(stage, stage.replace("_", " ").title())

    def target_year(self, stage: str | None = None) -> int:
        """The plan's target year (:func:`capacity.plan.target_year`)."""
        return plan.target_year(self.district, int(self.years[0]), self.horizon, stage)

    def projects(self) -> pd.DataFrame:
        """The scenario's project rows: labels, median opening year, P10/P90 opening, median needed year, status shares."""
        frame = tb.project_frame(self.ds)
        opening = self.ds["opening_year"].values
        needed = np.where(self.ds["needed_year"].values >= 0, self.ds["needed_year"].values, np.nan).astype(float)
        frame["opening"] = np.median(opening, axis=1)
        frame["opening_p10"] = np.percentile(opening, 10, axis=1)
        frame["opening_p90"] = np.percentile(opening, 90, axis=1)
        med = np.full(len(frame), np.nan)
        known = np.isfinite(needed).mean(axis=1) > 0.5
        for i in np.flatnonzero(known):
            med[i] = np.nanmedian(needed[i])
        frame["needed"] = med
        frame["cancelled_share"] = self.ds["cancelled"].values.astype(float).mean(axis=1)
        return frame


@dataclass
class Results:
    """Results of one or more scenarios on one district.

    Attributes
    ----------
    dataset : xarray.Dataset
        The labelled result (see :mod:`capacity.results.dataset`); every output derives from it.
    district : District
    scenario_settings : list of Scenario
        The scenarios as run, in the Dataset's order.
    elapsed : float
        Seconds the runs took.
    runs : list of RunResult
        The model's raw arrays, kept for scripts; no output reads them.
    """

    dataset: xr.Dataset
    district: District
    scenario_settings: list[Scenario]
    elapsed: float = 0.0
    runs: list[RunResult] = field(default_factory=list, repr=False)
    _tables: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    def to_xarray(self) -> xr.Dataset:
        """The labelled result (dims ``scenario, year, area, stage, sector, draw, project, phase``).

        ``demand``, ``gap``, ``shortfall`` and ``surplus`` are computed when read (selections
        are free; values are computed for the cells read, every time); ``.load()`` keeps
        them (see :mod:`capacity.results.lazy`).
        """
        return self.dataset

    def view(self, scenario: str | None = None) -> ScenarioView:
        """One scenario (default: the first) as a :class:`ScenarioView`.

        Raises
        ------
        ValueError
            If the scenario is not one of the results'.
        """
        name = self.scenarios[0] if scenario is None else scenario
        if name not in self.scenarios:
            raise ValueError(f"expected one of the scenarios {self.scenarios}, found {scenario!r}")
        return ScenarioView(select(self.dataset, name), self.district, self.scenario_settings[self.scenarios.index(name)])

    def views(self) -> list[ScenarioView]:
        """Every scenario as a :class:`ScenarioView`, in order."""
        return [self.view(s) for s in self.scenarios]

    def _table(self, name: str) -> pd.DataFrame:
        if name not in self._tables:
            d = self.district
            make = {"gap": tb.gap_table, "schedule": tb.schedule_table,
                    "plan_comparison": lambda ds: tb.plan_comparison_table(ds, d),
                    "indicators": lambda ds: tb.indicators_table(ds, d)}[name]
            self._tables[name] = tb.per_scenario(self.dataset, make)
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
    def observed_check(self) -> pd.DataFrame:
        """Each figure of ``observed.csv`` beside the projected one (:func:`capacity.results.observed.observed_check`)."""
        from capacity.results.observed import observed_check

        return observed_check(self.dataset, self.district)

    @property
    def scenarios(self) -> list[str]:
        """Scenario names, in order."""
        return [str(s) for s in self.dataset["scenario"].values]

    @property
    def draws(self) -> int:
        return int(self.dataset.attrs["draws"])

    @property
    def seed(self) -> int:
        return int(self.dataset.attrs["seed"])

    @property
    def meta(self) -> dict[str, Any]:
        """What produced the results (version, scenarios, seed, inputs' hashes)."""
        return meta_record(self.dataset, self.district, self.scenario_settings, self.elapsed, {})

    def largest_gaps(self, year: int, n: int = 5) -> pd.DataFrame:
        """The ``n`` largest street shortfalls and surpluses of every scenario in ``year``."""
        gap = self.gap
        frames = [tb.largest_in(gap[gap["scenario"] == v.name], year, n) for v in self.views()
                  if year in set(int(y) for y in v.years)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()

    def files(self, format: str = "csv") -> dict[str, bytes]:
        """Every output file as bytes.

        Parameters
        ----------
        format : {"csv", "netcdf"}
            ``csv``: ``gap.csv``, ``plan_comparison.csv``, ``indicators.csv``,
            ``schedule.csv`` [, ``observed_check.csv`` with ``observed.csv``] and ``meta.json``;
            ``netcdf`` adds ``results.nc``.
        """
        if format not in FORMATS:
            raise ValueError(f"expected a format of {', '.join(FORMATS)}, found {format!r}")
        check_finite(self.dataset)
        tables = {name: self._table(name) for name in ("gap", "plan_comparison", "indicators", "schedule")}
        if self.district.observed is not None:
            from capacity.results.observed import observed_csv

            tables["observed_check"] = observed_csv(self.observed_check)
        return output_files(tables, lambda hashes: meta_record(self.dataset, self.district, self.scenario_settings,
                                                               self.elapsed, hashes),
                            self.dataset if format == "netcdf" else None)

    def write(self, out_dir: str | Path, format: str = "csv") -> Path:
        """Write the outputs into ``out_dir``; returns the folder (see :meth:`files`).

        Each file is written atomically and ``meta.json`` last (:func:`capacity.atomic.write_files`);
        other files in the folder are left alone. The folder may not be, contain or lie in
        the district folder, and no output may replace a scenario file.
        """
        from capacity.atomic import write_files

        return write_files(out_dir, self.files(format), **self.input_paths())

    def input_paths(self) -> InputPaths:
        """The district folder and scenario files these results were read from.

        Returns
        -------
        dict
            ``input_folders`` and ``input_files``, as :func:`capacity.atomic.write_files` takes them.
        """
        files = [Path(s.source) for s in self.scenario_settings if s.source]
        return InputPaths(input_folders=[self.district.path], input_files=files)

    def to_netcdf(self, path: str | Path) -> Path:
        """Write the Dataset as netCDF (same inputs and seed give the same bytes); returns the path."""
        from capacity.results.write import netcdf_bytes

        path = Path(path)
        data = netcdf_bytes(self.dataset)
        tmp = path.with_name(f".{path.name}.tmp-{time.time_ns()}")
        tmp.write_bytes(data)
        tmp.replace(path)
        return path

    def __getitem__(self: R, scenario: str) -> R:
        """The results of one scenario (a selection of the Dataset)."""
        if scenario not in self.scenarios:
            raise KeyError(scenario)
        k = self.scenarios.index(scenario)
        runs = [self.runs[k]] if len(self.runs) == len(self.scenarios) else []
        return type(self)(self.dataset.sel(scenario=[scenario]), self.district, [self.scenario_settings[k]],
                          self.elapsed, runs)

    def __repr__(self) -> str:
        years = self.dataset["year"].values
        return (f"<Results {len(self.scenarios)} scenario(s) {self.scenarios} on {self.district.name}, "
                f"{years[0]}-{years[-1]}, draws={self.draws}, seed={self.seed}>")

    def _repr_html_(self) -> str:
        head = f"<p><b>{self.__repr__()[1:-1]}</b></p>"
        return head + self.plan_comparison.to_html(index=False, float_format=lambda v: f"{v:,.0f}")


def from_runs(cls: type[R], runs: Sequence[RunResult], elapsed: float = 0.0) -> R:
    """Build results of class ``cls`` from the model's runs (the Dataset is built once here)."""
    from capacity.results.dataset import build_dataset

    first = runs[0]
    return cls(build_dataset(runs), first.district, [r.scenario for r in runs], elapsed, list(runs))


__all__ = ["Results", "ScenarioView", "from_runs"]
