"""Write the Haizhu district folder from the source tables in ``data/sources``.

``build(out_dir)`` writes every file of ``capacity/data/districts/haizhu`` (the package's
embedded default) into ``out_dir``; the
files are byte-for-byte reproducible (fixed row order, fixed number formats, ``\\n`` line
ends), which ``tests/test_haizhu_build.py`` checks against the committed copy.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from tools.build_haizhu import demography as dm
from tools.build_haizhu.observed import calibrate_default, observed_rows

REPO = Path(__file__).resolve().parents[2]
SOURCES = REPO / "data" / "sources"
DISTRICT = REPO / "capacity" / "data" / "districts" / "haizhu"

ATTRIBUTION = (
    "Street boundaries approximate (Voronoi cells of street and community points): "
    "Vonng/adcode (CC BY 4.0); underlying data AMap / NBS"
)


def _write_csv(path: Path, header: list[str], rows: Iterable[Mapping[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def _fmt(x: float, digits: int) -> str:
    s = f"{x:.{digits}f}"
    return "0" if float(s) == 0 else s


DISTRICT_TOML = """\
# Haizhu District (海珠区), Guangzhou: the embedded default district.
# Written by `python -m tools.build_haizhu`; the provenance of every figure is in sources.csv.
name = "Haizhu"
name_zh = "海珠区"
code = "440105"
base_year = {base_year}
open_age = {open_age}
sex_ratio_at_birth = {srb}
projects = "projects.csv"
attribution = "{attribution}"
"""


def sources_rows(diag: Mapping[str, float]) -> list[dict[str, str]]:
    """Provenance of every file and column of the district folder."""
    fig = "data/sources/haizhu_figures.csv"
    rows = [
        ("district.toml", "sex_ratio_at_birth", "yes", "assumption",
         "assumed 1.10 male per female birth; China's registered SRB was about 1.11 in 2020"),
        ("district.toml", "base_year", "no", "7th national census, 2020-11-01", ""),
        ("areas.geojson", "*", "yes",
         "data/sources/haizhu_points.csv and haizhu_outline.csv (Vonng/adcode, CC BY 4.0; AMap / NBS)",
         "Voronoi cells around the street offices and residents' committees' points, merged by street and "
         "clipped to the district outline; approximate, not official boundaries"),
        ("population.csv", "population", "yes", f"{fig}: census total, two street totals, Guangzhou age shares, "
         "mean ages; data/sources/haizhu_street_committees.csv",
         "street totals: Xingang and Nanzhou published, the other 16 streets share the rest by residents' "
         "committees; ages: Guangzhou 2020 single-year distribution (ages 0-14: linear in age, keeping the census 0-14 "
         "share and meeting the published age-15 share, not registered births, whose rise reflects register "
         "transfers; 5-year bands split by "
         "PCHIP of the cumulative, ages 16-17 at the level of age 15 and 18-19 the rest of the 15-19 band; "
         "65+ by life-table survivors; its mean age is "
         f"{diag['guangzhou_mean_age_estimated']:.2f} against the published 35.40) tilted by exp(theta x age), "
         f"theta = {diag['tilt_theta']:.5f}, to Haizhu's mean age 39.37; sex by age from SRB x male/female lx; "
         "the same age structure in every street; integers by largest remainder; total equals 1,819,037 exactly"),
        ("fertility.csv", "rate", "yes", f"{fig}: Guangzhou registered births 2020, Haizhu share of registered population",
         f"gamma-shaped schedule (mean age {dm.FERTILITY_MEAN_AGE}, s.d. {dm.FERTILITY_SD}) scaled to "
         f"{diag['births_2020_estimated']:.0f} births in 2020 (TFR {diag['tfr_estimated']:.3f})"),
        ("life_table.csv", "lx", "yes", f"{fig}: Guangzhou life expectancy 2021, national female-male gap 2020",
         "Gompertz-Makeham hazard (slope 0.10, Makeham 0.0001) above age 1, infant mortality 3 per mille "
         "(assumed); level solved for e0 = 86.18 (female) and 80.18 (male)"),
        ("life_table.csv", "Lx", "yes", "derived from lx", "integral of l(x) over each year of age; open group to age 130"),
        ("migration.csv", "net_migrants", "yes", f"{fig}: registered net migration 2019 (+10,958)",
         "Rogers-Castro (1981) model schedule by age scaled to the registered net migration, half each sex, "
         "shared among streets by population; resident (non-registered) migration is not published"),
        ("stages.csv", "first_age", "no", "the simulator's stage definition (kindergarten 3-5, primary 6-11, "
         "junior 12-14, senior 15-17)", ""),
        ("stages.csv", "label", "no", "names of the plan's stages (学前教育, 小学, 初中, 高中) in English", ""),
        ("stages.csv", "class_size", "no", f"{fig}: 《幼儿园工作规程》 (2016) art. 11; national standard-school norms", ""),
        ("stages.csv", "enrolment_rate", "yes", "Haizhu 14th Five-Year Education Plan Table 1 items 1 and 4; "
         "Guangzhou statistical yearbook 2016 table 17-8",
         "kindergarten 118.7 % (gross, published); primary 1 (compulsory); junior 98.68 % (nine-year "
         "consolidation rate); senior: Guangzhou general senior pupils 2015 / estimated Guangzhou residents 15-17"),
        ("stages.csv", "migrant_share", "yes", "Haizhu plan chapter 1 (117 schools, 26 private); Table 1 item 7",
         "compulsory: solved from 1 - 26/117 = (1 - m) x 0.97 + m x 0.4135, taking private schools as large as "
         "public ones; kindergarten the same; senior assumed 0.15"),
        ("stages.csv", "local_public_share", "yes", "assumption; Haizhu plan chapter 1 (public kindergarten share 51.16 %)",
         "compulsory 0.97 assumed; kindergarten solved so that the public share is 51.16 %; senior 0.90 assumed"),
        ("stages.csv", "migrant_public_share", "yes", "Haizhu plan Table 1 item 7 (41.35 %)",
         "compulsory and kindergarten 41.35 % (published for compulsory, applied to kindergarten); senior 0.50 assumed"),
        ("places.csv", "places", "yes", f"{fig}: the plan's school inventory (chapter 1: 141 standardised kindergartens = "
         "95.9 %, 117 compulsory schools of which 26 private); Guangzhou primary and junior schools and primary pupils; "
         "class-size norms",
         f"kindergarten: {diag['kindergartens']:.0f} kindergartens x 360 children (the norm's maximum) = "
         f"{diag['kindergarten_places']:,.0f}, public share 51.16 %; primary and junior: the 117 schools split as "
         f"Guangzhou's 992 primary : 419 junior, a primary school of Guangzhou's average size in whole classes of 45, "
         f"a junior school {dm.JUNIOR_CLASSES_PER_SCHOOL} classes of 50 (assumed), 26/117 private: "
         f"{diag['primary_places']:,.0f} primary and {diag['junior_places']:,.0f} junior places; streets share each "
         "stage's places by their estimated base-year demand, in whole classes (an estimate: school locations are not "
         "used); senior: no inventory published, the base-year demand per street and sector rounded up to whole "
         "classes (so the senior base-year gap is zero by construction)"),
        ("observed.csv", "value", "no", "data/sources/haizhu_observed.csv: census total and two street totals 2020, "
         "year-end resident population 2021 and 2023; public share of kindergarten children 2020 (Haizhu plan chapter 1)", ""),
        ("observed.csv", "source", "yes", "data/sources/haizhu_observed.csv: Guangzhou registered births 2020-2023, resident births 2024",
         "births rows: an index, not Haizhu's own births: estimated Haizhu births of 2020 x Guangzhou's births of the year / 2020"),
        ("plan.csv", "value", "no", "Haizhu 14th Five-Year Education Plan (2022): chapter 2 section 2(1), Table 1, chapter 1", ""),
        ("projects.csv", "places", "no", "Haizhu 14th Five-Year Education Plan (2022), appendix", ""),
        ("projects.csv", "area_code", "yes", "project names in the appendix",
         "street inferred from the road, estate or village in the project name; see location_basis and "
         "location_confidence per row"),
        ("projects.csv", "opening_year", "yes", "assumption", "the plan gives no years; see opening_year_basis per row"),
    ]
    return [dict(zip(("file", "column", "estimate", "source", "method"), r)) for r in rows]


PLAN = "Haizhu 14th Five-Year Education Plan (2022)"


def plan_rows() -> list[dict[str, object]]:
    """The plan's stated needs and targets (published figures)."""
    rows: list[dict[str, object]] = [
        {"indicator": "need", "stage": stage, "year": 2025, "value": value,
         "source": f"{PLAN}, chapter 2 section 2(1): 预计到2025年需新增学位"}
        for stage, value in (("kindergarten", 4234), ("primary", 4000), ("junior", 4000), ("senior", 1100))
    ]
    rows.append({"indicator": "public_places_added", "stage": "", "year": 2025, "value": 12360,
                 "source": f"{PLAN}, Table 1 item 8: 累计新增基础教育公办学位数"})
    rows.append({"indicator": "public_affordable_share", "stage": "kindergarten", "year": 2025,
                 "value": 0.85, "source": f"{PLAN}, Table 1 item 3: 公办和普惠性幼儿园在园幼儿占比 > 85 %"})
    rows.append({"indicator": "private_affordable_share", "stage": "kindergarten", "year": 2020,
                 "value": "0.7535", "source": f"{PLAN}, chapter 1: (87.96 % - 51.16 %) / (100 % - 51.16 %), "
                 "affordable private share of private kindergarten children, 2020"})
    return rows


def build(out_dir: Path, sources: Path = SOURCES, calibrated: bool = True) -> None:
    """Write every file of the Haizhu district folder into ``out_dir``, calibrated to ``observed.csv`` unless ``calibrated`` is False."""
    from tools.build_haizhu.geometry import write_areas

    out_dir.mkdir(parents=True, exist_ok=True)
    fig = dm.read_figures(sources)
    committees = dm.read_committees(sources)
    lt = dm.life_tables(fig)
    gz = dm.guangzhou_age_distribution(fig, lt)
    codes, pop, diag = dm.base_population(fig, committees, lt)
    fert, fdiag = dm.fertility_schedule(fig, pop[:, 0].sum(axis=0).astype(float))
    diag.update(fdiag)
    mig = dm.net_migration(fig, pop.sum(axis=(1, 2)).astype(float))
    stages = dm.stages_table(fig, gz)
    places = dm.places_table(codes, pop, stages, dm.inventory_places(fig))
    by_stage: Counter[str] = Counter()
    for row in places:
        by_stage[str(row["stage"])] += int(str(row["places"]))
    diag["kindergartens"] = fig["standard_kindergartens_2020"] / (fig["standard_kindergarten_share_2020"] / 100)
    diag["kindergarten_places"] = by_stage["kindergarten"]
    diag["places_per_kindergarten"] = by_stage["kindergarten"] / diag["kindergartens"]
    diag["primary_places"], diag["junior_places"] = by_stage["primary"], by_stage["junior"]

    write_areas(sources, out_dir / "areas.geojson")
    (out_dir / "district.toml").write_text(
        DISTRICT_TOML.format(base_year=dm.BASE_YEAR, open_age=dm.OPEN_AGE,
                             srb=dm.SEX_RATIO_AT_BIRTH, attribution=ATTRIBUTION),
        encoding="utf-8", newline="")
    ages = range(dm.OPEN_AGE + 1)
    _write_csv(out_dir / "population.csv", ["area_code", "sex", "age", "population"],
               ({"area_code": c, "sex": s, "age": a, "population": int(pop[i, k, a])}
                for i, c in enumerate(codes) for k, s in enumerate(dm.SEXES) for a in ages))
    _write_csv(out_dir / "fertility.csv", ["age", "rate"],
               ({"age": int(a), "rate": _fmt(r, 8)} for a, r in zip(dm.FERTILITY_AGES, fert)))
    _write_csv(out_dir / "life_table.csv", ["sex", "age", "lx", "Lx"],
               ({"sex": s, "age": a, "lx": _fmt(lt[s].lx[a], 4), "Lx": _fmt(lt[s].Lx[a], 4)}
                for s in dm.SEXES for a in ages))
    _write_csv(out_dir / "migration.csv", ["area_code", "sex", "age", "net_migrants"],
               ({"area_code": c, "sex": s, "age": a, "net_migrants": _fmt(mig[i, k, a], 4)}
                for i, c in enumerate(codes) for k, s in enumerate(dm.SEXES) for a in ages))
    _write_csv(out_dir / "stages.csv", list(stages[0]),
               ({k: (_fmt(float(v), 4) if isinstance(v, (float, np.floating)) else v) for k, v in s.items()}
                for s in stages))
    _write_csv(out_dir / "places.csv", ["area_code", "stage", "sector", "places"], places)
    _write_csv(out_dir / "plan.csv", ["indicator", "stage", "year", "value", "source"], plan_rows())
    (out_dir / "projects.csv").write_bytes((sources / "haizhu_projects.csv").read_bytes())
    # candidate actions of the optimiser: provenance in its own source column, not in sources.csv
    (out_dir / "candidates.csv").write_bytes((sources / "haizhu_candidates.csv").read_bytes())
    _write_csv(out_dir / "observed.csv", ["indicator", "area_code", "year", "stage", "sex", "age", "value", "source"],
               observed_rows(sources, diag["births_2020_estimated"]))
    _write_csv(out_dir / "sources.csv", ["file", "column", "estimate", "source", "method"], sources_rows(diag))
    if calibrated:
        for name, data in calibrate_default(out_dir).items():
            (out_dir / name).write_bytes(data)
