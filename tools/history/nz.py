"""New Zealand: the 16 regions' pupils by single age and births -> a history folder.

``python -m tools.history.nz OUT``. Enrolment: pupils at 1 July by region x year x age
(5..18, and 19 = 19 or older, an open level), both sexes summed. Births: June years
(year t = 1 July t-1 .. 30 June t), both sexes, all ages of mother; children aged 5 on
1 July of year t were born in June year t - 5, so ``entry_lag = 5``. Births are randomly
rounded to base 3 by Stats NZ. "Area Outside Region" has births only and is left out.
Source: Crown copyright Statistics New Zealand / Ministry of Education, via demdata (MIT).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tools.history.common import converter_main

STAGES = [
    {"stage": "primary 5-10", "table": "enrolment", "first": 5, "last": 10},
    {"stage": "intermediate 11-12", "table": "enrolment", "first": 11, "last": 12},
    {"stage": "secondary 13-17", "table": "enrolment", "first": 13, "last": 17},
]


def convert(source: Path) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The settings and tables of the New Zealand regional history."""
    pupils = pd.read_csv(source / "nz_school_pupils_by_age.csv", dtype={"age": str})
    pupils["level"] = pupils["age"].str.rstrip("+").astype(int)
    enrol = pupils.groupby(["region", "year", "level"], as_index=False)["pupils"].sum()
    regions = sorted(enrol["region"].unique())
    births = pd.read_csv(source / "nz_births_by_mother_age.csv")
    births = births[births["region"].isin(regions)].groupby(["region", "year"], as_index=False)["births"].sum()
    areas = pd.DataFrame({"area_code": regions, "area_name": regions, "border_change": False, "note": ""})
    enrol = enrol.rename(columns={"region": "area_code"}).astype({"pupils": float})
    births = births.rename(columns={"region": "area_code"}).astype({"births": float})
    settings: dict[str, object] = {
        "name": "New Zealand regions",
        "source": "Statistics NZ and Ministry of Education (Crown copyright), via demdata (MIT)",
        "enrolment_by": "age", "entry_lag": 5, "open_last_level": True, "naive_years": 5,
    }
    return settings, {"areas": areas, "births": births[["area_code", "year", "births"]],
                      "enrolment": enrol[["area_code", "year", "level", "pupils"]]}


main = converter_main("New Zealand regions -> history folder", convert, STAGES)


if __name__ == "__main__":
    raise SystemExit(main())
