"""Grade progression, averaging rules and residual migration: hand-computed cases to 1e-12."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.core.hamilton_perry import cohort_change_ratios
from capacity.core.progression import RULES, average, entry_ratios, progression_ratios, project_progression
from capacity.core.residual import migration_path, project_additive, residual_migration
from capacity.errors import SpecificationError
from capacity.forecast.history import Table
from capacity.forecast.methods import Method, parse_method

TOL = 1e-12
VALUES = [1.0, 1.2, 0.9]


@pytest.mark.parametrize(("rule", "expected"), [
    ("mean", (1.0 + 1.2 + 0.9) / 3),
    ("geometric", (1.0 * 1.2 * 0.9) ** (1 / 3)),
    ("median", 1.0),
    ("last", 0.9),
    ("weighted", (1 * 1.0 + 2 * 1.2 + 3 * 0.9) / 6),
])
def test_rules_by_hand(rule: str, expected: float) -> None:
    got = average(np.array(VALUES)[:, None], rule)
    assert abs(got[0] - expected) < TOL


def test_rules_skip_missing_and_given_weights() -> None:
    v = np.array([[1.0, np.nan], [np.nan, np.nan], [0.9, 2.0]])
    assert abs(average(v, "mean")[0] - 0.95) < TOL
    assert abs(average(v, "geometric")[0] - math.sqrt(0.9)) < TOL
    assert abs(average(v, "weighted", [0.5, 9.0, 0.25])[0] - (0.5 + 0.225) / 0.75) < TOL
    last = average(np.array([[1.1], [0.8], [np.nan]]), "last")
    assert abs(last[0] - 0.8) < TOL
    assert np.isnan(average(np.full((2, 1), np.nan), "median")[0])
    assert average(np.array([[0.0], [2.0]]), "geometric")[0] == 0.0
    with pytest.raises(SpecificationError):
        average(v, "mode")
    with pytest.raises(SpecificationError):
        average(v, "weighted", [1.0, -1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 10.0), min_size=1, max_size=6), st.sampled_from(RULES))
def test_average_between_extremes(values: list[float], rule: str) -> None:
    got = average(np.array(values)[:, None], rule)[0]
    assert min(values) - 1e-9 <= got <= max(values) + 1e-9


def test_ratios_by_hand() -> None:
    counts = np.array([[100.0, 90.0, 80.0], [110.0, 99.0, 85.0]])[:, None, None, :]
    closed = progression_ratios(counts, open_last=False)[0, 0, 0]
    opened = progression_ratios(counts, open_last=True)[0, 0, 0]
    assert abs(closed[0] - 0.99) < TOL and abs(closed[1] - 85 / 90) < TOL
    assert abs(opened[1] - 85 / 170) < TOL
    assert np.isnan(progression_ratios(np.zeros((2, 1, 1, 2)), open_last=False)).all()
    assert abs(entry_ratios(np.array([50.0]), np.array([40.0]))[0] - 1.25) < TOL


def test_ratios_agree_with_hamilton_perry() -> None:
    rng = np.random.default_rng(3)
    earlier, later = rng.uniform(50, 150, (2, 3, 2, 60))
    hp = cohort_change_ratios(earlier, later)
    ours = progression_ratios(np.stack([earlier, later]), open_last=True)[0]
    np.testing.assert_allclose(ours, hp.ccr[0, ..., 0], rtol=0, atol=TOL)


def test_projection_by_hand() -> None:
    base = np.array([100.0, 90.0, 80.0])[None, None]
    ratios = np.array([0.9, 0.5])[None, None]
    out = project_progression(base, ratios, steps=2, open_last=False, entrants=np.array([[[120.0]], [[130.0]]]))
    np.testing.assert_allclose(out[0, 0, 0], [120.0, 90.0, 45.0], rtol=0, atol=TOL)
    np.testing.assert_allclose(out[1, 0, 0], [130.0, 108.0, 45.0], rtol=0, atol=TOL)
    opened = project_progression(base, ratios, steps=1, open_last=True, entrants=np.array([[[0.0]]]))
    assert abs(opened[0, 0, 0, 2] - 0.5 * (90 + 80)) < TOL


def _enrolment(counts: list[list[float]], births: list[float] | None = None, lag: int = 0) -> Table:
    c = np.array(counts)[:, None, None, :]
    b = None if births is None else np.array(births)[:, None]
    return Table("enrolment", np.arange(2000, 2000 + len(counts)), ("a",), np.arange(c.shape[3]), c, False, b, lag)


def test_grade_progression_method_by_hand() -> None:
    """Grades K, 1, 2 over 3 years; births 5 years before entry."""
    counts = [[100.0, 95.0, 90.0], [104.0, 98.0, 96.0], [110.0, 101.0, 99.0]]
    births = [200.0, 205.0, 210.0]  # births[t] enter K in t + 1 (lag 1 for the test)
    table = _enrolment(counts, births, lag=1)
    r1 = [98 / 100, 101 / 104]
    r2 = [96 / 95, 99 / 98]
    er = [104 / 200, 110 / 205]
    got = parse_method("progression:mean:2").project(table, 2, 2)[:, 0, 0]
    m1, m2, me = sum(r1) / 2, sum(r2) / 2, sum(er) / 2
    year1 = [me * 210.0, m1 * 110.0, m2 * 101.0]
    year2 = [me * 210.0, m1 * year1[0], m2 * year1[1]]  # births after the origin held at the last known
    np.testing.assert_allclose(got, [year1, year2], rtol=0, atol=TOL)
    w = parse_method("progression:weighted:2").project(table, 2, 1)[0, 0, 0]
    wr1, wr2, we = (r1[0] + 2 * r1[1]) / 3, (r2[0] + 2 * r2[1]) / 3, (er[0] + 2 * er[1]) / 3
    np.testing.assert_allclose(w, [we * 210.0, wr1 * 110.0, wr2 * 101.0], rtol=0, atol=TOL)
    g = parse_method("progression:geometric:2").project(table, 2, 1)[0, 0, 0]
    np.testing.assert_allclose(g, [math.sqrt(er[0] * er[1]) * 210, math.sqrt(r1[0] * r1[1]) * 110,
                                   math.sqrt(r2[0] * r2[1]) * 101], rtol=0, atol=TOL)
    last = parse_method("progression:last:1").project(_enrolment(counts), 2, 1)[0, 0, 0]
    np.testing.assert_allclose(last, [110.0, r1[1] * 110, r2[1] * 101], rtol=0, atol=TOL)
    naive = parse_method("last").project(table, 1, 3)
    assert (naive == np.array(counts[1])).all()


def test_window_skips_a_missing_year() -> None:
    counts = [[100.0, 95.0], [np.nan, np.nan], [104.0, 98.0], [110.0, 101.0]]
    got = parse_method("progression:last:1").project(_enrolment(counts), 3, 1)[0, 0, 0]
    np.testing.assert_allclose(got, [110.0, 101 / 104 * 110], rtol=0, atol=TOL)
    across = parse_method("progression:mean:2").project(_enrolment(counts), 2, 1)[0, 0, 0]
    np.testing.assert_allclose(across, [104.0, 0.0], rtol=0, atol=TOL)  # no known pair yet


def test_residual_migration_by_hand() -> None:
    counts = np.array([[10.0, 20.0, 30.0], [12.0, 15.0, 52.0]])[:, None, None, :]
    m = residual_migration(counts)[0, 0, 0]
    np.testing.assert_allclose(m, [15 - 10, 52 - 50], rtol=0, atol=TOL)
    window = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(migration_path(window, 2, "trend"), [4.0, 5.0], rtol=0, atol=TOL)
    np.testing.assert_allclose(migration_path(window, 2, "mean"), [2.0, 2.0], rtol=0, atol=TOL)
    out = project_additive(np.array([10.0, 20.0, 30.0])[None, None], np.array([[[[5.0, -60.0]]]]),
                           np.zeros((1, 1)), steps=1)
    np.testing.assert_allclose(out[0, 0, 0], [0.0, 15.0, 0.0], rtol=0, atol=TOL)


def test_hamilton_perry_method_equals_progression_on_population() -> None:
    rng = np.random.default_rng(7)
    counts = rng.uniform(20, 200, (6, 2, 2, 60))
    table = Table("population", np.arange(2000, 2006), ("a", "b"), np.arange(60), counts, True)
    for rule in ("mean", "last", "median"):
        hp = parse_method(f"hamilton-perry:{rule}:3").project(table, 5, 4)
        pr = parse_method(f"progression:{rule}:3").project(table, 5, 4)
        np.testing.assert_allclose(hp, pr, rtol=1e-12)
    assert not Method("x", "cohort-component").applies(_enrolment([[1.0, 2.0]]))


@pytest.mark.parametrize("spec", ["mode", "last:1", "progression:mode", "progression:mean:0", "cohort-component:median:5",
                                  "progression:mean:x", "cohort-component:trend:1"])
def test_bad_method_specs(spec: str) -> None:
    from capacity.errors import InputError

    with pytest.raises(InputError, match="--methods"):
        parse_method(spec)


def test_combined_is_the_mean_of_progression_and_last() -> None:
    counts = [[100.0, 95.0, 90.0], [104.0, 98.0, 96.0], [110.0, 101.0, 99.0]]
    table = _enrolment(counts)
    got = parse_method("combined:mean:2").project(table, 2, 1)[0, 0, 0]
    m1, m2 = (98 / 100 + 101 / 104) / 2, (96 / 95 + 99 / 98) / 2
    expected = [(107.0 + 110.0) / 2, (m1 * 110 + 101.0) / 2, (m2 * 101 + 99.0) / 2]
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6), st.sampled_from(["last", "ratio", "progression:median:3", "progression:weighted:5",
                                            "hamilton-perry:mean:2", "cohort-component:trend:3", "combined:geometric:2",
                                            "shrunk:pooled:3", "shrunk-trend:band2:4", "shrunk-last:band1:2",
                                            "shrunk:band3:5+cohort-component:mean:5"]))
def test_no_look_ahead(origin: int, spec: str) -> None:
    """A forecast from an origin depends on nothing after it: change the later years, same forecast."""
    rng = np.random.default_rng(origin)
    counts = rng.uniform(20, 200, (9, 2, 2, 60))
    later = counts.copy()
    later[origin + 1:] *= rng.uniform(0.2, 5.0, later[origin + 1:].shape)
    years, areas = np.arange(2000, 2009), ("a", "b")
    one = Table("population", years, areas, np.arange(60), counts, True)
    two = Table("population", years, areas, np.arange(60), later, True)
    method = parse_method(spec)
    np.testing.assert_array_equal(method.project(one, origin, 3), method.project(two, origin, 3))
    births = rng.uniform(100, 300, (9, 2))
    later_births = births.copy()
    later_births[origin + 1:] = 1e6
    e1 = Table("enrolment", years, areas, np.arange(6), counts[..., :1, :6], False, births, 2)
    e2 = Table("enrolment", years, areas, np.arange(6), later[..., :1, :6], False, later_births, 2)
    if method.applies(e1):
        np.testing.assert_array_equal(method.project(e1, origin, 3), method.project(e2, origin, 3))
