"""Shared fixtures: a tiny, valid, synthetic district written into ``tmp_path``.

Layout (the projects table inside the district folder, as ``district.toml`` names it)::

    <tmp>/data/districts/demo/district.toml, areas.geojson, stages.csv, population.csv,
                              fertility.csv, life_table.csv, migration.csv, places.csv,
                              projects.csv, sources.csv (and plan.csv with ``plan=True``)

Two areas (``990001001`` and ``990001002``, adjacent squares), ``open_age`` 20, four
stages, fertility at ages 15..19, three projects (one a two-stage school, so four rows).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

AREA_CODES = ("990001001", "990001002")
SEXES = ("female", "male")
OPEN_AGE = 20
FERTILITY_AGES = range(15, 20)
STAGES = (
    # stage, first_age, last_age, class_size, enrolment_rate, migrant_share, local_public, migrant_public
    ("kindergarten", 3, 5, 30, 0.9, 0.3, 0.5, 0.3),
    ("primary", 6, 11, 45, 1.0, 0.4, 0.9, 0.6),
    ("junior", 12, 14, 50, 1.0, 0.3, 0.9, 0.6),
    ("senior", 15, 17, 50, 0.9, 0.2, 0.8, 0.5),
)
PROJECTS_HEADER = (
    "project_id,name_zh,name_en,stage,places,area_code,location_basis,location_confidence,"
    "kind,ownership,opening_year,opening_year_basis,source"
)


def csv_text(header: str, rows: list[tuple[object, ...]]) -> str:
    """CSV text with a header line and one line per row (LF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header.split(","))
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def square(x0: float, y0: float, size: float = 0.01) -> list[list[list[float]]]:
    """Coordinates of a square polygon (counter-clockwise, closed)."""
    return [[[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]]


def areas_doc() -> dict[str, object]:
    """The GeoJSON FeatureCollection of the two areas."""
    names = (("甲街", "Jia Jie"), ("乙街", "Yi Jie"))
    features = []
    for i, (code, (zh, en)) in enumerate(zip(AREA_CODES, names)):
        features.append(
            {
                "type": "Feature",
                "properties": {"area_code": code, "name_zh": zh, "name_en": en},
                "geometry": {"type": "Polygon", "coordinates": square(113.30 + 0.01 * i, 23.10)},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def life_table_rows() -> list[tuple[object, ...]]:
    """A smooth life table: constant death probability, radix 100000."""
    rows: list[tuple[object, ...]] = []
    for sex, q in (("female", 0.002), ("male", 0.003)):
        lx = [100000.0 * (1 - q) ** age for age in range(OPEN_AGE + 2)]
        for age in range(OPEN_AGE + 1):
            Lx = lx[age] * 40 if age == OPEN_AGE else (lx[age] + lx[age + 1]) / 2
            rows.append((sex, age, round(lx[age], 3), round(Lx, 3)))
    return rows


#: The rows of the synthetic plan.csv: every indicator once.
PLAN_ROWS: list[tuple[object, ...]] = [
    ("need", "primary", 2025, 100, "synthetic plan"),
    ("need", "kindergarten", 2025, 50, "synthetic plan"),
    ("public_places_added", "", 2025, 300, "synthetic plan"),
    ("public_affordable_share", "kindergarten", 2025, 0.85, "synthetic plan"),
    ("private_affordable_share", "kindergarten", 2023, 0.75, "synthetic plan"),
]


def write_district(folder: Path, plan: bool = False) -> Path:
    """Write the synthetic district into ``folder``.

    Parameters
    ----------
    folder : Path
        The district folder to create (``.../data/districts/<name>``).
    plan : bool
        Also write ``plan.csv`` (:data:`PLAN_ROWS`).

    Returns
    -------
    Path
        ``folder``.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "district.toml").write_text(
        'name = "Demo"\n'
        'name_zh = "示范区"\n'
        'code = "990001"\n'
        "base_year = 2023\n"
        f"open_age = {OPEN_AGE}\n"
        "sex_ratio_at_birth = 1.10\n"
        'projects = "projects.csv"\n'
        'attribution = "Synthetic test areas"\n',
        encoding="utf-8",
    )
    (folder / "areas.geojson").write_text(json.dumps(areas_doc(), ensure_ascii=False), encoding="utf-8")
    (folder / "stages.csv").write_text(
        csv_text(
            "stage,first_age,last_age,class_size,enrolment_rate,migrant_share,local_public_share,migrant_public_share",
            list(STAGES),
        ),
        encoding="utf-8",
    )
    population = [
        (code, sex, age, 100 + age + 10 * a + s)
        for a, code in enumerate(AREA_CODES)
        for s, sex in enumerate(SEXES)
        for age in range(OPEN_AGE + 1)
    ]
    (folder / "population.csv").write_text(csv_text("area_code,sex,age,population", population), encoding="utf-8")
    migration = [
        (code, sex, age, round((age - 10) * 0.5 + a, 1))
        for a, code in enumerate(AREA_CODES)
        for sex in SEXES
        for age in range(OPEN_AGE + 1)
    ]
    (folder / "migration.csv").write_text(csv_text("area_code,sex,age,net_migrants", migration), encoding="utf-8")
    fertility = [(age, round(0.01 * (age - 14), 3)) for age in FERTILITY_AGES]
    (folder / "fertility.csv").write_text(csv_text("age,rate", fertility), encoding="utf-8")
    (folder / "life_table.csv").write_text(csv_text("sex,age,lx,Lx", life_table_rows()), encoding="utf-8")
    places = [
        (code, stage[0], sector, 100 * (a + 1) + 10 * st + (5 if sector == "private" else 0))
        for a, code in enumerate(AREA_CODES)
        for st, stage in enumerate(STAGES)
        for sector in ("public", "private")
        if not (code == AREA_CODES[1] and stage[0] == "senior" and sector == "private")
    ]
    (folder / "places.csv").write_text(csv_text("area_code,stage,sector,places", places), encoding="utf-8")
    projects = [
        ("P1", "甲街九年一贯制学校", "Jia Jie nine-year school", "primary", 900, AREA_CODES[0], "plan map", "high", "new", "public", 2025, "plan says 2025", "plan 2021"),
        ("P1", "甲街九年一贯制学校", "Jia Jie nine-year school", "junior", 600, AREA_CODES[0], "plan map", "high", "new", "public", 2025, "plan says 2025", "plan 2021"),
        ("P2", "乙街幼儿园", "", "kindergarten", 270, AREA_CODES[1], "street named in plan", "medium", "expansion", "public", 2026, "assumed: two years after approval", "news 2024"),
        ("P3", "乙街中学", "Yi Jie secondary", "senior", 1000, AREA_CODES[1], "district named only", "low", "conversion", "private", 2027, "assumed", "plan 2021"),
    ]
    (folder / "projects.csv").write_text(csv_text(PROJECTS_HEADER, projects), encoding="utf-8")
    sources = [
        ("district.toml", "*", "no", "synthetic", ""),
        ("areas.geojson", "*", "yes", "synthetic squares", "drawn by hand"),
        ("stages.csv", "*", "no", "synthetic", ""),
        ("population.csv", "*", "yes", "synthetic", "formula"),
        ("fertility.csv", "rate", "yes", "synthetic", "formula"),
        ("fertility.csv", "age", "no", "synthetic", ""),
        ("life_table.csv", "*", "yes", "synthetic", "constant q"),
        ("migration.csv", "*", "yes", "synthetic", "formula"),
        ("places.csv", "*", "no", "synthetic", ""),
        ("projects.csv", "*", "no", "synthetic", ""),
    ]
    if plan:
        (folder / "plan.csv").write_text(csv_text("indicator,stage,year,value,source", PLAN_ROWS), encoding="utf-8")
        sources.append(("plan.csv", "*", "no", "synthetic", ""))
    (folder / "sources.csv").write_text(csv_text("file,column,estimate,source,method", sources), encoding="utf-8")
    return folder


@pytest.fixture
def district_dir(tmp_path: Path) -> Path:
    """A valid synthetic district folder, ``<tmp>/data/districts/demo``."""
    return write_district(tmp_path / "data" / "districts" / "demo")
