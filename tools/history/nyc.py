"""New York City: community school districts' pupils by grade -> a history folder.

``python -m tools.history.nyc OUT [--schools]``. Enrolment by district (or, with
``--schools``, by school DBN) x school year (named by its autumn) x grade, K = 0 .. 12.
Pre-K is left out (its growth from 2014 is policy, not demography). 2012-13 is missing
from the source (NaN years). Districts 75, 79 and 84 (special education, alternative,
charter) appear only from 2013 and are flagged ``border_change``; so are schools that do
not report in every year. Source: NYC Department of Education snapshots on NYC Open Data
(test use only; never ship).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from tools.history.common import SHARED, write_history

STAGES = [
    {"stage": "elementary K-5", "table": "enrolment", "first": 0, "last": 5},
    {"stage": "middle 6-8", "table": "enrolment", "first": 6, "last": 8},
    {"stage": "high 9-12", "table": "enrolment", "first": 9, "last": 12},
]


def convert(source: Path, schools: bool = False) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The settings and tables of the NYC history (districts, or schools)."""
    if schools:
        raw = pd.read_csv(source / "nyc_school_pupils_by_grade.csv", dtype={"dbn": str, "grade": str})
        raw = raw.rename(columns={"dbn": "area_code"})
    else:
        raw = pd.read_csv(source / "nyc_district_pupils_by_grade.csv", dtype={"grade": str})
        raw["area_code"] = raw["district"].astype(int).map("{:02d}".format)
    raw = raw[raw["grade"] != "PK"]
    raw = raw.assign(level=raw["grade"].replace({"K": "0"}).astype(int), year=raw["school_year"])
    enrol = raw.groupby(["area_code", "year", "level"], as_index=False)["pupils"].sum().astype({"pupils": float})
    years = enrol.groupby("area_code")["year"].nunique()
    every = years == enrol["year"].nunique()
    codes = sorted(enrol["area_code"].unique())
    areas = pd.DataFrame({"area_code": codes, "area_name": codes,
                          "border_change": [not bool(every[c]) for c in codes],
                          "note": ["" if every[c] else "not reported in every year" for c in codes]})
    settings: dict[str, object] = {
        "name": "New York City schools" if schools else "New York City districts",
        "source": "NYC Department of Education demographic snapshots, NYC Open Data (test use only)",
        "enrolment_by": "grade", "naive_years": 3,
    }
    return settings, {"areas": areas, "enrolment": enrol[["area_code", "year", "level", "pupils"]]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="NYC districts or schools -> history folder")
    parser.add_argument("out", metavar="OUT")
    parser.add_argument("--source", default=str(SHARED), metavar="DIR")
    parser.add_argument("--schools", action="store_true", help="one area per school (DBN) instead of per district")
    args = parser.parse_args(argv)
    settings, tables = convert(Path(args.source), args.schools)
    write_history(args.out, settings, STAGES, tables)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
