"""A synthetic region of many districts and streets, written in the district format.

For tests and benchmarks of large runs (``capacity run --district FOLDER``); every figure
is synthetic and labelled as such in ``sources.csv``. The region is one district folder
whose areas are the streets of all its districts: street ``k`` of district ``j`` has the
area code ``99 jjjj kkk`` (district code ``99jjjj``, the region ``990000``) and is a
square of a regular grid (0.01 degree, about 1 km) near Guangzhou.

How the streets are made (seeded, :class:`numpy.random.Generator` of ``--seed``): each
street copies the age structure of a Haizhu street (the embedded district, 2020 census)
drawn at random, scaled by a lognormal factor (median 1, sigma 0.5) and perturbed by a
smooth age tilt :math:`\\exp(\\beta (x - 20) / 20)`, :math:`\\beta \\sim N(0, 0.15)`, so
older and younger streets appear; its net migration is the template street's times the
same scale; its places are the template street's times the scale times a lognormal
(sigma 0.2) supply factor, rounded; with probability 0.3 per stage a street gets a
project of 270 to 1,500 places opening one to six years after the base year, public with
probability 0.8. Stages, fertility, the life table and the sex ratio are Haizhu's.

Usage::

    python tools/synthetic_region.py OUT_FOLDER --districts 11 --streets 16 [--seed 0]

writes ``OUT_FOLDER`` (``district.toml``, ``areas.geojson``, ``population.csv`` ...), which
``capacity validate OUT_FOLDER`` accepts.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

import capacity  # noqa: E402

PROJECT_HEADER = ["project_id", "name_zh", "name_en", "stage", "places", "area_code", "location_basis",
                  "location_confidence", "kind", "ownership", "opening_year", "opening_year_basis", "source"]


def _csv(header: list[str], rows: list[tuple[object, ...]] | list[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def area_code(district: int, street: int) -> str:
    """Area code of street ``street`` (0-based) of district ``district`` (0-based)."""
    return f"99{district + 1:04d}{street + 1:03d}"


def make_region(folder: str | Path, districts: int, streets: int, seed: int = 0) -> Path:
    """Write a synthetic region of ``districts x streets`` areas into ``folder``; returns it.

    Parameters
    ----------
    folder : path
        Created (parents too); files in it are replaced.
    districts, streets : int
        Number of districts and of streets per district (at most 9,999 and 999).
    seed : int
        Seed of the generator: the same seed gives the same files.
    """
    if not (1 <= districts <= 9999 and 1 <= streets <= 999):
        raise ValueError("expected 1..9999 districts and 1..999 streets per district")
    rng = np.random.default_rng(seed)
    template = capacity.load_district()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ages = np.arange(template.open_age + 1)
    pop = template.population_array()  # (area, sex, age)
    mig = template.migration_array()
    places = template.places_array()  # (area, stage, sector)
    stages = template.stage_names
    n = districts * streets
    picks = rng.integers(0, pop.shape[0], n)
    scale = rng.lognormal(0.0, 0.5, n)
    tilt = rng.normal(0.0, 0.15, n)
    supply = rng.lognormal(0.0, 0.2, n)
    width = int(np.ceil(np.sqrt(n)))
    features, population, migration, place_rows, projects = [], [], [], [], []
    for i in range(n):
        j, k = divmod(i, streets)
        code = area_code(j, k)
        x0, y0 = 113.0 + 0.01 * (i % width), 22.5 + 0.01 * (i // width)
        ring = [[x0, y0], [x0 + 0.01, y0], [x0 + 0.01, y0 + 0.01], [x0, y0 + 0.01], [x0, y0]]
        features.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                         "properties": {"area_code": code, "name_zh": f"合成{j + 1}区{k + 1}街",
                                        "name_en": f"Synthetic {j + 1}-{k + 1}"}})
        shape = scale[i] * np.exp(tilt[i] * (ages - 20) / 20.0)
        for s, sex in enumerate(("female", "male")):
            counts = np.rint(pop[picks[i], s] * shape)
            population += [(code, sex, int(a), int(c)) for a, c in zip(ages, counts)]
            migration += [(code, sex, int(a), round(float(m), 4)) for a, m in zip(ages, mig[picks[i], s] * scale[i])]
        for st, stage in enumerate(stages):
            for c, sector in enumerate(("public", "private")):
                value = int(np.rint(places[picks[i], st, c] * scale[i] * supply[i]))
                place_rows.append((code, stage, sector, value))
            if rng.random() < 0.3:
                ownership = "public" if rng.random() < 0.8 else "private"
                year = template.base_year + int(rng.integers(1, 7))
                size = int(rng.choice([270, 540, 900, 1200, 1500]))
                projects.append((f"Q{i + 1}-{st + 1}", f"合成项目{i + 1}-{st + 1}", f"Synthetic project {i + 1}-{st + 1}",
                                 stage, size, code, "synthetic", "low", "new", ownership, year, "synthetic", "synthetic"))
    (folder / "district.toml").write_text(
        f'# A synthetic region written by tools/synthetic_region.py (seed {seed}); every figure is synthetic.\n'
        f'name = "Synthetic region {districts}x{streets}"\nname_zh = "合成地区"\ncode = "990000"\n'
        f"base_year = {template.base_year}\nopen_age = {template.open_age}\n"
        f"sex_ratio_at_birth = {template.sex_ratio_at_birth}\n"
        'projects = "projects.csv"\nattribution = "Synthetic areas (tools/synthetic_region.py)"\n', encoding="utf-8")
    (folder / "areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features},
                                                     ensure_ascii=False), encoding="utf-8")
    files = {
        "population.csv": _csv(["area_code", "sex", "age", "population"], population),
        "migration.csv": _csv(["area_code", "sex", "age", "net_migrants"], migration),
        "places.csv": _csv(["area_code", "stage", "sector", "places"], place_rows),
        "projects.csv": _csv(PROJECT_HEADER, projects),
        "stages.csv": template.stages.to_csv(index=False, lineterminator="\n"),
        "fertility.csv": template.fertility.to_csv(index=False, lineterminator="\n"),
        "life_table.csv": template.life_table.to_csv(index=False, lineterminator="\n"),
        "sources.csv": _csv(["file", "column", "estimate", "source", "method"], [
            (name, "*", "yes", "synthetic", "tools/synthetic_region.py from the Haizhu district")
            for name in ("district.toml", "areas.geojson", "population.csv", "migration.csv", "places.csv",
                         "projects.csv", "stages.csv", "fertility.csv", "life_table.csv")]),
    }
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--districts", type=int, default=11)
    parser.add_argument("--streets", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = make_region(args.folder, args.districts, args.streets, args.seed)
    print(f"wrote {out}: {args.districts} districts x {args.streets} streets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
