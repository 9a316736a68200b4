"""Sweep: how much does each year of construction delay cost?

Runs the baseline with every appendix project delayed by 0, 1, 2 and 3 years, and a grid
of fertility (births at 0.6, 0.7 and 0.8 of 2020) x migration (0.5, 1, 1.5 times the base),
all with the same seed, so that draw k sees the same random inputs in every scenario
(common random numbers), and writes one combined result:

    python scenarios/sweep_delays.py [--draws N] [--seed N] [--out DIR]

The outputs are those of ``capacity run`` (gap.csv, plan_comparison.csv, indicators.csv,
schedule.csv, meta.json) with one scenario per variant, plus ``sweep.csv``: the district's
shortfall per stage in 2025, 2030 and 2035 for every variant.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import capacity

HERE = Path(__file__).resolve().parent


def variants(base: capacity.Scenario) -> list[capacity.Scenario]:
    """The scenarios of the sweep, built from the baseline through the public API."""
    import capacity

    out = []
    for years in (0, 1, 2, 3):
        out.append(base.replace(
            name=f"delay_{years}y",
            description=f"every project {years} year(s) late",
            projects=capacity.ProjectChanges(delay=(("*", years),)),
        ))
    for fert in (0.6, 0.7, 0.8):
        for mig in (0.5, 1.0, 1.5):
            out.append(base.replace(
                name=f"fert_{fert:.1f}_mig_{mig:.1f}",
                description=f"births {fert:.1f} x 2020 from 2025, migration {mig:.1f} x base",
                fertility=capacity.Fertility(multiplier=(*base.fertility.multiplier[:-1], (2025, fert))),
                migration=capacity.Migration(scale=mig),
            ))
    return out


def main(argv: list[str] | None = None) -> int:
    import pandas as pd

    import capacity
    from capacity.results import csv_bytes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/sweep_delays")
    args = parser.parse_args(argv)

    base = capacity.load_scenario("baseline")
    results = capacity.run(variants(base), draws=args.draws, seed=args.seed, progress=True)
    gap = results.gap
    code = results.district.code
    table = (gap[(gap["area_code"] == code) & gap["year"].isin([2025, 2030, 2035])]
             .pivot_table(index="scenario", columns=["stage", "year"], values="shortfall", sort=False))
    table.columns = [f"shortfall_{stage}_{year}" for stage, year in table.columns]
    table = table.reset_index()
    files = results.files()
    files["sweep.csv"] = csv_bytes(table)
    from capacity.atomic import write_files

    write_files(args.out, files, **results.input_paths())
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(table.to_string(index=False, float_format=lambda v: f"{v:,.0f}"))
    print(f"wrote {args.out}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
