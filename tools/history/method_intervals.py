"""How the draws of a run with a forecasting method should depend across areas, and how they cover (``docs/model.md``).

``python -m tools.history.method_intervals [--source DIR]`` prints two tables, from the
Norwegian wards (``../shared/data/backtest``, test data) converted by
:mod:`tools.history.norway`:

1. **Dependence across areas.** For each stage's method and horizon, rolling over the
   origins: each origin ``o`` is taken as a base year, the errors of forecasts whose outcome
   was known at ``o`` make the error pool of :mod:`capacity.forecast.driver` (the same
   pooling and size classes), and the forecasts from ``o`` are checked against what
   happened. Columns: the share of the variance of the areas' log errors that is common
   to all areas of one origin (between-origin variance over total), the share of area
   outcomes inside the 80 % interval, and the share of district totals inside the 80 %
   interval when the errors of one draw are the same quantile in every area (what a run
   does) and when they are independent across areas (simulated, 4,000 draws, fixed seed).
2. **A run out of sample.** The wards as a district with base year 2021
   (:mod:`tools.history.district`), ``capacity backtest`` on its history (up to 2021)
   chooses a method per stage, ``capacity run`` runs them with 1,000 draws, and the
   projection is compared with the wards' 2022-2026 population: MAPE of the median draw
   and the share of area outcomes inside the 80 % and 95 % intervals.

The stage methods of table 1 are those table 2's backtest chooses.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pandas as pd

from capacity.forecast.backtest import forecast_rows
from capacity.forecast.driver import error_pool, symmetric_quantile
from capacity.forecast.history import read_history
from capacity.forecast.methods import parse_method
from tools.history.common import SHARED

BASE_YEAR = 2021
SEED = 20260101


def dependence(history_folder: Path, chosen: dict[str, str]) -> pd.DataFrame:
    """Table 1 (see the module docstring), one row per stage x horizon 1, 3, 5."""
    history = read_history(history_folder)
    excluded = set(history.areas.loc[history.areas["border_change"], "area_code"])
    rng = np.random.default_rng(SEED)
    stages = {s.stage: s for s in history.settings.stages}
    out = []
    for stage, spec in chosen.items():
        settings = history.settings.model_copy(update={"stages": [stages[stage]]})
        rows = forecast_rows(type(history)(settings, history.areas, history.tables), [parse_method(spec)],
                             int(history.tables["population"].years[0]) + 1, 2100, 5, excluded)
        rows = rows[np.isfinite(rows["actual"]) & (rows["actual"] > 0) & (rows["forecast"] > 0)]
        for h in (1, 3, 5):
            at = rows[rows["horizon"] == h]
            error = np.log(at["actual"] / at["forecast"])
            share = error.groupby(at["origin"]).transform("mean").var() / error.var()
            area_in, como_in, indep_in = [], [], []
            for origin in sorted(at["origin"].unique()):
                pool = error_pool(rows[rows["origin"] + rows["horizon"] <= origin], stage, spec)
                if pool.measured < h:
                    continue
                now = at[at["origin"] == origin]
                q = np.array([np.quantile(pool.errors[h - 1][int(c)], 0.8) for c in now["large"]])
                forecast, actual = now["forecast"].to_numpy(), now["actual"].to_numpy()
                area_in += list(np.abs(np.log(actual / forecast)) <= q)
                total = actual.sum()
                como_in.append((forecast * np.exp(-q)).sum() <= total <= (forecast * np.exp(q)).sum())
                u = rng.random((4000, len(now)))
                eps = np.stack([symmetric_quantile(pool.errors[h - 1][int(c)], u[:, i]) for i, c in enumerate(now["large"])],
                               axis=1)
                low, high = np.quantile((forecast * np.exp(eps)).sum(axis=1), [0.1, 0.9])
                indep_in.append(low <= total <= high)
            out.append({"stage": stage, "method": spec, "horizon": h, "common_share": share,
                        "area_inside_80": np.mean(area_in), "origins": len(como_in),
                        "total_inside_80_same_quantile": np.mean(como_in), "total_inside_80_independent": np.mean(indep_in)})
    return pd.DataFrame(out)


def out_of_sample(history_folder: Path, work: Path) -> tuple[dict[str, str], pd.DataFrame]:
    """Table 2 (see the module docstring): the chosen methods and one row per stage x year."""
    import capacity
    from capacity.cli import main
    from tools.history.district import convert

    folder = convert(history_folder, work / "wards", BASE_YEAR, "Norway wards")
    with redirect_stdout(io.StringIO()):
        assert main(["backtest", str(folder / "history"), "--out", str(work / "bt")]) == 0
    chosen: dict[str, str] = json.loads((work / "bt" / "meta.json").read_text())["method_table"]
    scen = work / "wards.toml"
    scen.write_text(f'name = "wards"\nhorizon = {BASE_YEAR + 5}\n' + (work / "bt" / "method.toml").read_text(), encoding="utf-8")
    district = capacity.load_district(folder)
    result = capacity.run(capacity.load_scenario(scen), district, draws=1000, seed=1)
    draws = result.to_xarray().isel(scenario=0)["children"].transpose("year", "area", "stage", "draw").values
    full = read_history(history_folder).tables["population"]
    order = [full.areas.index(c) for c in district.area_codes]
    rows = []
    for t in range(1, 6):
        year = BASE_YEAR + t
        for k, (stage, first, last) in enumerate(zip(district.stages["stage"], district.stages["first_age"],
                                                     district.stages["last_age"])):
            actual = full.counts[full.year_index(year)][order][..., first:last + 1].sum(axis=(1, 2))
            cell = draws[t, :, k]
            q = np.quantile(cell, [0.025, 0.1, 0.5, 0.9, 0.975], axis=1)
            rows.append({"stage": stage, "year": year, "mape": 100 * np.mean(np.abs(q[2] - actual) / actual),
                         "inside_80": np.mean((q[1] <= actual) & (actual <= q[3])),
                         "inside_95": np.mean((q[0] <= actual) & (actual <= q[4]))})
    return chosen, pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table, numbers with two decimals."""
    def cell(value: object) -> str:
        return f"{value:.2f}" if isinstance(value, float | np.floating) else str(value)

    lines = ["| " + " | ".join(str(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from tools.history import norway

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--source", default=str(SHARED), metavar="DIR", help="the shared backtest files")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        with redirect_stdout(io.StringIO()):
            norway.main([str(work / "history"), "--source", args.source])
        chosen, run = out_of_sample(work / "history", work)
        history_stages = {"kindergarten": "kindergarten 3-5", "primary": "primary 6-11", "junior": "junior 12-14"}
        table = dependence(work / "history", {history_stages[s]: m for s, m in chosen.items() if s in history_stages})
    print(f"Table 1. Norway wards (33): errors across areas, rolling origins (methods chosen by the backtest to {BASE_YEAR})")
    print(markdown(table))
    print(f"\nTable 2. The wards as a district, base year {BASE_YEAR}, methods {chosen}, 1,000 draws, "
          f"against {BASE_YEAR + 1}-{BASE_YEAR + 5}")
    wide = run.pivot(index="stage", columns="year", values="mape").add_prefix("MAPE ")
    wide = wide.join(run.pivot(index="stage", columns="year", values="inside_80").add_prefix("inside 80 % "))
    print(markdown(wide.reset_index()))
    print(f"\nArea outcomes inside the 80 % interval, all stages and years: {run['inside_80'].mean():.3f}; "
          f"inside the 95 % interval: {run['inside_95'].mean():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
