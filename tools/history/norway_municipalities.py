"""Norway: the 357 municipalities (children 0-19, women 15-49) -> a history folder.

``python -m tools.history.norway_municipalities OUT``. The development set of the
selection rule (``docs/accuracy.md``): no score of it is one of the three scored sets'.
Children by municipality x year (1 January) x single year of age 0-19, both sexes
together (``sex = both``); women 15-49 (the source's 5-year groups summed) in
``women.csv`` for the child-woman ratio. Stages as for the wards.

The source puts every year on the 2024 borders: csdata moves earlier years onto them
with its redistricting weights. A merger sums whole municipalities, so its earlier years
are exact; a municipality split between several is shared out by a fixed proportion
(every age alike), so the earlier years of the parts are estimates; and Ålesund and
Haram (split again in 2024) both hold the whole merged Ålesund in 2020-2023 (and all
years before 2024 in this file). These are flagged ``border_change`` (:data:`SPLITS`),
and so are the four cities whose wards form the Norwegian ward set (:data:`WARD_CITIES`),
so that no area of a scored set is in the development set. Vindafjord and Aure have no
2005 row (read as missing). Source: Statistics Norway (SSB), NLOD 2.0, via csdata (FHI, MIT).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tools.history.common import converter_main
from tools.history.norway import STAGES

#: Municipalities whose history before a split is estimated or duplicated by the source.
SPLITS = {
    "1508": "Ålesund: Haram split off again in 2024; the source gives Ålesund and Haram the same counts "
            "(the merged Ålesund) for every year before 2024 (border change)",
    "1580": "Haram: re-established from Ålesund in 2024; before 2024 the source repeats the merged Ålesund's "
            "counts (border change)",
    "1806": "Narvik: received part of Tysfjord (split 2020); earlier years estimated by proportional weights (border change)",
    "1875": "Hamarøy: received part of Tysfjord (split 2020); earlier years estimated by proportional weights (border change)",
    "5055": "Heim: received part of Snillfjord (split 2020); earlier years estimated by proportional weights (border change)",
    "5056": "Hitra: received part of Snillfjord (split 2020); earlier years estimated by proportional weights (border change)",
    "5059": "Orkland: received part of Snillfjord (split 2020); earlier years estimated by proportional weights (border change)",
}
#: The cities of the Norwegian ward set (a scored set): left out of the development set.
WARD_CITIES = {"0301": "Oslo", "1103": "Stavanger", "4601": "Bergen", "5001": "Trondheim"}


def convert(source: Path) -> tuple[dict[str, object], dict[str, pd.DataFrame]]:
    """The settings and tables of the Norwegian-municipality history."""
    areas = pd.read_csv(source / "norway_areas.csv", dtype=str, keep_default_na=False)
    kids = pd.read_csv(source / "norway_municipality_children_0_19.csv", dtype={"area_code": str})
    women = pd.read_csv(source / "norway_municipality_women_15_49.csv", dtype={"area_code": str})
    municipalities = areas[areas["level"] == "municipality"].set_index("area_code")
    codes = sorted(set(kids["area_code"]))
    notes = []
    for code in codes:
        note = SPLITS.get(code, "")
        if code in WARD_CITIES:
            note = f"{WARD_CITIES[code]}: its wards are the Norwegian ward set (a scored set); left out of the development set"
        source_note = municipalities["note"].get(code, "")
        notes.append("; ".join(n for n in (note, source_note) if n))
    out_areas = pd.DataFrame({
        "area_code": codes,
        "area_name": [municipalities["area_name"].get(c, c) for c in codes],
        "border_change": [c in SPLITS or c in WARD_CITIES for c in codes],
        "note": notes,
    })
    pop = kids.assign(sex="both", population=kids["population"].astype(float))
    pop = pop.sort_values(["area_code", "year", "age"]).reset_index(drop=True)
    w = women.groupby(["area_code", "year"], as_index=False).agg(women=("population", "sum"))
    w = w.assign(women=w["women"].astype(float)).sort_values(["area_code", "year"])
    settings: dict[str, object] = {
        "name": "Norway municipalities",
        "source": "Statistics Norway (SSB) table 07459, 2024 borders, NLOD 2.0, via csdata (FHI, MIT)",
        "naive_years": 5,
    }
    return settings, {"areas": out_areas, "population": pop[["area_code", "year", "sex", "age", "population"]],
                      "women": w.reset_index(drop=True)}


main = converter_main("Norwegian municipalities (children 0-19, women 15-49) -> history folder", convert, STAGES)


if __name__ == "__main__":
    raise SystemExit(main())
