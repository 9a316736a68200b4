"""Results as tidy long tables plus a small metadata record, and their atomic writing.

Tables (all long, one row per key, ``scenario`` first):

``gap``
    scenario, year, area_code, area_name, stage, demand, places, gap, shortfall, surplus,
    demand_public, places_public, gap_public [, shortfall_after_transport]
    [, demand_p10, demand_p50, demand_p90, places_p10 ... gap_p90, p_shortfall], level.
    ``level`` is ``area`` for a street and ``district`` for the district's own rows (for
    which ``p_shortfall`` is the chance that at least one street is short).
    The district is an area of its own (its code, e.g. 440105) whose shortfall and
    surplus are the sums over areas (no offsetting) and whose gap is the net sum. With
    draws, the value columns are means over draws, ``*_pNN`` are quantiles and
    ``p_shortfall`` is the share of draws with a shortfall.
``plan_comparison``
    one row per stage: the plan's stated need, the appendix's places, the projected need
    (demand in the plan's target year minus places in the base year), the gap left after
    the projects in the target year (net, and the no-offset shortfall and surplus), the
    year and size of peak demand, and demand, places, shortfall and surplus at the horizon.
``indicators``
    the plan's own indicators the model speaks to, year by year.
``schedule``
    one row per project and stage (status against the year its places are first needed),
    plus one ``unaddressed`` row per area and stage with a shortfall after all projects.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

import capacity
from capacity.core.schedule import STATUS
from capacity.model import RunResult

QUANTILES = (10, 50, 90)
FLOAT_FORMAT = "%.2f"


def _stat(values: NDArray[np.float64], draws: int) -> NDArray[np.float64]:
    """Point value: the single run, or the mean over draws (last axis)."""
    return values[..., 0] if draws == 0 else values.mean(axis=-1)


def _long(result: RunResult, arrays: dict[str, NDArray[np.float64]], draws: int,
          quantiles: Iterable[str] = ()) -> pd.DataFrame:
    """Long table from (year, area, stage, draw) arrays, district rows included."""
    d = result.district
    years = result.years
    codes = list(d.area_codes) + [d.code]
    names = dict(zip(d.areas["area_code"], d.areas["name_en"]))
    names[d.code] = d.name
    stages = list(d.stage_names)
    idx = pd.MultiIndex.from_product([years, codes, stages], names=["year", "area_code", "stage"])
    cols: dict[str, Any] = {}
    for key, arr in arrays.items():
        cols[key] = _stat(arr, draws).reshape(-1)
        if key in quantiles and draws > 0:
            for q in QUANTILES:
                cols[f"{key}_p{q}"] = np.percentile(arr, q, axis=-1).reshape(-1)
    frame = pd.DataFrame(cols, index=idx).reset_index()
    frame.insert(0, "scenario", result.scenario.name)
    frame.insert(3, "area_name", frame["area_code"].map(names))
    return frame


def _with_district(per_area: NDArray[np.float64]) -> NDArray[np.float64]:
    """Append the district as an extra area: the sum over areas (no-offset for shortfall and surplus)."""
    total = per_area.sum(axis=1, keepdims=True)
    return np.concatenate([per_area, total], axis=1)


def gap_table(result: RunResult) -> pd.DataFrame:
    """The ``gap`` table (see the module docstring)."""
    g = result.gap
    draws = result.draws
    arrays = {
        "demand": _with_district(g.demand),
        "places": _with_district(g.places),
        "gap": _with_district(g.gap),
        "shortfall": _with_district(g.shortfall),
        "surplus": _with_district(g.surplus),
        "demand_public": _with_district(result.demand[:, :, :, 0]),
        "places_public": _with_district(result.places[:, :, :, 0]),
    }
    arrays["gap_public"] = arrays["places_public"] - arrays["demand_public"]
    if result.unplaced is not None:
        arrays["shortfall_after_transport"] = _with_district(result.unplaced)
    table = _long(result, arrays, draws, quantiles=("demand", "places", "gap"))
    if draws > 0:
        table["p_shortfall"] = (arrays["shortfall"] > 0.5).mean(axis=-1).reshape(-1)
    table["level"] = np.where(table["area_code"] == result.district.code, "district", "area")
    return table


def plan_comparison_table(result: RunResult) -> pd.DataFrame:
    """The plan comparison, one row per stage (district totals)."""
    d = result.district
    years = result.years
    needs = d.plan_needs
    rows = []
    demand = result.gap.demand.sum(axis=1)  # (year, stage, draw)
    places = result.gap.places.sum(axis=1)
    shortfall = result.gap.district_shortfall
    surplus = result.gap.district_surplus
    for s, stage in enumerate(d.stage_names):
        need_row = needs[needs["stage"] == stage] if needs is not None else None
        has_need = need_row is not None and len(need_row) > 0
        target = int(need_row["year"].iloc[0]) if has_need else int(years[min(5, len(years) - 1)])
        t = int(np.searchsorted(years, min(target, int(years[-1]))))
        appendix = float(d.projects.loc[d.projects["stage"] == stage, "places"].sum())
        projected_need = demand[t, s] - places[0, s]
        gap_after = places[t, s] - demand[t, s]
        peak_t = demand[:, s].mean(axis=-1).argmax()
        row = {
            "scenario": result.scenario.name,
            "stage": stage,
            "target_year": target,
            "plan_need": float(need_row["value"].iloc[0]) if has_need else np.nan,
            "appendix_places": appendix,
            "projected_need": float(_stat(projected_need, result.draws)),
            "gap_after_projects": float(_stat(gap_after, result.draws)),
            "shortfall_after_projects": float(_stat(shortfall[t, s], result.draws)),
            "surplus_after_projects": float(_stat(surplus[t, s], result.draws)),
            "peak_demand_year": int(years[peak_t]),
            "peak_demand": float(demand[peak_t, s].mean()),
            "demand_horizon": float(demand[-1, s].mean()),
            "places_horizon": float(places[-1, s].mean()),
            "shortfall_horizon": float(_stat(shortfall[-1, s], result.draws)),
            "surplus_horizon": float(_stat(surplus[-1, s], result.draws)),
        }
        if result.draws > 0:
            for q in QUANTILES:
                row[f"projected_need_p{q}"] = float(np.percentile(projected_need, q))
            row["p_shortfall_target_year"] = float((shortfall[t, s] > 0.5).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def indicators_table(result: RunResult) -> pd.DataFrame:
    """The plan's indicators, projected year by year (district).

    * ``public_places_added``: public places added by projects since the base year
      (Table 1 item 8 counts new public places; target 12,360 by 2025).
    * ``kindergarten_public_affordable_share``: share of kindergarten children in public
      or affordable (普惠) places, taking children in public places as
      :math:`\\min(D^{pub}, S^{pub})` per area and the rest in private places, of which the
      base year's affordable share (``plan.csv``) is affordable (Table 1 item 3: > 85 %).
    """
    d = result.district
    rows = []
    targets = d.plan_indicators
    public_places = result.places[:, :, :, 0].sum(axis=(1, 2))  # (year, draw)
    added = public_places - public_places[0]
    stages = list(d.stage_names)
    for t, year in enumerate(result.years):
        rows.append({"scenario": result.scenario.name, "year": int(year), "indicator": "public_places_added",
                     "value": float(_stat(added[t], result.draws)),
                     "target": targets.get("public_places_added", np.nan)})
    if "kindergarten" in stages and "private_affordable_share" in targets:
        k = stages.index("kindergarten")
        dem = result.demand[:, :, k]  # (year, area, sector, draw)
        plc = result.places[:, :, k]
        in_public = np.minimum(dem[:, :, 0], plc[:, :, 0]).sum(axis=1)
        enrolled = dem.sum(axis=(1, 2))
        a = targets["private_affordable_share"]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (in_public + a * (enrolled - in_public)) / enrolled
        for t, year in enumerate(result.years):
            rows.append({"scenario": result.scenario.name, "year": int(year),
                         "indicator": "kindergarten_public_affordable_share",
                         "value": float(_stat(share[t], result.draws)),
                         "target": targets.get("public_affordable_share", np.nan)})
    return pd.DataFrame(rows)


def schedule_table(result: RunResult) -> pd.DataFrame:
    """One row per project and stage, then the shortfalls no project addresses."""
    d = result.district
    m = result.schedule
    tab = result.projects.table
    names = dict(zip(d.areas["area_code"], d.areas["name_en"]))
    draws = result.draws
    rows = []
    for i, r in tab.iterrows():
        status = m.status[i]
        if draws == 0:
            st = STATUS[status[0]]
        else:
            values, counts = np.unique(status, return_counts=True)
            st = STATUS[values[counts.argmax()]]
        needed = m.needed_year[i]
        needed_known = needed[needed >= 0]
        row = {
            "scenario": result.scenario.name,
            "project_id": r["project_id"], "name_en": r.get("name_en", ""), "name_zh": r.get("name_zh", ""),
            "stage": r["stage"], "area_code": r["area_code"], "area_name": names.get(r["area_code"], ""),
            "ownership": r["ownership"], "places": float(r["places"]),
            "opening_year": int(np.median(m.opening_year[i])),
            "needed_year": int(np.median(needed_known)) if needed_known.size * 2 > needed.size else None,
            "status": st,
            "years_late": float(_stat(m.years_late[i].astype(float), draws)),
            "place_years_short": float(_stat(m.place_years_short[i], draws)),
            "place_years_idle": float(_stat(m.place_years_idle[i], draws)),
        }
        if draws > 0:
            row["p_late"] = float((status == STATUS.index("late")).mean())
            row["p_cancelled"] = float((status == STATUS.index("cancelled")).mean())
        rows.append(row)
    short = result.gap.shortfall  # (year, area, stage, draw)
    mean_short = short.mean(axis=-1)
    for a, code in enumerate(d.area_codes):
        for s, stage in enumerate(d.stage_names):
            series = mean_short[:, a, s]
            hit = np.flatnonzero(series > 0.5)
            if hit.size == 0:
                continue
            rows.append({
                "scenario": result.scenario.name, "project_id": "", "name_en": "", "name_zh": "",
                "stage": stage, "area_code": code, "area_name": names.get(code, ""), "ownership": "",
                "places": float(series.max()), "opening_year": None,
                "needed_year": int(result.years[hit[0]]), "status": "unaddressed",
                "years_late": np.nan, "place_years_short": float(series.sum()), "place_years_idle": np.nan,
            })
    table = pd.DataFrame(rows)
    for col in ("opening_year", "needed_year"):
        table[col] = table[col].astype("Int64")
    return table


def largest_gaps(result: RunResult, year: int, n: int = 5) -> pd.DataFrame:
    """The ``n`` largest street shortfalls and surpluses in ``year`` (point values)."""
    g = gap_table(result)
    g = g[(g["year"] == year) & (g["area_code"] != result.district.code)]
    short = g[g["shortfall"] > 0.5].nlargest(n, "shortfall")
    plus = g[g["surplus"] > 0.5].nlargest(n, "surplus")
    cols = ["scenario", "year", "area_code", "area_name", "stage", "demand", "places", "gap"]
    return pd.concat([short[cols], plus[cols]], ignore_index=True)


def estimates(result: RunResult) -> list[str]:
    """Inputs that are estimates, as ``file:column`` strings (from ``sources.csv``)."""
    src = result.district.sources
    flagged = src[src["estimate"].astype(str).str.lower().isin(["yes", "true"])]
    return [f"{f}:{c}" for f, c in zip(flagged["file"], flagged["column"])]


def meta_record(results: list[RunResult], elapsed: float, outputs: dict[str, str]) -> dict[str, Any]:
    """What produced the outputs: version, scenarios, seed, draws, input hashes."""
    first = results[0]
    return {
        "capacity_version": capacity.__version__,
        "district": {"name": first.district.name, "code": first.district.code,
                     "path": first.district.path.name},
        "inputs_sha256": first.district.input_hashes(),
        "scenarios": [r.scenario.to_dict() for r in results],
        "scenario_files_sha256": {r.scenario.name: _sha256(Path(r.scenario.source))
                                  for r in results if r.scenario.source and Path(r.scenario.source).exists()},
        "seed": first.seed,
        "draws": first.draws,
        "estimated_inputs": estimates(first),
        "outputs_sha256": outputs,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "elapsed_seconds": round(elapsed, 3),
        "note": "CSV outputs are byte-for-byte reproducible from the same inputs, scenario and seed; "
                "created_utc and elapsed_seconds are the only fields that change between runs.",
    }


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_atomic(out_dir: Path, files: dict[str, bytes]) -> None:
    """Write all files into ``out_dir`` at once: a temporary folder, then a rename.

    If anything fails, ``out_dir`` is left exactly as it was (with its previous outputs).
    """
    out_dir = Path(out_dir)
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=parent))
    old = None
    try:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
        if out_dir.exists():
            old = parent / f".{out_dir.name}.old-{os.getpid()}"
            os.replace(out_dir, old)
        os.replace(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not out_dir.exists():
            os.replace(old, out_dir)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as CSV bytes in the project's fixed format."""
    return frame.to_csv(index=False, float_format=FLOAT_FORMAT, lineterminator="\n").encode("utf-8")


def output_files(results: list[RunResult], elapsed: float) -> dict[str, bytes]:
    """Every output file of a run of one or more scenarios, as bytes."""
    tables = {
        "gap.csv": pd.concat([gap_table(r) for r in results], ignore_index=True),
        "plan_comparison.csv": pd.concat([plan_comparison_table(r) for r in results], ignore_index=True),
        "indicators.csv": pd.concat([indicators_table(r) for r in results], ignore_index=True),
        "schedule.csv": pd.concat([schedule_table(r) for r in results], ignore_index=True),
    }
    files = {name: csv_bytes(t) for name, t in tables.items()}
    hashes = {name: hashlib.sha256(b).hexdigest() for name, b in files.items()}
    meta = meta_record(results, elapsed, hashes)
    files["meta.json"] = (json.dumps(meta, indent=2, ensure_ascii=False, sort_keys=False) + "\n").encode("utf-8")
    return files
