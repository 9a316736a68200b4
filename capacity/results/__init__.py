"""Results: one labelled Dataset and the tables, files and views derived from it.

Modules
-------
:mod:`capacity.results.dataset`
    :func:`build_dataset` -- the :class:`xarray.Dataset` of a run (the only reader of the
    model's arrays); :func:`select` -- one scenario of it.
:mod:`capacity.results.tables`
    The tidy tables (``gap``, ``schedule``, ``compare``; ``plan_comparison`` and
    ``indicators`` come from :mod:`capacity.plan`).
:mod:`capacity.results.write`
    CSV and netCDF bytes, ``meta.json``, atomic writing.
:mod:`capacity.results.result`
    :class:`Results` and :class:`ScenarioView`.
"""

from __future__ import annotations

from capacity.results.dataset import build_dataset, select
from capacity.results.result import Results, ScenarioView, from_runs
from capacity.results.tables import (
    compare_table,
    gap_table,
    indicators_table,
    largest_gaps,
    plan_comparison_table,
    schedule_table,
)
from capacity.results.write import FLOAT_FORMAT, csv_bytes, estimates, meta_record, netcdf_bytes
from capacity.stats import QUANTILES

__all__ = ["FLOAT_FORMAT", "QUANTILES", "Results", "ScenarioView", "build_dataset", "compare_table", "csv_bytes",
           "estimates", "from_runs", "gap_table", "indicators_table", "largest_gaps", "meta_record", "netcdf_bytes",
           "plan_comparison_table", "schedule_table", "select"]
