"""``observed.csv`` of the Haizhu district from ``data/sources/haizhu_observed.csv``, and the calibration of the default.

Births of Haizhu are an index of Guangzhou's (see ``data/sources/README.md``):
:math:`B_y = B_{2020} \\, G_y / G_{2020}` for the registered births :math:`G_y` of 2021-2023,
and :math:`B_{2024} = B_{2023} \\times 1.228` (resident births).

Of the plan's 2020 shares only the public share of kindergarten children (51.16 %) is an observation (``public_share``): the
result projects it as public demand over demand. The affordable (普惠) share (87.96 %) and the migrant children's public share
(41.35 %) are inputs, not checks: they determine ``plan.csv``'s private affordable share and ``stages.csv``'s
``migrant_public_share`` by construction, and the result, which has sectors but not origins or affordability, cannot project
them. The kindergarten public share is an input too (``stages.csv``'s ``local_public_share`` is solved from it), so in 2020 it
is reproduced by construction; the row checks that the demand model keeps it.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

PLAIN = "data/sources/haizhu_observed.csv"


def observed_rows(sources: Path, births_2020: float) -> list[dict[str, object]]:
    """The rows of ``observed.csv``: populations and the kindergarten public share as published, births implied by Guangzhou's index."""
    with open(sources / "haizhu_observed.csv", encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    rows: list[dict[str, object]] = []
    for r in table:
        if r["indicator"] == "population":
            rows.append({"indicator": "population", "area_code": r["area_code"], "year": int(r["year"]), "stage": "", "sex": "",
                         "age": "", "value": int(r["value"]), "source": r["source"]})
    gz = {int(r["year"]): float(r["value"]) for r in table if r["indicator"] == "gz_registered_births"}
    change = {int(r["year"]): float(r["value"]) for r in table if r["indicator"] == "gz_resident_births_change"}
    births: dict[int, float] = {}
    for year in sorted(gz):
        if year > 2020:
            births[year] = births_2020 * gz[year] / gz[2020]
    for year in sorted(change):
        births[year] = births[year - 1] * change[year]
    for year, value in births.items():
        how = (f"Guangzhou registered births {year} / 2020 ({gz[year]:.0f} / {gz[2020]:.0f})" if year in gz
               else f"the {year - 1} figure x {change[year]} (Guangzhou resident births {year} / {year - 1})")
        rows.append({"indicator": "births", "area_code": "440105", "year": year, "stage": "", "sex": "", "age": "",
                     "value": f"{value:.0f}", "source": f"index: estimated Haizhu births 2020 ({births_2020:.0f}) x {how}; {PLAIN}"})
    for r in table:
        if r["indicator"] == "public_share":
            rows.append({"indicator": "public_share", "area_code": r["area_code"], "year": int(r["year"]), "stage": r["stage"], "sex": "",
                         "age": "", "value": r["value"], "source": f"{r['source']}; {PLAIN}"})
    return rows


def calibrate_default(out_dir: Path) -> Mapping[str, bytes]:
    """Fit the district just written in ``out_dir`` to its ``observed.csv`` (level of migration, fertility per year; baseline as reference).

    Returns the calibrated ``migration.csv``, ``fertility.csv`` and ``sources.csv``.
    """
    import capacity
    from capacity.calibrate import calibrated_files, fit

    district = capacity.load_district(out_dir)
    reference = capacity.load_scenario("baseline")
    result = fit(district, reference, trend=False)
    files = calibrated_files(district, result, reference)
    return {name: files[name] for name in ("migration.csv", "fertility.csv", "sources.csv")}
