"""The check of a run against what was observed (``observed.csv``): one row per observed figure and scenario.

Every projected figure is a selection of the labelled result (:mod:`capacity.results.dataset`):

* ``population``: ``population`` (all ages) of the area, or summed over the areas for the district;
* ``births``: ``births``, live births of the projection step ending in the year;
* ``enrolment``: ``demand`` of the stage, sectors summed (pupils enrolled);
* ``intake``: ``demand`` of the stage divided by its number of single ages (pupils in one grade);
* ``places``: ``places`` of the stage, sectors summed;
* ``public_share``: the stage's public demand over its demand, each summed over the areas (or of the area) before the ratio,
  per draw: :math:`S_d = \\sum_a D_{a,\\mathrm{public},d} / \\sum_a \\sum_k D_{a,k,d}` (a number in [0, 1]).

A figure by sex or single age, a year outside the projection, or an indicator the result
does not hold (``population`` and ``births`` are only there when the district has
``observed.csv``; not for demand taken from the plan) is listed with an empty projection and
the reason in ``note``. The difference is :math:`100\\,(P - O)/O` per cent (empty for
:math:`O = 0`); with draws, ``projected`` is the mean over draws and ``projected_p10`` /
``projected_p90`` give the spread.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from capacity.io.district import District
from capacity.io.models import OBSERVED_SHARES

__all__ = ["observed_check", "observed_csv", "observed_lines", "observed_summary", "observed_text"]

COLUMNS = ["scenario", "indicator", "area_code", "year", "stage", "sex", "age", "observed", "projected",
           "difference", "difference_pct", "source", "note"]


def _projected(ds: xr.Dataset, district: District, row: pd.Series) -> tuple[np.ndarray | None, str]:
    """The draws of the projected figure of one observed row, or None and why not."""
    indicator = str(row["indicator"])
    if row["sex"] or row["age"]:
        return None, "not projected by sex or single age"
    if int(row["year"]) not in set(int(y) for y in ds["year"].values):
        return None, "year outside the projection"
    variable = {"population": "population", "births": "births", "enrolment": "demand", "intake": "demand", "places": "places",
                "public_share": "demand"}[indicator]
    if variable not in ds:
        return None, f"{indicator} not in the result (no cohort projection)"
    var = ds[variable].sel(year=int(row["year"]))
    if indicator == "public_share":
        return _share(var.sel(stage=row["stage"]), str(row["area_code"]), indicator, int(row["year"]))
    if "sector" in var.dims:
        var = var.sum("sector")
    if "stage" in var.dims:
        if not row["stage"]:
            var = var.sum("stage")
        else:
            var = var.sel(stage=row["stage"])
            if indicator == "intake":
                st = district.stages.set_index("stage").loc[row["stage"]]
                var = var / (int(st["last_age"]) - int(st["first_age"]) + 1)
    elif row["stage"]:
        return None, f"{indicator} not projected by stage"
    var = var.sum("area", skipna=False) if row["area_code"] not in set(ds["area"].values) else var.sel(area=row["area_code"])
    values = np.asarray(var.values, dtype=float)
    if np.isnan(values).all():
        return None, f"{indicator} not projected for {row['year']}"
    return values, ""


def _share(demand: xr.DataArray, area: str, indicator: str, year: int) -> tuple[np.ndarray | None, str]:
    """The draws of the public share of one stage's demand (``area, sector, draw``), of an area or summed over the areas."""
    demand = demand.sel(area=area) if area in set(demand["area"].values) else demand.sum("area", skipna=False)
    public = np.asarray(demand.sel(sector="public").values, dtype=float)
    total = np.asarray(demand.sum("sector", skipna=False).values, dtype=float)
    if np.isnan(total).all() or not (total > 0).all():
        return None, f"{indicator} not projected for {year} (no demand)"
    return public / total, ""


def observed_check(ds: xr.Dataset, district: District) -> pd.DataFrame:
    """Each observed figure beside the projected one, per scenario (see the module docstring).

    Parameters
    ----------
    ds : Dataset
        The labelled result (one or more scenarios).
    district : District
        Its district; an empty table (the columns only) without ``observed.csv``.

    Returns
    -------
    DataFrame
        ``scenario, indicator, area_code, year, stage, sex, age, observed, projected,
        difference, difference_pct`` [``, projected_p10, projected_p90`` with draws]``, source, note``.
    """
    draws = int(ds.attrs.get("draws", 0))
    columns = COLUMNS[:9] + (["projected_p10", "projected_p90"] if draws else []) + COLUMNS[9:]
    obs = district.observed
    if obs is None:
        return pd.DataFrame(columns=columns)
    rows = []
    for scenario in ds["scenario"].values:
        one = ds.sel(scenario=scenario)
        for _, row in obs.iterrows():
            values, note = _projected(one, district, row)
            observed = float(row["value"])
            projected = float(values.mean()) if values is not None else np.nan
            out = {"scenario": str(scenario), **{k: row[k] for k in ("indicator", "area_code", "year", "stage", "sex", "age")},
                   "observed": observed, "projected": projected, "difference": projected - observed,
                   "difference_pct": 100.0 * (projected - observed) / observed if observed else np.nan,
                   "source": row["source"], "note": note}
            if draws:
                out["projected_p10"], out["projected_p90"] = (np.quantile(values, [0.1, 0.9]) if values is not None else (np.nan, np.nan))
            rows.append(out)
    return pd.DataFrame(rows, columns=columns)


#: Columns of the check that hold the figure itself (a share keeps six decimals in ``observed_check.csv``).
FIGURES = ["observed", "projected", "projected_p10", "projected_p90", "difference"]


def observed_csv(table: pd.DataFrame) -> pd.DataFrame:
    """The check as written to ``observed_check.csv``: a share's figures as text with six decimals, other rows as they are.

    The outputs' fixed format (two decimals) would round a share to whole per cent; counts keep it, so a table without
    shares is written exactly as before.
    """
    shares = table["indicator"].isin(OBSERVED_SHARES).to_numpy()
    if not shares.any():
        return table
    out = table.copy()
    for column in (c for c in FIGURES if c in out):
        values = out[column].to_numpy(dtype=float)
        out[column] = [("" if v != v else f"{v:.6f}" if share else f"{v:.2f}") for v, share in zip(values, shares)]
    return out


def observed_text(indicator: str, value: float) -> str:
    """A figure as text: a count with thousands separators, a share in per cent with two decimals, ``-`` when missing."""
    if value != value:
        return "-"
    return f"{100 * value:.2f} %" if indicator in OBSERVED_SHARES else f"{value:,.0f}"


def _figure(indicator: str, value: float) -> str:
    """:func:`observed_text` 12 wide, for the terminal."""
    return f"{observed_text(indicator, value):>12}"


def observed_summary(table: pd.DataFrame, n: int = 8) -> list[str]:
    """A few lines for the terminal: how many figures were checked and the largest differences of the first scenario."""
    if table.empty:
        return []
    first = table[table["scenario"] == table["scenario"].iloc[0]]
    known = first.dropna(subset=["difference_pct"])
    lines = [f"Check against observed.csv ({first['scenario'].iloc[0]}): {len(known)} of {len(first)} observed figures projected, "
             f"median |difference| {known['difference_pct'].abs().median():.1f} %" if len(known) else
             f"Check against observed.csv: none of {len(first)} observed figures projected"]
    for _, r in known.reindex(known["difference_pct"].abs().sort_values(ascending=False).index).head(n).iterrows():
        what = " ".join(str(x) for x in (r["indicator"], r["stage"], r["sex"], r["age"]) if x)
        lines.append(f"  {what:<22} {r['area_code']:<10} {r['year']}  observed {_figure(r['indicator'], r['observed'])}  "
                     f"projected {_figure(r['indicator'], r['projected'])}  {r['difference_pct']:+6.1f} %")
    return lines


def observed_lines(table: pd.DataFrame) -> list[str]:
    """Every row of the check as a line of text (the report's page), scenario by scenario."""
    lines: list[str] = []
    for scenario, rows in table.groupby("scenario", sort=False):
        lines += [f"scenario '{scenario}'", f"  {'indicator':<22} {'area':<10} year  {'observed':>12}  {'projected':>12}  difference"]
        for _, r in rows.iterrows():
            what = " ".join(str(x) for x in (r["indicator"], r["stage"], r["sex"], r["age"]) if x)
            diff = f"{r['difference_pct']:+6.1f} %" if r["difference_pct"] == r["difference_pct"] else str(r["note"])
            lines.append(f"  {what:<22} {r['area_code']:<10} {r['year']}  {_figure(r['indicator'], r['observed'])}  "
                         f"{_figure(r['indicator'], r['projected'])}  {diff}")
        lines.append("")
    return lines
