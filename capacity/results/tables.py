"""Tidy long tables, each a reduction of one scenario's selection of the results' Dataset.

``gap``
    scenario, year, area_code, area_name, stage, demand, places, gap, shortfall, surplus,
    demand_public, places_public, gap_public [, shortfall_after_transport]
    [, demand_p10, demand_p50, demand_p90, places_p10 ... gap_p90, p_shortfall], level.
    ``level`` is ``area`` for a street, ``district`` for a district's own rows and
    ``region`` for the folder's row when it holds several districts
    (:mod:`capacity.results.levels`; ``p_shortfall`` of a district or region is the chance
    that at least one of its streets is short). A district or region is an area of its own
    (its code, e.g. 440105) whose shortfall and surplus are the sums over its areas (no
    offsetting) and whose gap is the net sum. With draws, the value columns are means over
    draws, ``*_pNN`` are quantiles and ``p_shortfall`` is the share of draws with a
    shortfall.
``plan_comparison``, ``indicators``
    The plan's own figures: see :mod:`capacity.plan`.
``schedule``
    one row per project and stage (status against the year its places are first needed),
    plus one ``unaddressed`` row per area and stage with a shortfall after all projects.
``compare``
    Paired differences between scenarios (:func:`compare_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from numpy.typing import NDArray

from capacity import plan
from capacity.core.schedule import STATUS
from capacity.errors import InputError
from capacity.io.district import District
from capacity.results.dataset import AREA_STAGE, SECTORED, select, values, year_pieces
from capacity.results.levels import Aggregate, aggregates, sum_over
from capacity.stats import QUANTILES, THRESHOLD, point


def _aggregates(ds: xr.Dataset) -> list[Aggregate]:
    return aggregates([str(a) for a in ds["area"].values], str(ds["district_code"].values))


def _with_levels(per_area: NDArray[np.float64], draws: int, rows: Sequence[Aggregate], quantiles: bool = False,
                 total: Callable[[slice | NDArray[np.intp]], NDArray[np.float64]] | None = None,
                 scratch: bool = False) -> dict[str, NDArray[np.float64]]:
    """Point value (and quantiles) over draws per (year, area + aggregate, stage).

    Each aggregate row (:mod:`capacity.results.levels`) is ``total(index)`` (default: the
    sum over its areas, no-offset for shortfall and surplus). The summaries are taken over
    the areas and the aggregates separately, so no (year, area + rows, stage, draw) copy is
    made. With ``scratch``, the quantiles reorder ``per_area`` in place (after its mean and
    sums are taken) instead of a copy of it: the same numbers, one array fewer.
    """
    sums = np.stack([sum_over(per_area, r.index) if total is None else total(r.index) for r in rows], axis=1)
    out = {"": np.concatenate([point(per_area, draws), point(sums, draws)], axis=1)}
    if quantiles and draws > 0:
        by_area = np.percentile(per_area, QUANTILES, axis=-1, overwrite_input=scratch)
        by_row = np.percentile(sums, QUANTILES, axis=-1)
        for i, q in enumerate(QUANTILES):
            out[f"_p{q}"] = np.concatenate([by_area[i], by_row[i]], axis=1)
    return out


def _names(ds: xr.Dataset) -> dict[str, str]:
    names = {a.code: a.code for a in _aggregates(ds)}  # districts of a region have no names of their own
    names.update(zip((str(a) for a in ds["area"].values), (str(n) for n in ds["area_name_en"].values)))
    names[str(ds["district_code"].values)] = str(ds["district_name"].values)
    return names


def _long(ds: xr.Dataset, cols: dict[str, NDArray[np.float64]]) -> pd.DataFrame:
    """Long table from (year, area + aggregate, stage) arrays, with the ``level`` of each row."""
    rows = _aggregates(ds)
    codes = [str(a) for a in ds["area"].values] + [r.code for r in rows]
    idx = pd.MultiIndex.from_product([ds["year"].to_numpy(), codes, [str(s) for s in ds["stage"].values]],
                                     names=["year", "area_code", "stage"])
    frame = pd.DataFrame({k: v.reshape(-1) for k, v in cols.items()}, index=idx).reset_index()
    frame.insert(0, "scenario", str(ds["scenario"].values))
    frame.insert(3, "area_name", frame["area_code"].map(_names(ds)))
    frame["level"] = frame["area_code"].map({**{str(a): "area" for a in ds["area"].values},
                                             **{r.code: r.level for r in rows}})
    return frame


def _read(ds: xr.Dataset, name: str) -> NDArray[np.float64]:
    """A ``(year, area, stage, draw)`` variable as a new array of its own, read a few years at a time.

    Each piece of years is the same as those years of the whole variable; a large variable
    computed when read (the gap) is then never held twice, and the array may be reordered
    in place.
    """
    out = np.empty((ds.sizes["year"], ds.sizes["area"], ds.sizes["stage"], ds.sizes["draw"]))
    for years in year_pieces(ds, name):
        out[years] = ds[name].isel(year=years).transpose(*AREA_STAGE).values
    return out


#: Column groups of the gap table, in order (each: the value and, for some, its quantiles).
GAP_COLUMNS = ("demand", "places", "gap", "shortfall", "surplus", "demand_public", "places_public", "gap_public",
               "shortfall_after_transport")


def gap_table(ds: xr.Dataset) -> pd.DataFrame:
    """The ``gap`` table of one scenario (see the module docstring).

    The per-draw arrays are read and reduced one after the other, so at most a few of
    ``(year, area, stage, draw)`` are held at once.

    Parameters
    ----------
    ds : Dataset
        One scenario's selection (:func:`capacity.results.dataset.select`).
    """
    draws = int(ds.attrs["draws"])
    rows = _aggregates(ds)
    parts: dict[str, dict[str, NDArray[np.float64]]] = {}

    def add(key: str, per_area: NDArray[np.float64], quantiles: bool = False, scratch: bool = False) -> None:
        """The summaries of ``per_area`` (``scratch``: an array made here, reordered by the quantiles)."""
        parts[key] = _with_levels(per_area, draws, rows, quantiles, scratch=scratch)

    def net(places: NDArray[np.float64], demand: NDArray[np.float64]) -> Callable[[slice | NDArray[np.intp]], NDArray[np.float64]]:
        return lambda index: sum_over(places, index) - sum_over(demand, index)

    places = ds["places"].transpose(*SECTORED).values  # may be a view broadcast over draws: not copied
    demand = np.empty(places.shape[:3] + places.shape[4:])
    public: list[tuple[dict[str, NDArray[np.float64]], ...]] = []
    for years in year_pieces(ds, "demand"):  # demand by sector a few years at a time (it is computed when read)
        piece = np.ascontiguousarray(ds["demand"].isel(year=years).transpose(*SECTORED).values)
        demand[years] = piece.sum(axis=3)
        demand_public = np.ascontiguousarray(piece[:, :, :, 0])
        del piece
        places_public = np.ascontiguousarray(places[years, :, :, 0])
        public.append((_with_levels(demand_public, draws, rows), _with_levels(places_public, draws, rows),
                       _with_levels(places_public - demand_public, draws, rows, total=net(places_public, demand_public))))
    for key, pieces in zip(("demand_public", "places_public", "gap_public"), zip(*public)):
        parts[key] = {suffix: np.concatenate([p[suffix] for p in pieces]) for suffix in pieces[0]}
    del public
    add("demand", demand, True, scratch=True)
    del demand
    add("places", places.sum(axis=3), True, scratch=True)
    del places
    add("gap", _read(ds, "gap"), True, scratch=True)
    shortfall = values(ds, "shortfall", AREA_STAGE)
    add("shortfall", shortfall)
    p_shortfall = (np.concatenate([(shortfall > THRESHOLD).mean(axis=-1),
                                   np.stack([(sum_over(shortfall, r.index) > THRESHOLD).mean(axis=-1) for r in rows], axis=1)],
                                  axis=1) if draws > 0 else None)
    del shortfall
    add("surplus", values(ds, "surplus", AREA_STAGE))
    if "shortfall_after_transport" in ds and np.isfinite(float(ds["travel_limit_km"].values)):
        add("shortfall_after_transport", values(ds, "shortfall_after_transport", AREA_STAGE))
    cols = {key + suffix: arr for key in GAP_COLUMNS if key in parts for suffix, arr in parts[key].items()}
    if p_shortfall is not None:
        cols["p_shortfall"] = p_shortfall
    return _long(ds, cols)


def project_frame(ds: xr.Dataset) -> pd.DataFrame:
    """One scenario's project rows with their labels (``project_id, stage, area_code, ...``)."""
    return pd.DataFrame({
        "project_id": ds["project_id"].values.astype(str),
        "name_en": ds["project_name_en"].values.astype(str),
        "name_zh": ds["project_name_zh"].values.astype(str),
        "stage": ds["project_stage"].values.astype(str),
        "area_code": ds["project_area"].values.astype(str),
        "ownership": ds["project_ownership"].values.astype(str),
        "places": ds["project_places"].values.astype(float),
    })


def schedule_table(ds: xr.Dataset) -> pd.DataFrame:
    """One row per project and stage, then the shortfalls no project addresses (one scenario)."""
    draws = int(ds.attrs["draws"])
    names = _names(ds)
    name = str(ds["scenario"].values)
    labels = project_frame(ds)
    status_all = ds["status"].values
    opening = ds["opening_year"].values
    needed_all = ds["needed_year"].values
    late = ds["years_late"].values
    short_py = ds["place_years_short"].values
    idle_py = ds["place_years_idle"].values
    rows = []
    for i, r in enumerate(labels.to_dict("records")):
        status = status_all[i]
        if draws == 0:
            st = STATUS[status[0]]
        else:
            codes, counts = np.unique(status, return_counts=True)
            st = STATUS[codes[counts.argmax()]]
        needed = needed_all[i]
        needed_known = needed[needed >= 0]
        row = {
            "scenario": name,
            "project_id": r["project_id"], "name_en": r["name_en"], "name_zh": r["name_zh"],
            "stage": r["stage"], "area_code": r["area_code"], "area_name": names.get(r["area_code"], ""),
            "ownership": r["ownership"], "places": float(r["places"]),
            "opening_year": int(np.median(opening[i])),
            "needed_year": int(np.median(needed_known)) if needed_known.size * 2 > needed.size else None,
            "status": st,
            "years_late": float(point(late[i].astype(float), draws)),
            "place_years_short": float(point(short_py[i], draws)),
            "place_years_idle": float(point(idle_py[i], draws)),
        }
        if draws > 0:
            row["p_late"] = float((status == STATUS.index("late")).mean())
            row["p_cancelled"] = float((status == STATUS.index("cancelled")).mean())
        rows.append(row)
    mean_short = values(ds, "shortfall", AREA_STAGE).mean(axis=-1)
    years = ds["year"].to_numpy()
    for a, code in enumerate(str(c) for c in ds["area"].values):
        for s, stage in enumerate(str(v) for v in ds["stage"].values):
            series = mean_short[:, a, s]
            hit = np.flatnonzero(series > THRESHOLD)
            if hit.size == 0:
                continue
            rows.append({
                "scenario": name, "project_id": "", "name_en": "", "name_zh": "",
                "stage": stage, "area_code": code, "area_name": names.get(code, ""), "ownership": "",
                "places": float(series.max()), "opening_year": None,
                "needed_year": int(years[hit[0]]), "status": "unaddressed",
                "years_late": np.nan, "place_years_short": float(series.sum()), "place_years_idle": np.nan,
            })
    table = pd.DataFrame(rows)
    for col in ("opening_year", "needed_year"):
        table[col] = table[col].astype("Int64")
    return table


def plan_comparison_table(ds: xr.Dataset, district: District) -> pd.DataFrame:
    """The plan comparison of one scenario (:func:`capacity.plan.plan_comparison`)."""
    return plan.plan_comparison(ds, district)


def indicators_table(ds: xr.Dataset, district: District) -> pd.DataFrame:
    """The plan's indicators of one scenario (:func:`capacity.plan.indicators`)."""
    return plan.indicators(ds, district)


def per_scenario(ds: xr.Dataset, make: Callable[[xr.Dataset], pd.DataFrame]) -> pd.DataFrame:
    """``make`` applied to every scenario's selection, concatenated; the columns in the order of the scenario
    with the most of them (a column only some scenarios have, as the shortfall after transport, stays in
    its place, empty for the others)."""
    frames = [make(select(ds, str(s))) for s in ds["scenario"].values]
    widest = max(frames, key=lambda f: len(f.columns))
    order = list(dict.fromkeys([*widest.columns, *(c for f in frames for c in f.columns)]))
    return pd.concat(frames, ignore_index=True)[order]


def largest_gaps(ds: xr.Dataset, year: int, n: int = 5) -> pd.DataFrame:
    """The ``n`` largest street shortfalls and surpluses of one scenario in ``year`` (point values)."""
    return largest_in(gap_table(ds), year, n)


def largest_in(gap: pd.DataFrame, year: int, n: int = 5) -> pd.DataFrame:
    """The ``n`` largest street shortfalls and surpluses in ``year`` of a ``gap`` table (of one scenario, or
    of several: then the largest of all)."""
    g = gap[(gap["year"] == year) & (gap["level"] == "area")]
    short = g[g["shortfall"] > THRESHOLD].nlargest(n, "shortfall")
    plus = g[g["surplus"] > THRESHOLD].nlargest(n, "surplus")
    cols = ["scenario", "year", "area_code", "area_name", "stage", "demand", "places", "gap"]
    return pd.concat([short[cols], plus[cols]], ignore_index=True)


def compare_table(ds: xr.Dataset, base: str | None = None) -> pd.DataFrame:
    """Paired differences of every scenario against ``base`` (default: the first).

    With draws, differences are taken draw by draw (common random numbers make them
    paired) and summarised by mean, P10, P50, P90; ``p_worse`` is the share of draws in
    which the scenario's shortfall (district: the streets' summed shortfall) is larger
    than the base's.

    Returns
    -------
    DataFrame
        scenario, base, year, area_code, stage, and for demand, places, gap and
        shortfall: ``d_<name>`` (mean difference) and, with draws, ``d_<name>_p10/p50/p90``.
    """
    scenarios = [str(s) for s in ds["scenario"].values]
    base_name = base or scenarios[0]
    if base_name not in scenarios:
        raise InputError.one("<compare>", "base", "", f"expected one of the scenarios {scenarios}, found {base_name!r}")
    draws = int(ds.attrs["draws"])
    b = select(ds, base_name)

    def figures(one: xr.Dataset) -> dict[str, NDArray[np.float64]]:
        return {"demand": values(one, "demand", SECTORED).sum(axis=3), "places": values(one, "places", SECTORED).sum(axis=3),
                "gap": values(one, "gap", AREA_STAGE), "shortfall": values(one, "shortfall", AREA_STAGE)}

    f0 = figures(b)
    frames = []
    for name in scenarios:
        if name == base_name:
            continue
        one = select(ds, name)
        if one.sizes["year"] != b.sizes["year"]:
            raise InputError.one(name, "key horizon", "", f"expected the same years and draws as '{base_name}' to compare")
        f1 = figures(one)
        rows = _aggregates(one)
        codes = [str(a) for a in one["area"].values] + [r.code for r in rows]
        idx = pd.MultiIndex.from_product([one["year"].to_numpy(), codes, [str(s) for s in one["stage"].values]],
                                         names=["year", "area_code", "stage"])
        cols: dict[str, Any] = {}
        for key in ("demand", "places", "gap", "shortfall"):
            a1, a0 = f1[key], f0[key]
            diff = np.concatenate([a1 - a0, np.stack([sum_over(a1, r.index) - sum_over(a0, r.index) for r in rows], axis=1)],
                                  axis=1)
            cols[f"d_{key}"] = diff.mean(axis=-1).reshape(-1)
            if draws > 0:
                for q in QUANTILES:
                    cols[f"d_{key}_p{q}"] = np.percentile(diff, q, axis=-1).reshape(-1)
        if draws > 0:
            s1, s0 = ([np.concatenate([f["shortfall"], np.stack([sum_over(f["shortfall"], r.index) for r in rows], axis=1)],
                                      axis=1) for f in (f1, f0)])
            cols["p_worse"] = (s1 > s0 + 1e-9).mean(axis=-1).reshape(-1)
        frame = pd.DataFrame(cols, index=idx).reset_index()
        frame.insert(0, "base", base_name)
        frame.insert(0, "scenario", name)
        frames.append(frame)
    if not frames:
        raise InputError.one("<compare>", "", "", "expected at least two scenarios to compare")
    return pd.concat(frames, ignore_index=True)


__all__ = ["GAP_COLUMNS", "compare_table", "gap_table", "indicators_table", "largest_gaps", "largest_in", "per_scenario", "plan_comparison_table",
           "project_frame", "schedule_table"]
