"""Norway: the 38 city wards of Oslo, Bergen, Stavanger and Trondheim -> a history folder.

``python -m tools.history.norway OUT``. Population by ward x year (1 January) x sex x
single year of age (105 = 105 or older). Wards whose borders changed (Finnøy, Rennesøy:
joined Stavanger 2020; Heimdal: Klæbu merger 2020) are flagged ``border_change``; so are
Sentrum and Marka, not for a border change but because their tiny resident populations
are not school catchments (the README's "33 stable wards"). Source: Statistics Norway
(SSB), NLOD 2.0, via csdata (FHI, MIT).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tools.history.common import converter_main

BREAKS = {"110308", "110309", "500104"}
TINY = {"030116", "030117"}
STAGES = [
    {"stage": "kindergarten 3-5", "table": "population", "first": 3, "last": 5},
    {"stage": "primary 6-11", "table": "population", "first": 6, "last": 11},
    {"stage": "junior 12-14", "table": "population", "first": 12, "last": 14},
]


def convert(source: Path) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The settings and tables of the Norwegian-ward history."""
    areas = pd.read_csv(source / "norway_areas.csv", dtype=str, keep_default_na=False)
    wards = areas[areas["level"] == "ward"]
    out_areas = pd.DataFrame({
        "area_code": wards["area_code"],
        "area_name": wards["area_name"] + " (" + wards["city"] + ")",
        "border_change": wards["area_code"].isin(BREAKS | TINY),
        "note": wards["note"],
    }).reset_index(drop=True)
    pop = pd.read_csv(source / "norway_ward_population_by_age_sex.csv", dtype={"area_code": str})
    pop = pop.assign(sex=pop["sex"].map({"F": "female", "M": "male"}), population=pop["population"].astype(float))
    pop = pop.sort_values(["area_code", "year", "sex", "age"]).reset_index(drop=True)
    settings: dict[str, object] = {
        "name": "Norway wards",
        "source": "Statistics Norway (SSB) tables 07459/10826, NLOD 2.0, via csdata (FHI, MIT)",
        "naive_years": 5,
    }
    return settings, {"areas": out_areas, "population": pop[["area_code", "year", "sex", "age", "population"]]}


main = converter_main("Norwegian wards -> history folder", convert, STAGES)


if __name__ == "__main__":
    raise SystemExit(main())
