"""Estimate Haizhu's base-year population, demographic rates, stages and places.

Every figure used comes from ``data/sources/haizhu_figures.csv`` (published figures, each
with its source) or ``data/sources/haizhu_street_committees.csv``; every assumption is a
named constant below with its reason. The methods are described in
``capacity/data/districts/haizhu/sources.csv`` (written by :func:`sources_table`) and in
``data/sources/README.md``.

Outline
-------
1. Life tables by sex: a Gompertz-Makeham hazard above age 1 plus an infant-mortality
   term, its level solved so that female and male life expectancy at birth straddle the
   published Guangzhou figure (83.18) by the national female-male gap (6 years).
2. Guangzhou single-year age distribution, 2020: age 15 from the published 0-15 count; ages
   0-14 linear in age, keeping the published 0-14 total and meeting age 15's share at age 15
   (registered births are not used: their 71 % rise 2009-2018 partly reflects
   household-register transfers, and spreading by them put 35 % more six- than
   eleven-year-olds in Haizhu; the line puts 13 % more);
   5-year bands 15-64 from the published shares, split into single years by monotone (PCHIP)
   interpolation of the cumulative distribution, which keeps every band total, except that
   ages 16 and 17 are set to the level of age 15 and 18-19 take the rest of the 15-19 band
   (interpolating towards the 20-24 band of arriving students put 37 % more 17- than
   16-year-olds); 65+ in proportion to life-table survivors.
3. Haizhu: the Guangzhou distribution tilted by ``exp(theta * age)`` with ``theta``
   solved so that the mean age equals Haizhu's published 39.37 years.
4. Sex by age: males per female = sex ratio at birth x (male lx / female lx).
5. Streets: the two published street totals (Xingang, Nanzhou); the other 16 streets
   share the rest of the census total in proportion to their residents' committees.
   Integers by largest remainder within each street, so streets and the district sum
   exactly to the census total 1,819,037.
6. Fertility: a gamma-shaped schedule over ages 15-49 (mean age 30.5, s.d. 5.5 years)
   scaled so that births equal Haizhu's share of Guangzhou registered births in 2020.
7. Net migration: Rogers-Castro model schedule, scaled to the published registered net
   migration of 2019, split equally by sex, shared among streets by population.
8. Stages and places: see :func:`stages_table`, :func:`inventory_places` and :func:`places_table`.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

OPEN_AGE = 100
RADIX = 100_000
BASE_YEAR = 2020
SEXES = ("female", "male")

# --- assumptions (estimates; each is listed in sources.csv) -------------------------
SEX_RATIO_AT_BIRTH = 1.10
"""Male births per female birth. Assumed: China's registered SRB was about 1.11 in 2020."""
INFANT_MORTALITY = 0.003
"""Probability of dying before age 1. Assumed, below China's 5.4 per mille of 2020."""
GOMPERTZ_SLOPE = 0.10
"""Gompertz rate of ageing (per year), a typical value for low-mortality populations."""
MAKEHAM = 0.0001
"""Age-independent hazard (per year)."""
FERTILITY_MEAN_AGE = 30.5
FERTILITY_SD = 5.5
BAND_55_59_OVER_50_54 = 0.87
"""Ratio of the 55-59 to the 50-54 band, used to split the unpublished 15-19 + 55-59 rest."""
ROGERS_CASTRO = dict(a1=0.02, alpha1=0.10, a2=0.06, alpha2=0.10, mu2=20.0, lambda2=0.40, c=0.003)
"""Rogers & Castro (1981) model migration schedule parameters (their average schedule)."""
MIGRANT_SHARE_COMPULSORY_LOCAL_PUBLIC = 0.97
"""Share of local (registered) children of compulsory age in public schools. Assumed."""
SENIOR_MIGRANT_SHARE = 0.15
SENIOR_LOCAL_PUBLIC = 0.90
SENIOR_MIGRANT_PUBLIC = 0.50


def read_figures(sources: Path) -> dict[str, float]:
    """Published figures keyed by name, from ``haizhu_figures.csv``."""
    with open(sources / "haizhu_figures.csv", encoding="utf-8", newline="") as fh:
        return {row["key"]: float(row["value"]) for row in csv.DictReader(fh)}


def read_committees(sources: Path) -> dict[str, int]:
    """Residents' committees per street code."""
    with open(sources / "haizhu_street_committees.csv", encoding="utf-8", newline="") as fh:
        return {r["area_code"]: int(r["residents_committees_2016"]) for r in csv.DictReader(fh)}


# --- 1. life table ------------------------------------------------------------------

@dataclass(frozen=True)
class LifeTable:
    """Single-year life table, ages 0..OPEN_AGE, radix :data:`RADIX`."""

    lx: NDArray[np.float64]
    Lx: NDArray[np.float64]

    @property
    def e0(self) -> float:
        return float(self.Lx.sum() / self.lx[0])


def _life_table(level: float, step: float = 0.01, end: float = 130.0) -> LifeTable:
    """Life table from hazard mu(x) = MAKEHAM + level * exp(GOMPERTZ_SLOPE x), x >= 1.

    Below age 1, l(x) = 1 - q0 (1 - exp(-10x)) / (1 - exp(-10)), a front-loaded infant
    curve with q0 = INFANT_MORTALITY (average age at death in the first year about 0.1).
    lx at integer ages; Lx = integral of l over [x, x+1) by the trapezoid rule on a
    0.01-year grid; the open group's Lx is the integral from OPEN_AGE to 130.
    """
    x = np.arange(0.0, end + step / 2, step)
    l_inf = 1.0 - INFANT_MORTALITY * (1 - np.exp(-10 * x)) / (1 - math.exp(-10.0))
    cum_h = MAKEHAM * (x - 1) + level / GOMPERTZ_SLOPE * (
        np.exp(GOMPERTZ_SLOPE * x) - math.exp(GOMPERTZ_SLOPE)
    )
    surv = np.where(x < 1.0, l_inf, (1.0 - INFANT_MORTALITY) * np.exp(-cum_h))
    per_year = int(round(1 / step))
    idx = np.arange(OPEN_AGE + 1) * per_year
    lx = surv[idx]
    seg = (surv[:-1] + surv[1:]) / 2 * step
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    Lx = np.empty(OPEN_AGE + 1)
    Lx[:-1] = cum[idx[1:]] - cum[idx[:-1]]
    Lx[-1] = cum[-1] - cum[idx[-1]]
    return LifeTable(lx * RADIX, Lx * RADIX)


def life_tables(fig: dict[str, float]) -> dict[str, LifeTable]:
    """Female and male life tables with e0 = Guangzhou e0 +/- half the sex gap."""
    gap = fig["china_female_male_e0_gap_2020"]
    target = {"female": fig["gz_life_expectancy_2021"] + gap / 2,
              "male": fig["gz_life_expectancy_2021"] - gap / 2}
    out = {}
    for sex, e0 in target.items():
        level = brentq(lambda b, e0=e0: _life_table(b).e0 - e0, 1e-8, 1e-2, xtol=1e-14)
        out[sex] = _life_table(level)
    return out


# --- 2-4. age and sex structure -----------------------------------------------------

def guangzhou_age_distribution(fig: dict[str, float], lt: dict[str, LifeTable]) -> NDArray[np.float64]:
    """Share of Guangzhou's 2020 population at each single age 0..OPEN_AGE (sums to 1)."""
    share = np.zeros(OPEN_AGE + 1)
    l_both = (lt["female"].lx + lt["male"].lx) / 2
    share[15] = fig["gz_population_0_15"] / fig["gz_population_2020"] - fig["gz_share_0_14"] / 100
    # ages 0-14 linear in age, c + d a: the census 0-14 total (15 c + 105 d) kept and the line meeting age 15's share (c + 15 d)
    total = fig["gz_share_0_14"] / 100
    slope = (15 * share[15] - total) / 120
    share[:15] = share[15] - slope * (15 - np.arange(15))
    bands = {lo: fig[f"gz_share_{lo}_{lo + 4}"] / 100 for lo in range(20, 55, 5)}
    rest = fig["gz_share_15_59"] / 100 - sum(bands.values())  # 15-19 plus 55-59
    bands[55] = BAND_55_59_OVER_50_54 * bands[50]
    bands[15] = rest - bands[55]
    bands[60] = (fig["gz_share_60_plus"] - fig["gz_share_65_plus"]) / 100
    # cumulative share from age 16 (age 15 is known on its own) to 65
    knots = [16] + list(range(20, 70, 5))
    cum = [0.0, bands[15] - share[15]]
    for lo in range(20, 65, 5):
        cum.append(cum[-1] + bands[lo])
    ogive = PchipInterpolator(knots, cum)
    share[16:65] = np.diff(ogive(np.arange(16, 66)))
    # ages 16-17 as large as age 15 (school ages: no students arriving yet); 18-19 keep the rest of the 15-19 band
    rest_18_19 = bands[15] - 3 * share[15]
    share[16:18] = share[15]
    share[18:20] = share[18:20] / share[18:20].sum() * rest_18_19
    old = l_both[65:].copy()
    old[-1] = (lt["female"].Lx[-1] + lt["male"].Lx[-1]) / 2  # open group: person-years
    share[65:] = old / old.sum() * fig["gz_share_65_plus"] / 100
    return share


def mean_age(share: NDArray[np.float64]) -> float:
    """Mean age, counting each completed age at its mid-point (open group at OPEN_AGE + 2.5)."""
    mid = np.arange(OPEN_AGE + 1) + 0.5
    mid[-1] = OPEN_AGE + 2.5
    return float((share * mid).sum() / share.sum())


def tilt_to_mean_age(share: NDArray[np.float64], target: float) -> tuple[NDArray[np.float64], float]:
    """Exponentially tilt an age distribution to a target mean age; returns (share, theta)."""
    ages = np.arange(OPEN_AGE + 1, dtype=float)

    def tilted(theta: float) -> NDArray[np.float64]:
        w = share * np.exp(theta * (ages - 40.0))
        return w / w.sum()

    theta = brentq(lambda t: mean_age(tilted(t)) - target, -0.2, 0.2, xtol=1e-14)
    return tilted(theta), theta


def male_fraction(lt: dict[str, LifeTable]) -> NDArray[np.float64]:
    """Share of males at each age: SRB x lx_m / lx_f males per female."""
    ratio = SEX_RATIO_AT_BIRTH * lt["male"].lx / lt["female"].lx
    ratio[-1] = SEX_RATIO_AT_BIRTH * lt["male"].Lx[-1] / lt["female"].Lx[-1]
    return ratio / (1 + ratio)


def street_totals(fig: dict[str, float], committees: dict[str, int]) -> dict[str, int]:
    """Census totals per street: published where known, else by committees (integers)."""
    known = {k[-9:]: int(v) for k, v in fig.items() if k.startswith("street_population_")}
    rest = int(fig["census_2020_population"]) - sum(known.values())
    others = [c for c in sorted(committees) if c not in known]
    weights = np.array([committees[c] for c in others], dtype=float)
    alloc = largest_remainder(weights / weights.sum() * rest, rest)
    out = dict(known)
    out.update({c: int(n) for c, n in zip(others, alloc)})
    return dict(sorted(out.items()))


def largest_remainder(values: NDArray[np.float64], total: int) -> NDArray[np.int64]:
    """Round non-negative values to integers summing to ``total`` (largest remainders)."""
    floor = np.floor(values).astype(np.int64)
    short = int(total - floor.sum())
    if short < 0 or short > len(values):
        raise ValueError(f"cannot round values summing to {values.sum()} to total {total}")
    order = np.lexsort((np.arange(len(values)), -(values - floor)))
    floor[order[:short]] += 1
    return floor


def base_population(fig: dict[str, float], committees: dict[str, int],
                    lt: dict[str, LifeTable]) -> tuple[list[str], NDArray[np.int64], dict[str, float]]:
    """Base population (area, sex, age) as integers, plus diagnostics."""
    gz = guangzhou_age_distribution(fig, lt)
    hz, theta = tilt_to_mean_age(gz, fig["mean_age_haizhu_2020"])
    male = male_fraction(lt)
    cell = np.stack([hz * (1 - male), hz * male])  # (sex, age), sums to 1
    totals = street_totals(fig, committees)
    codes = list(totals)
    pop = np.stack([largest_remainder((cell * totals[c]).ravel(), totals[c]).reshape(cell.shape)
                    for c in codes])
    diag = {
        "guangzhou_mean_age_estimated": mean_age(gz),
        "tilt_theta": theta,
        "haizhu_share_0_14": float(hz[:15].sum()),
        "sex_ratio_total": float(pop[:, 1].sum() / pop[:, 0].sum()),
    }
    return codes, pop, diag


# --- 6-7. fertility and migration ---------------------------------------------------

FERTILITY_AGES = np.arange(15, 50)


def fertility_schedule(fig: dict[str, float], women: NDArray[np.float64]) -> tuple[NDArray[np.float64], dict[str, float]]:
    """Annual ASFR for ages 15-49 giving Haizhu's estimated 2020 births.

    Shape: gamma density of (age + 0.5 - 14) with the assumed mean and s.d.; level:
    births = Guangzhou registered births 2020 x Haizhu's share of the registered population.
    ``women`` is the district's female population by age 0..OPEN_AGE.
    """
    x = FERTILITY_AGES + 0.5 - 14.0
    mean = FERTILITY_MEAN_AGE - 14.0
    scale = FERTILITY_SD ** 2 / mean
    k = mean / scale
    shape = x ** (k - 1) * np.exp(-x / scale)
    shape /= shape.sum()
    births = fig["gz_births_2020"] * fig["haizhu_share_of_gz_registered"] / 100
    tfr = births / float((shape * women[FERTILITY_AGES]).sum())
    return tfr * shape, {"births_2020_estimated": births, "tfr_estimated": tfr}


def net_migration(fig: dict[str, float], street_pop: NDArray[np.float64]) -> NDArray[np.float64]:
    """Net migrants per year (area, sex, age) from the Rogers-Castro schedule."""
    rc = ROGERS_CASTRO
    x = np.arange(OPEN_AGE + 1, dtype=float)
    m = (rc["a1"] * np.exp(-rc["alpha1"] * x)
         + rc["a2"] * np.exp(-rc["alpha2"] * (x - rc["mu2"]) - np.exp(-rc["lambda2"] * (x - rc["mu2"])))
         + rc["c"])
    m = m / m.sum() * fig["haizhu_registered_net_migration_2019"]
    share = street_pop / street_pop.sum()
    return share[:, None, None] * np.stack([m / 2, m / 2])[None, :, :]


# --- 8. stages and places -----------------------------------------------------------

STAGE_BANDS = (("kindergarten", 3, 5), ("primary", 6, 11), ("junior", 12, 14), ("senior", 15, 17))


#: Names of the stages in figures and reports (the plan's 学前教育, 小学, 初中, 高中).
STAGE_LABELS = {"kindergarten": "Kindergarten", "primary": "Primary", "junior": "Junior secondary",
                "senior": "Senior secondary"}


def stages_table(fig: dict[str, float], gz_share: NDArray[np.float64]) -> list[dict[str, object]]:
    """One row per stage: ages, class size, enrolment and public/private parameters.

    * enrolment: kindergarten = Table 1 gross rate 118.7 %; primary = 1 (compulsory);
      junior = the nine-year consolidation rate 98.68 %; senior (general senior high) =
      Guangzhou general senior pupils (2015) / estimated Guangzhou residents aged 15-17.
    * migrant share of compulsory pupils, m, solved from the plan's figures: 26 of 117
      schools are private; taking private schools as large as public ones, the private
      share of pupils is 26/117, so 1 - 26/117 = (1 - m) L + m M with M = 41.35 % (Table 1
      item 7) and L the assumed local public share.
    * kindergarten: same m; L solved so that the public share equals 51.16 %.
    * senior: assumed shares (migrants' children mostly sit the entrance exam elsewhere).
    """
    M = fig["migrant_public_share_2020"] / 100
    L = MIGRANT_SHARE_COMPULSORY_LOCAL_PUBLIC
    public = 1 - fig["private_compulsory_schools_2020"] / fig["compulsory_schools_2020"]
    m = (L - public) / (L - M)
    kg_public = fig["kindergarten_public_share_2020"] / 100
    kg_local = (kg_public - m * M) / (1 - m)
    gz_15_17 = gz_share[15:18].sum() * fig["gz_population_2020"]
    senior_rate = fig["gz_senior_pupils_2015"] / gz_15_17
    params = {
        "kindergarten": (fig["kindergarten_gross_enrolment_2020"] / 100, m, kg_local, M),
        "primary": (1.0, m, L, M),
        "junior": (fig["compulsory_consolidation_2020"] / 100, m, L, M),
        "senior": (senior_rate, SENIOR_MIGRANT_SHARE, SENIOR_LOCAL_PUBLIC, SENIOR_MIGRANT_PUBLIC),
    }
    rows = []
    for name, first, last in STAGE_BANDS:
        rate, ms, lp, mp = params[name]
        rows.append({"stage": name, "first_age": first, "last_age": last,
                     "class_size": int(fig[f"class_size_{name}"]),
                     "enrolment_rate": round(rate, 4), "migrant_share": round(ms, 4),
                     "local_public_share": round(lp, 4), "migrant_public_share": round(mp, 4),
                     "label": STAGE_LABELS[name]})
    return rows


JUNIOR_CLASSES_PER_SCHOOL = 18
"""Classes of a junior secondary school: assumed, the middle of the standard sizes 12-30 (no count published)."""


def inventory_places(fig: dict[str, float]) -> dict[str, tuple[float, float]]:
    """District places of kindergarten, primary and junior in 2020 from the school inventory: stage -> (total, public share).

    * kindergarten: 141 standardised kindergartens are 95.9 % of all, so 147 kindergartens,
      each at the norm's 360 children (12 classes of 30); public share of places = the
      public share of kindergarten children, 51.16 %.
    * primary and junior: the 117 compulsory schools split as Guangzhou's 992 primary and
      419 junior schools; a primary school as large as Guangzhou's average (937,870 pupils
      in 2015 / 992 schools, rounded down to whole classes of 45), a junior school
      :data:`JUNIOR_CLASSES_PER_SCHOOL` classes of 50; 26 of the 117 schools private, taken
      as large as public ones.
    """
    kindergartens = round(fig["standard_kindergartens_2020"] / (fig["standard_kindergarten_share_2020"] / 100))
    schools = fig["compulsory_schools_2020"]
    primary_schools = round(schools * fig["gz_primary_schools_2020"] / (fig["gz_primary_schools_2020"] + fig["gz_junior_schools_2020"]))
    primary_size = math.floor(fig["gz_primary_pupils_2015"] / fig["gz_primary_schools_2020"] / fig["class_size_primary"]) * fig["class_size_primary"]
    public = 1 - fig["private_compulsory_schools_2020"] / schools
    return {"kindergarten": (kindergartens * fig["kindergarten_max_children"], fig["kindergarten_public_share_2020"] / 100),
            "primary": (primary_schools * primary_size, public),
            "junior": ((schools - primary_schools) * JUNIOR_CLASSES_PER_SCHOOL * fig["class_size_junior"], public)}


def places_table(codes: list[str], pop: NDArray[np.int64], stages: list[dict[str, object]],
                 inventory: dict[str, tuple[float, float]] | None = None) -> list[dict[str, object]]:
    """Existing places in 2020 per street, stage and sector.

    Stages in ``inventory`` (:func:`inventory_places`): the district's places and public
    share from the school inventory, shared among streets in proportion to each street's
    base-year demand of the stage (an estimate: school locations are not published), in
    whole classes. Other stages (senior: no inventory published) and without ``inventory``:
    the base-year demand of each street, stage and sector, rounded up to whole classes.
    """
    from capacity.core.demand import StageBands, stage_demand

    bands = StageBands(
        names=tuple(str(s["stage"]) for s in stages),
        first_age=np.array([s["first_age"] for s in stages]),
        last_age=np.array([s["last_age"] for s in stages]),
        enrolment_rate=np.array([s["enrolment_rate"] for s in stages], dtype=float),
        migrant_share=np.array([s["migrant_share"] for s in stages], dtype=float),
        local_public_share=np.array([s["local_public_share"] for s in stages], dtype=float),
        migrant_public_share=np.array([s["migrant_public_share"] for s in stages], dtype=float),
    )
    demand = stage_demand(pop[None, ..., None].astype(float), bands)[0, ..., 0]  # (area, stage, sector)
    rows = []
    for j, s in enumerate(stages):
        if inventory and s["stage"] in inventory:
            total, public = inventory[str(s["stage"])]
            street = demand[:, j, :].sum(axis=1)
            demand[:, j, 0] = total * public * street / street.sum()
            demand[:, j, 1] = total * (1 - public) * street / street.sum()
    for i, code in enumerate(codes):
        for j, s in enumerate(stages):
            size = int(s["class_size"])
            for k, sector in enumerate(("public", "private")):
                places = (int(round(demand[i, j, k] / size) * size) if inventory and s["stage"] in inventory
                          else int(math.ceil(demand[i, j, k] / size - 1e-9) * size))
                rows.append({"area_code": code, "stage": s["stage"], "sector": sector, "places": places})
    return rows
