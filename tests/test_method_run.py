"""``method`` in a scenario: the main job with the children projected by a forecasting method.

A tiny district (conftest: two areas, base year 2023, stages kindergarten 3-5, primary
6-11, junior 12-14, senior 15-17) with a ``history/`` folder whose cohorts change by known
factors, so that the method's children are computed here by hand; the bad inputs (table
:data:`METHOD_CASES`, also run through ``capacity run`` by ``test_corpus``); the draws'
errors against a backtest done here by hand; the same bytes whatever the scheduler and the
chunking; default runs unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import capacity
from capacity import model
from capacity.cli import main
from capacity.forecast.driver import method_children, symmetric_quantile
from capacity.forecast.methods import parse_method
from capacity.scenario import Scenario, scenario_from_dict
from tests.conftest import AREA_CODES, STAGES, csv_text, write_district

BASE = 2023
LAST_AGE = 50  # the history's open last age
#: Cohort-change factors of the short history, per area: (2021 -> 2022, 2022 -> 2023).
FACTORS = {0: (1.10, 1.20), 1: (0.90, 1.00)}


def start(area: int, sex: int) -> float:
    """Persons of every age in the first year, and every year's age 0."""
    return 100.0 + 10 * area + sex


def history_population(years: range, factor: Callable[[int, int], float], age0: Callable[[int, int, int], float]
                       ) -> dict[tuple[int, int, int, int], float]:
    """Persons by (year, area, sex, age): the first year flat in age, then each cohort times ``factor(area, year)``."""
    pop: dict[tuple[int, int, int, int], float] = {}
    first = years[0]
    for a in range(2):
        for s in range(2):
            for x in range(LAST_AGE + 1):
                pop[first, a, s, x] = start(a, s)
            for y in years[1:]:
                f = factor(a, y)
                pop[y, a, s, 0] = age0(y, a, s)
                for x in range(1, LAST_AGE):
                    pop[y, a, s, x] = pop[y - 1, a, s, x - 1] * f
                pop[y, a, s, LAST_AGE] = (pop[y - 1, a, s, LAST_AGE - 1] + pop[y - 1, a, s, LAST_AGE]) * f
    return pop


def write_history(district: Path, years: range = range(2021, BASE + 1),
                  factor: Callable[[int, int], float] | None = None,
                  age0: Callable[[int, int, int], float] | None = None) -> Path:
    """A ``history/`` folder in ``district`` (by default the short history of :data:`FACTORS`)."""
    factor = factor or (lambda a, y: FACTORS[a][y - 2022])
    age0 = age0 or (lambda y, a, s: start(a, s))
    pop = history_population(years, factor, age0)
    folder = district / "history"
    folder.mkdir(parents=True, exist_ok=True)
    rows = [(AREA_CODES[a], y, ("female", "male")[s], x, repr(v)) for (y, a, s, x), v in sorted(pop.items())]
    (folder / "population.csv").write_text(csv_text("area_code,year,sex,age,population", rows), encoding="utf-8")
    (folder / "areas.csv").write_text(csv_text("area_code,area_name,border_change,note",
                                               [(c, f"area {c}", "False", "") for c in AREA_CODES]), encoding="utf-8")
    stages = "".join(f'\n[[stages]]\nstage = "{s[0]}"\ntable = "population"\nfirst = {s[1]}\nlast = {s[2]}\n' for s in STAGES)
    (folder / "history.toml").write_text(f'name = "demo history"\nnaive_years = 2\n{stages}', encoding="utf-8")
    return folder


def long_factor(area: int, year: int) -> float:
    """Cohort change of the long history: deterministic wobble around slow growth."""
    return 1.0 + 0.01 * area + 0.04 * math.sin(1.7 * year + 0.9 * area)


def long_age0(year: int, area: int, sex: int) -> float:
    return start(area, sex) * (1.0 + 0.08 * math.cos(0.8 * year + area))


def write_long_history(district: Path) -> Path:
    """16 years (2008-2023): 14 origins x 2 areas = 28 errors one year ahead, enough for draws."""
    return write_history(district, range(2008, BASE + 1), long_factor, long_age0)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = write_district(tmp_path / "data" / "districts" / "demo")
    write_history(folder)
    return folder


def children(res: capacity.Results) -> np.ndarray:
    """Children (year, area, stage, draw) of the first scenario."""
    return np.asarray(res.to_xarray().isel(scenario=0)["children"].transpose("year", "area", "stage", "draw").values)


def stage_ages(name: str) -> range:
    row = next(s for s in STAGES if s[0] == name)
    return range(row[1], row[2] + 1)


def hand_progression(area: int, ages: range, h: int) -> float:
    """``progression:mean:2`` by hand: cohorts of the base year times the mean ratio to the power h.

    In the base year 2023 a cohort aged z >= 2 is start x f1 x f2, aged 1 start x f2, aged
    0 start; every ratio of a year is that year's factor, so the mean ratio is r = (f1 +
    f2) / 2. A child aged x >= h in 2023 + h was aged x - h in 2023. Below h, entry by the
    child-woman ratio: W(y) (women 15-49) is 35 x start(female) x (f1 in 2022, f1 f2 in
    2023), age 0 is start(sex), so CWR = start(sex) / (35 start(female)) x mean(1 / f1,
    1 / (f1 f2)) and W(2024) = 35 start(female) f1 f2 r.
    """
    f1, f2 = FACTORS[area]
    r = (f1 + f2) / 2
    total = 0.0
    for s in range(2):
        base = {0: start(area, s), 1: start(area, s) * f2}
        for x in ages:
            z = x - h
            if z >= 0:
                total += base.get(z, start(area, s) * f1 * f2) * r ** h
            elif z == -1:  # born in the step to 2024, then h - 1 more steps
                cwr_women_2024 = start(area, s) * f1 * f2 * r * (1 / f1 + 1 / (f1 * f2)) / 2
                total += cwr_women_2024 * r ** (h - 1)
            else:
                raise AssertionError("not computed by hand")
    return total


def test_method_children_by_hand(demo: Path) -> None:
    district = capacity.load_district(demo)
    scen = scenario_from_dict({"name": "m", "horizon": BASE + 4,
                               "method": {"kindergarten": "last", "primary": "progression:mean:2"}})
    got = children(capacity.run(scen, district))
    engine = children(capacity.run(Scenario(name="e", horizon=BASE + 4), district))
    for area in range(2):
        for h in range(5):
            last = sum(start(area, s) * ({0: 1, 1: FACTORS[area][1]}.get(x, FACTORS[area][0] * FACTORS[area][1]))
                       for s in range(2) for x in stage_ages("kindergarten"))
            assert got[h, area, 0, 0] == pytest.approx(last, rel=1e-12)
            assert got[h, area, 1, 0] == pytest.approx(hand_progression(area, stage_ages("primary"), h), rel=1e-12)
    scen_k = scenario_from_dict({"name": "k", "horizon": BASE + 4, "method": "progression:mean:2"})
    every = children(capacity.run(scen_k, district))
    for area in range(2):  # in 2027 kindergarten age 3 was born in the step to 2024: the child-woman ratio
        for h in range(5):
            assert every[h, area, 0, 0] == pytest.approx(hand_progression(area, stage_ages("kindergarten"), h), rel=1e-12)
    # junior and senior stay with the engine: the same bits as a run without a method
    np.testing.assert_array_equal(got[:, :, 2:], engine[:, :, 2:])


def test_children_are_the_backtested_projection(demo: Path) -> None:
    """The run's children are what Method.project gives at the base year (the function the backtest scores)."""
    district = capacity.load_district(demo)
    assert district.history is not None
    table = district.history.tables["population"]
    got = children(capacity.run(scenario_from_dict({"name": "m", "horizon": BASE + 3, "method": "shrunk:band1:2"}), district))
    proj = parse_method("shrunk:band1:2").project(table, table.year_index(BASE), 3, 2)
    for k, (_, first, last, *_rest) in enumerate(STAGES):
        np.testing.assert_allclose(got[1:, :, k, 0], proj[..., first:last + 1].sum(axis=(2, 3)), rtol=1e-13)
        np.testing.assert_allclose(got[0, :, k, 0], table.counts[-1, :, :, first:last + 1].sum(axis=(1, 2)), rtol=1e-13)


def test_housing_and_projects_with_a_method(demo: Path) -> None:
    district = capacity.load_district(demo)
    text = {"name": "h", "horizon": BASE + 3, "method": "last",
            "housing": {"developments": [{"area_code": AREA_CODES[0], "year": 2025, "dwellings": 100}],
                        "children_per_dwelling": {"6-11": [0.1]}},
            "projects": {"delay": {"P1": 1}}}
    with_house = capacity.run(scenario_from_dict(text), district)
    plain = capacity.run(scenario_from_dict({"name": "p", "horizon": BASE + 3, "method": "last", "projects": {"delay": {"P1": 1}}}),
                         district)
    added = children(with_house) - children(plain)
    assert added[2:, 0, 1, 0] == pytest.approx([100 * 0.1 * 6] * 2)  # 6 ages of primary, from 2025
    assert np.abs(added[:2]).max() == 0 and np.abs(added[:, 1]).max() == 0
    places = with_house.gap[(with_house.gap.area_code == AREA_CODES[0]) & (with_house.gap.stage == "primary")].set_index("year")
    assert places.loc[2025, "places"] == 110 + 115 and places.loc[2026, "places"] == 110 + 115 + 900  # P1 one year late


# --- bad input ------------------------------------------------------------------------------------

def _history(edit: Callable[[Path], None] | None = None) -> Callable[[Path], None]:
    """An edit of the district folder: write the short history, then ``edit`` it (the history folder)."""
    def apply(district: Path) -> None:
        folder = write_history(district)
        if edit is not None:
            edit(folder)
    return apply


def _rewrite(name: str, change: Callable[[str], str]) -> Callable[[Path], None]:
    def edit(folder: Path) -> None:
        path = folder / name
        path.write_text(change(path.read_text(encoding="utf-8")), encoding="utf-8")
    return edit


def _drop_lines(name: str, keep: Callable[[str], bool]) -> Callable[[Path], None]:
    return _rewrite(name, lambda text: "".join(line for i, line in enumerate(text.splitlines(keepends=True))
                                               if i == 0 or keep(line)))


#: (label, edit of the district folder or None, scenario text, file named (relative), words of the line)
METHOD_CASES: list[tuple[str, Callable[[Path], None] | None, str, str, list[str]]] = [
    ("unknown method", _history(), 'method = "progression:mode:5"\n', "s.toml",
     ["key method:", "expected a rule of progression", "found 'mode'"]),
    ("method not a text", _history(), "method = 5\n", "s.toml", ["key method:", "a method spec", "found 5"]),
    ("bad method of a stage", _history(), '[method]\nprimary = "bogus"\n', "s.toml", ["key method.primary:", "found 'bogus'"]),
    ("years out of range", _history(), 'method = "shrunk:band3:1"\n', "s.toml", ["key method:", "YEARS in 2..20"]),
    ("method of an unknown stage", _history(), '[method]\nnursery = "last"\n', "s.toml",
     ["key method.nursery:", "expected a stage of the district", "found 'nursery'"]),
    ("method without a history", None, 'method = "last"\n', "s.toml",
     ["key method:", "expected a district with a history/ folder", "'last'"]),
    ("stage method without a history", None, '[method]\nprimary = "ratio"\n', "s.toml",
     ["key method.primary:", "history/ folder"]),
    ("fertility multiplier with a method", _history(), 'method = "last"\n[fertility]\nmultiplier = 0.8\n', "s.toml",
     ["key fertility.multiplier:", "expected no fertility.multiplier with method 'last'", "fertility.csv"]),
    ("tfr with a method", _history(), 'method = "last"\n[fertility]\ntfr = { 2025 = 1.1 }\n', "s.toml",
     ["key fertility.tfr:", "ignored"]),
    ("fertility uncertainty with a method", _history(), '[method]\nprimary = "last"\n[fertility]\n'
     'uncertainty = { dist = "normal", mean = 1, sd = 0.1 }\n', "s.toml", ["key fertility.uncertainty:", "with method 'last'"]),
    ("migration scale with a method", _history(), 'method = "ratio"\n[migration]\nscale = 1.5\n', "s.toml",
     ["key migration.scale:", "migration.csv"]),
    ("migration by area with a method", _history(), 'method = "ratio"\n[migration.scale_by_area]\n990001001 = 2\n', "s.toml",
     ["key migration.scale_by_area:"]),
    ("migration uncertainty with a method", _history(), 'method = "ratio"\n[migration]\n'
     'uncertainty = { dist = "lognormal", median = 1, sigma = 0.2 }\n', "s.toml", ["key migration.uncertainty:"]),
    ("migration timing with a method", _history(), 'method = "ratio"\n[migration]\ntiming = "phg"\n', "s.toml",
     ["key migration.timing:"]),
    ("mortality with a method", _history(), 'method = "ratio"\n[mortality]\ndeath_rate_multiplier = 0.9\n', "s.toml",
     ["key mortality.death_rate_multiplier:", "life_table.csv"]),
    ("plan demand with a method", _history(), 'method = "ratio"\n[demand]\nsource = "plan"\n', "s.toml",
     ["key demand.source:", 'expected "projection"', 'found "plan"']),
    ("history cell", _history(_rewrite("population.csv", lambda t: t.replace(",0,100.0\n", ",0,-5\n", 1))), 'name = "s"\n',
     "history/population.csv", ["row 2", "column 'population'", "expected a number >= 0", "-5"]),
    ("history not UTF-8", _history(lambda f: (f / "areas.csv").write_bytes("area_code,area_name,border_change,note\n"
                                                                           "990001001,甲街,False,\n".encode("gbk"))),
     'name = "s"\n', "history/areas.csv", ["row 2", "expected UTF-8 text"]),
    ("history area not of the district", _history(lambda f: [_rewrite(n, lambda t: t.replace("990001002,", "990009999,"))(f)
                                                             for n in ("areas.csv", "population.csv")]),
     'name = "s"\n', "history/areas.csv", ["row 3", "column 'area_code'", "expected an area code of the district", "'990009999'"]),
    ("history area missing", _history(lambda f: [_drop_lines(n, lambda line: not line.startswith("990001002"))(f)
                                                 for n in ("areas.csv", "population.csv")]),
     'name = "s"\n', "history/areas.csv", ["column 'area_code'", "every area of the district", "'990001002'"]),
    ("history border change", _history(_rewrite("areas.csv", lambda t: t.replace("False", "True", 1))), 'name = "s"\n',
     "history/areas.csv", ["row 2", "column 'border_change'", "expected False", "found True"]),
    ("history ends before the base year", _history(_drop_lines("population.csv", lambda line: ",2023," not in line)),
     'name = "s"\n', "history/population.csv", ["column 'year'", "base year 2023", "found 2022"]),
    ("history beyond the base year", _history(lambda f: (f / "population.csv").write_text(
        (f / "population.csv").read_text().replace(",2021,", ",2024,"), encoding="utf-8")),
     'name = "s"\n', "history/population.csv", ["column 'year'", "base year 2023", "found 2024"]),
    ("history of the base year only", _history(_drop_lines("population.csv", lambda line: ",2023," in line)),
     'name = "s"\n', "history/population.csv", ["column 'year'", "at least one year before the base year 2023"]),
    ("history area absent in the base year", _history(_drop_lines(
        "population.csv", lambda line: not (line.startswith("990001002,2023,"))) ), 'name = "s"\n',
     "history/population.csv", ["every area in the base year 2023", "'990001002'"]),
    ("history ages too few", _history(_drop_lines("population.csv", lambda line: int(line.split(",")[3]) <= 40)),
     'name = "s"\n', "history/population.csv", ["column 'age'", "expected ages 0..50 at least", "found 0..40"]),
    ("history age left out", _history(_drop_lines("population.csv", lambda line: not line.startswith("990001001,2022,male,7,"))),
     'name = "s"\n', "history/population.csv", ["column 'age'", "'990001001' in 2022", "found 101 of 102"]),
    ("history without population", _history(lambda f: (f / "population.csv").unlink()), 'name = "s"\n',
     "history/population.csv", ["required in a district's history"]),
    ("history without history.toml", _history(lambda f: (f / "history.toml").unlink()), 'name = "s"\n',
     "history/history.toml", ["expected a history folder holding history.toml"]),
    ("history.toml unknown key", _history(_rewrite("history.toml", lambda t: "colour = 1\n" + t)), 'name = "s"\n',
     "history/history.toml", ["key colour"]),
    ("history repeated row", _history(_rewrite("population.csv", lambda t: t + t.splitlines()[1] + "\n")), 'name = "s"\n',
     "history/population.csv", ["expected each key once"]),
]


@pytest.mark.parametrize("case", METHOD_CASES, ids=[c[0] for c in METHOD_CASES])
def test_bad_method_input_one_line(case: tuple[str, Callable[[Path], None] | None, str, str, list[str]], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    _label, edit, text, named, words = case
    folder = write_district(tmp_path / "d")
    if edit is not None:
        edit(folder)
    scen = tmp_path / "s.toml"
    scen.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(scen), "--district", str(folder), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1, err
    assert named in err[0].split(": expected", 1)[0], err[0]
    for w in words:
        assert w in err[0], err[0]
    assert not (tmp_path / "out").exists()


def test_draws_need_a_history_long_enough(demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scen = tmp_path / "s.toml"
    scen.write_text('method = "last"\n', encoding="utf-8")
    assert main(["run", str(scen), "--district", str(demo), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", str(scen), "--district", str(demo), "--out", str(tmp_path / "o2"), "--quiet", "--draws", "5"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "history/population.csv, column 'year': expected enough years before the base year" in err[0]
    assert "found 2 errors from 1 origins" in err[0] and not (tmp_path / "o2").exists()


def test_validate_names_the_history(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(demo)]) == 0
    assert "history 2021-2023" in capsys.readouterr().out


# --- draws --------------------------------------------------------------------------------------------

@pytest.fixture
def long_demo(tmp_path: Path) -> capacity.District:
    folder = write_district(tmp_path / "data" / "districts" / "long")
    write_long_history(folder)
    return capacity.load_district(folder)


def past_abs_errors(district: capacity.District, spec: str, stage: str, h: int) -> np.ndarray:
    """The method's |ln(A / F)| of the stage at horizon h, by hand: every origin from 2009 with 2009 + h <= 2023."""
    assert district.history is not None
    table = district.history.tables["population"]
    ages = stage_ages(stage)
    method = parse_method(spec)
    out = []
    for origin in range(2009, BASE - h + 1):
        o = table.year_index(origin)
        forecast = method.project(table, o, h, 2)[h - 1][..., ages.start:ages.stop].sum(axis=(1, 2))
        actual = table.counts[o + h][..., ages.start:ages.stop].sum(axis=(1, 2))
        out += list(np.abs(np.log(actual / forecast)))
    return np.sort(np.array(out))


def test_errors_are_the_backtest_of_the_history(long_demo: capacity.District) -> None:
    scen = scenario_from_dict({"name": "m", "horizon": BASE + 8, "method": {"primary": "progression:mean:3", "junior": "last"}})
    mc = method_children(long_demo, scen)
    assert mc is not None and mc.stages == (1, 2)
    for k, (stage, spec) in enumerate((("primary", "progression:mean:3"), ("junior", "last"))):
        pool = mc.pools[k]
        # 2 areas: fewer than 20 errors per size class, so both classes use the pooled errors
        for h in range(1, pool.measured + 1):
            expected = past_abs_errors(long_demo, spec, stage, h)
            np.testing.assert_allclose(pool.errors[h - 1][0], expected, rtol=1e-12)
            np.testing.assert_allclose(pool.errors[h - 1][1], expected, rtol=1e-12)
        # horizon h has (15 - h) origins x 2 areas: measured while that is >= 20 errors
        assert pool.measured == 5 and pool.counts[5] == (18, 9)


def test_draws_cover_as_the_backtest_and_share_one_quantile(long_demo: capacity.District) -> None:
    scen = scenario_from_dict({"name": "m", "horizon": BASE + 8, "method": "progression:mean:3"})
    draws = 2000
    got = children(capacity.run(scen, long_demo, draws=draws, seed=11))
    point = children(capacity.run(scen, long_demo))[..., 0]
    mc = method_children(long_demo, scen)
    assert mc is not None
    ratio = np.log(got / point[..., np.newaxis])
    assert np.abs(ratio[0]).max() == 0  # the base year is known
    for h in (1, 3, 5):
        q80 = float(np.quantile(past_abs_errors(long_demo, "progression:mean:3", "primary", h), 0.8))
        inside = np.abs(ratio[h, 0, 1]) <= q80 * (1 + 1e-9)
        assert abs(inside.mean() - 0.8) < 0.03, (h, inside.mean())
    # beyond the last measured horizon (5) the errors grow linearly with the horizon
    np.testing.assert_allclose(ratio[8, :, 1], ratio[5, :, 1] * 8 / 5, rtol=1e-9)
    # one uniform per draw: the same quantile in every area and stage (the draws rank alike)
    order = np.argsort(ratio[3, 0, 1], kind="stable")
    for area in range(2):
        for k in range(4):
            assert (np.diff(ratio[3, area, k][order]) >= -1e-15).all()
    # the draw's factor is the symmetric quantile at the draw's uniform
    from capacity.ensemble import draw_uniforms

    u = draw_uniforms(11, "method", 0, draws)[:, 0]
    np.testing.assert_allclose(ratio[2, 1, 0], symmetric_quantile(mc.pools[0].errors[1][0], u), rtol=1e-10, atol=1e-15)


def test_symmetric_quantile_by_hand() -> None:
    x = np.array([0.1, 0.2, 0.4])
    u = np.array([0.5, 0.75, 0.999999, 0.25, 0.0, 0.625])
    # p = |2u - 1|: 0, 0.5, ~1, 0.5, 1, 0.25 -> Q: 0.1, 0.2, ~0.4, 0.2, 0.4, 0.15
    np.testing.assert_allclose(symmetric_quantile(x, u), [0.1, 0.2, 0.4, -0.2, -0.4, 0.15], atol=1e-6)


def test_same_bytes_whatever_the_scheduler_and_chunks(long_demo: capacity.District) -> None:
    scen = scenario_from_dict({"name": "m", "horizon": BASE + 6, "method": {"primary": "shrunk:pooled:4", "senior": "ratio"}})
    reference = model.run(long_demo, scen, draws=23, seed=4, scheduler="synchronous")
    for scheduler, chunks in (("threads", (1, 7)), ("threads", (2, 1)), ("synchronous", (1, 5))):
        run = model.run(long_demo, scen, draws=23, seed=4, scheduler=scheduler, chunks=chunks)
        assert run.children.tobytes() == reference.children.tobytes(), (scheduler, chunks)
        assert run.demand.tobytes() == reference.demand.tobytes()
    first = model.run(long_demo, scen, draws=10, seed=4, scheduler="threads", chunks=(1, 3))
    np.testing.assert_array_equal(first.children, reference.children[..., :10])  # draw k is draw k


def test_backtest_prints_the_table_a_scenario_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "data" / "districts" / "long")
    write_long_history(folder)
    out = tmp_path / "bt"
    assert main(["backtest", str(folder / "history"), "--methods", "last,progression,cohort-component,combined:median:3",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    table = (out / "method.toml").read_text(encoding="utf-8")
    chosen = json.loads((out / "meta.json").read_text())["method_table"]
    assert set(chosen) == {s[0] for s in STAGES}
    assert set(chosen.values()) <= {"progression:mean:5", "cohort-component:mean:5", "combined:median:3"}  # written out
    body = table[table.index("[method]"):]
    assert body in printed and all(f'{stage} = "{spec}"' in body for stage, spec in chosen.items())
    scen = tmp_path / "s.toml"
    scen.write_text('name = "pasted"\nhorizon = 2027\n' + table, encoding="utf-8")
    assert main(["run", str(scen), "--district", str(folder), "--draws", "20", "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert json.loads((tmp_path / "run" / "meta.json").read_text())["scenarios"][0]["method"] == chosen


def test_method_table_of_every_kind_of_choice() -> None:
    """One method; the mean of several (nested means flattened with their weights); a choice per horizon left out."""
    import tomllib

    from capacity.cli_backtest import method_table

    members = {"primary 6-11": {1: ("progression",), 2: ("progression",)},
               "junior": {1: ("shrunk-last:band3:5+last", "ratio"), 2: ("shrunk-last:band3:5+last", "ratio")},
               "senior": {1: ("last",), 2: ("ratio",)}}
    text, table = method_table(members, "set", 2016, "horizon")
    assert tomllib.loads(text)["method"] == table == {"primary 6-11": "progression:mean:5",
                                                      "junior": "shrunk-last:band3:5+last+ratio+ratio"}
    assert "# senior: chosen per horizon (h1: last; h2: ratio)" in text
    # the flat mean is the chosen one: mean(mean(A, B), C) = (A + B + C + C) / 4
    from capacity.forecast.history import Table

    rng = np.random.default_rng(0)
    counts = rng.uniform(50, 150, (8, 3, 2, 60))
    table_ = Table("population", np.arange(2010, 2018), ("a", "b", "c"), np.arange(60), counts, True)
    a, b, c = (parse_method(m).project(table_, 6, 3) for m in ("shrunk-last:band3:5", "last", "ratio"))
    np.testing.assert_allclose(parse_method(table["junior"]).project(table_, 6, 3), ((a + b) / 2 + c) / 2, rtol=1e-13)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_default_runs_unchanged(demo: Path, tmp_path: Path) -> None:
    """No method, ``method = "cohort-component"`` and a table of engines: the same gap.csv bytes, with and without a history."""
    plain = write_district(tmp_path / "plain")
    texts = {"none": 'name = "s"\n', "engine": 'name = "s"\nmethod = "cohort-component"\n',
             "table": 'name = "s"\n[method]\nprimary = "cohort-component"\n'}
    digests = set()
    for label, text in texts.items():
        scen = tmp_path / f"{label}.toml"
        scen.write_text(text, encoding="utf-8")
        for district in (demo, plain):
            out = tmp_path / f"out-{label}-{district.name}"
            assert main(["run", str(scen), "--district", str(district), "--out", str(out), "--quiet", "--draws", "7"]) == 0
            digests.add(_sha(out / "gap.csv"))
            meta = json.loads((out / "meta.json").read_text())
            method = meta["scenarios"][0]["method"]
            assert method == ({"primary": "cohort-component"} if label == "table" else "cohort-component")
    assert len(digests) == 1


def test_meta_records_the_method(demo: Path, tmp_path: Path) -> None:
    scen = tmp_path / "s.toml"
    scen.write_text('name = "m"\nhorizon = 2027\n[method]\nprimary = "progression:mean:2"\n', encoding="utf-8")
    assert main(["run", str(scen), "--district", str(demo), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    meta = json.loads((tmp_path / "o" / "meta.json").read_text())
    assert meta["scenarios"][0]["method"] == {"primary": "progression:mean:2"}
    assert {"history/population.csv", "history/areas.csv", "history/history.toml"} <= set(meta["inputs_sha256"])


def test_explain_shows_the_method_cohorts(demo: Path) -> None:
    district = capacity.load_district(demo)
    scen = scenario_from_dict({"name": "m", "horizon": BASE + 3, "method": {"primary": "progression:mean:2"}})
    e = capacity.explain(district, scen, area=AREA_CODES[1], stage="primary", year=BASE + 2)
    assert e.cohorts["children"].sum() == pytest.approx(hand_progression(1, stage_ages("primary"), 2), rel=1e-12)
    assert e.totals["demand"] == pytest.approx(e.cohorts["enrolled"].sum(), rel=1e-12)


# --- a real district with a history ------------------------------------------------------------

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "backtest"


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED / "norway_ward_population_by_age_sex.csv").is_file(), reason="shared backtest data missing")
def test_norway_wards_run_with_the_method_the_backtest_chose(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The wards as a district with a history: backtest it, paste its table into a scenario, run it with draws."""
    from tools.history import norway
    from tools.history.district import convert

    assert norway.main([str(tmp_path / "history"), "--source", str(SHARED)]) == 0
    folder = convert(tmp_path / "history", tmp_path / "wards", 2021, "Norway wards")
    assert main(["validate", str(folder)]) == 0
    assert "33 areas, 1 projects, history 2005-2021" in capsys.readouterr().out
    assert main(["backtest", str(folder / "history"), "--out", str(tmp_path / "bt")]) == 0
    printed = capsys.readouterr().out
    table = (tmp_path / "bt" / "method.toml").read_text(encoding="utf-8")
    assert "[method]" in printed and table.split("[method]")[1].strip() in printed
    chosen = json.loads((tmp_path / "bt" / "meta.json").read_text())["method_table"]
    assert set(chosen) == {"kindergarten", "primary", "junior", "senior"}
    scen = tmp_path / "wards.toml"
    scen.write_text('name = "wards"\nhorizon = 2026\n' + table, encoding="utf-8")
    assert main(["run", str(scen), "--district", str(folder), "--draws", "200", "--seed", "3",
                 "--out", str(tmp_path / "run"), "--quiet", "--scheduler", "synchronous"]) == 0
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["scenarios"][0]["method"] == chosen and meta["draws"] == 200
    assert (tmp_path / "run" / "gap.csv").stat().st_size > 10_000
    # the deterministic run's children are the chosen methods' projections from 2021
    district = capacity.load_district(folder)
    assert district.history is not None
    hist = district.history.tables["population"]
    got = children(capacity.run(capacity.load_scenario(scen), district))[..., 0]
    order = [hist.areas.index(c) for c in district.area_codes]
    for k, (stage, first, last) in enumerate(zip(district.stages["stage"], district.stages["first_age"], district.stages["last_age"])):
        proj = parse_method(chosen[stage]).project(hist, hist.year_index(2021), 5, 5)[:, order]
        np.testing.assert_allclose(got[1:, :, k], proj[..., first:last + 1].sum(axis=(2, 3)), rtol=1e-12)
    draws = children(capacity.run(capacity.load_scenario(scen), district, draws=200, seed=3, scheduler="threads"))
    lo, hi = np.quantile(draws[1:], [0.1, 0.9], axis=3)
    assert ((lo < got[1:]) & (got[1:] < hi)).all()  # every interval is around the projection, and not empty


def test_calibrated_folder_keeps_the_history(demo: Path, tmp_path: Path) -> None:
    from capacity.calibrate import calibrate

    base = capacity.load_district(demo).population_array().sum(axis=(1, 2))
    rows = "".join(f"population,{a},{y},,,,{base[i] * (1 + 0.01 * (y - 2023)):.1f},synthetic\n"
                   for y in (2024, 2025, 2026) for i, a in enumerate(AREA_CODES))
    (demo / "observed.csv").write_text("indicator,area_code,year,stage,sex,age,value,source\n" + rows, encoding="utf-8")
    with open(demo / "sources.csv", "a", encoding="utf-8") as fh:
        fh.write("observed.csv,*,no,synthetic,\n")
    _, out = calibrate(demo, tmp_path / "calibrated", Scenario(name="p", horizon=2026))
    assert sorted(p.name for p in (out / "history").iterdir()) == ["areas.csv", "history.toml", "population.csv"]
    assert all(_sha(out / "history" / n) == _sha(demo / "history" / n) for n in ("areas.csv", "population.csv"))
    assert capacity.load_district(out).history is not None


def test_scenario_built_in_code_is_checked(demo: Path) -> None:
    district = capacity.load_district(demo)
    with pytest.raises(capacity.InputError, match=r"scenario 'c', key method.primary: expected a rule of progression"):
        capacity.run(Scenario(name="c", method={"primary": "progression:mode:3"}), district)
    with pytest.raises(capacity.InputError, match=r"history/population.csv, column 'year': expected enough years"):
        model.run(district, Scenario(name="c", method="last"), draws=4)  # no check before the chunks: raised by them


def test_district_built_in_code_checks_its_history(demo: Path, tmp_path: Path) -> None:
    import dataclasses

    from capacity.forecast.history import read_history

    district = capacity.load_district(demo)
    other = write_district(tmp_path / "other")
    write_history(other, range(2019, 2023))  # ends in 2022, the base year is 2023
    with pytest.raises(capacity.InputError, match=r"^history/population.csv, column 'year': expected the last year to be "
                                                  r"the district's base year 2023"):
        dataclasses.replace(district, history=read_history(other / "history"))
    assert dataclasses.replace(district, history=district.history).history is district.history


def test_history_by_both_sexes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A population by both sexes with women.csv: the same children where no one is born after the base year."""
    import pandas as pd

    two = write_district(tmp_path / "two")
    write_history(two)
    both = write_district(tmp_path / "both")
    folder = write_history(both)
    pop = pd.read_csv(folder / "population.csv", dtype={"area_code": str})
    women = pop[(pop["sex"] == "female") & pop["age"].between(15, 49)].groupby(["area_code", "year"], as_index=False)["population"].sum()
    women.rename(columns={"population": "women"}).to_csv(folder / "women.csv", index=False)
    summed = pop.groupby(["area_code", "year", "age"], as_index=False)["population"].sum().assign(sex="both")
    summed[["area_code", "year", "sex", "age", "population"]].to_csv(folder / "population.csv", index=False)
    scen = {"name": "m", "horizon": BASE + 3, "method": {"primary": "progression:mean:2"}}
    got = {d.name: children(capacity.run(scenario_from_dict(scen), capacity.load_district(d))) for d in (two, both)}
    np.testing.assert_allclose(got["both"][:, :, 1], got["two"][:, :, 1], rtol=1e-12)  # primary ages 6-11, h <= 3
    text = tmp_path / "hp.toml"
    text.write_text('method = "hamilton-perry:last:1"\n', encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(text), "--district", str(both), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "key method: expected a method that applies to the district's history" in capsys.readouterr().err
    (folder / "women.csv").write_text("area_code,year,women\n990001001,2023,10\n", encoding="utf-8")
    with pytest.raises(capacity.InputError, match=r"history/women.csv, column 'year': expected the women 15-49 of every area"):
        capacity.load_district(both)
