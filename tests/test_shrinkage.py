"""Empirical-Bayes shrinkage, entry factors and the shrunk / combined methods: hand-computed cases to 1e-12."""

from __future__ import annotations

import numpy as np
import pytest

from capacity.core.progression import last_factor, project_progression, trend_factor
from capacity.core.shrinkage import band_mean, eb_shrink, shrink_ratios
from capacity.errors import InputError, SpecificationError
from capacity.forecast.history import Table
from capacity.forecast.methods import parse_method

TOL = 1e-12


def test_one_level_by_hand() -> None:
    """Two areas of 100, two years: ratios 1.0, 1.2 (area 1) and 0.8, 0.8 (area 2).

    Pooled ratios 0.9 and 1.0 (mean 0.95); deviations 0.1, 0.2 and -0.1, -0.2, means
    +-0.15; phi = 100 (4 x 0.05^2) / 2 = 0.5; v = 0.5 / 4 (1/100 + 1/100) = 0.0025;
    tau^2 = (0.15^2 - 0.0025) = 0.02; w = 0.02 / 0.0225 = 8/9; shrunk 0.95 +- 8/9 x 0.15.
    """
    N = np.array([[100.0, 80.0], [120.0, 80.0]])
    D = np.full((2, 2), 100.0)
    s = shrink_ratios(N, D)
    assert abs(s.pooled - 0.95) < TOL
    one = s.levels[0]
    assert abs(one.dispersion - 0.5) < TOL and abs(one.between - 0.02) < TOL
    np.testing.assert_allclose(one.weight, [8 / 9, 8 / 9], rtol=0, atol=TOL)
    np.testing.assert_allclose(s.ratio, [0.95 + 2 / 15, 0.95 - 2 / 15], rtol=0, atol=TOL)


def test_one_level_missing_and_no_spread() -> None:
    # an area without a ratio gets the pooled one; a NaN cell is left out of the pool too
    N = np.array([[50.0, 90.0, np.nan], [60.0, 99.0, 5.0]])
    D = np.array([[50.0, 100.0, 10.0], [50.0, 90.0, 0.0]])
    s = shrink_ratios(N, D)
    pooled = ((50 + 90) / 150 + (60 + 99) / 140) / 2
    assert abs(s.pooled - pooled) < TOL
    assert s.levels[0].weight[2] == 0.0 and abs(s.ratio[2] - pooled) < TOL
    # identical ratios everywhere: nothing to shrink, the ratio itself
    same = shrink_ratios(np.array([[10.0, 20.0], [11.0, 22.0]]), np.array([[10.0, 20.0], [10.0, 20.0]]))
    np.testing.assert_allclose(same.ratio, [1.05, 1.05], rtol=0, atol=TOL)
    # one area: its own mean ratio
    alone = shrink_ratios(np.array([[9.0], [12.0], [10.0]]), np.array([[10.0], [10.0], [8.0]]))
    assert abs(alone.ratio[0] - (0.9 + 1.2 + 1.25) / 3) < TOL
    with pytest.raises(SpecificationError):
        shrink_ratios(np.ones((2, 2)), np.ones((2, 3)))
    with pytest.raises(SpecificationError):
        shrink_ratios(np.ones((2, 2)), np.ones((2, 2)), band=1)


def _eb_reference(d: np.ndarray, D: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """The module docstring's equations with scalar loops (one trailing cell): the estimates."""
    years, areas = d.shape
    means, invs, spread, dof, present = [], [], 0.0, 0, []
    for a in range(areas):
        rows = [i for i in range(years) if ok[i, a]]
        present.append(bool(rows))
        if not rows:
            means.append(0.0)
            invs.append(0.0)
            continue
        mean = sum(d[i, a] for i in rows) / len(rows)
        tilde = sum(D[i, a] * d[i, a] for i in rows) / sum(D[i, a] for i in rows)
        spread += sum(D[i, a] * (d[i, a] - tilde) ** 2 for i in rows)
        dof += len(rows) - 1
        means.append(mean)
        invs.append(sum(1 / D[i, a] for i in rows) / len(rows) ** 2)
    phi = spread / dof if dof else 0.0
    v = [phi * x for x in invs]
    tau2 = max(0.0, sum(means[a] ** 2 - v[a] for a in range(areas) if present[a]) / sum(present))
    out = []
    for a in range(areas):
        w = (tau2 / (tau2 + v[a]) if tau2 + v[a] > 0 else 1.0) if present[a] else 0.0
        out.append(w * means[a])
    return np.array(out)


def test_two_levels_against_scalar_equations() -> None:
    rng = np.random.default_rng(11)
    N = rng.uniform(40, 160, (4, 5, 6))  # year, area, level
    D = rng.uniform(40, 160, (4, 5, 6))
    N[1, 2, 3] = np.nan
    D[0, 4, 0] = 0.0
    band = 1
    s = shrink_ratios(N, D, band=band)
    ok = np.isfinite(N) & (D > 0)
    r = np.where(ok, N / np.where(ok, D, 1.0), 0.0)
    R = np.array([[sum(N[i, a, j] for a in range(5) if ok[i, a, j]) / sum(D[i, a, j] for a in range(5) if ok[i, a, j])
                   for j in range(6)] for i in range(4)])
    d = np.where(ok, r - R[:, None, :], 0.0)
    expected = np.empty((5, 6))
    for j in range(6):
        near = range(max(0, j - band), min(6, j + band + 1))
        size = np.array([[sum(D[i, a, k] for k in near if ok[i, a, k]) for a in range(5)] for i in range(4)])
        g = np.array([[sum(D[i, a, k] * d[i, a, k] for k in near if ok[i, a, k]) / size[i, a] for a in range(5)]
                      for i in range(4)])
        common = _eb_reference(g, size, size > 0)
        remainder = _eb_reference(d[..., j] - g, np.where(ok[..., j], D[..., j], 1.0), ok[..., j])
        expected[:, j] = R[:, j].mean() + common + remainder
    np.testing.assert_allclose(s.ratio, expected, rtol=0, atol=TOL)
    one = shrink_ratios(N, D)
    for j in range(6):
        ref = R[:, j].mean() + _eb_reference(d[..., j], np.where(ok[..., j], D[..., j], 1.0), ok[..., j])
        np.testing.assert_allclose(one.ratio[:, j], ref, rtol=0, atol=TOL)


def test_band_mean_and_eb_checks() -> None:
    values = np.array([[1.0, 2.0, 4.0, 8.0]])
    sizes = np.array([[1.0, 1.0, 2.0, 4.0]])
    present = np.array([[True, True, False, True]])
    g, size, any_ok = band_mean(values, sizes, present, 1)
    np.testing.assert_allclose(g[0], [1.5, 1.5, (2 + 32) / 5, 8.0], rtol=0, atol=TOL)
    np.testing.assert_allclose(size[0], [2.0, 2.0, 5.0, 4.0], rtol=0, atol=TOL)
    assert any_ok.all()
    with pytest.raises(SpecificationError):
        eb_shrink(np.zeros((2, 2)), np.zeros((2, 2)), np.ones((2, 2), bool))


def test_entry_factors_by_hand() -> None:
    np.testing.assert_allclose(trend_factor(np.array([1.0, 2.0, 3.0]), 2), [4 / 2, 5 / 2], rtol=0, atol=TOL)
    np.testing.assert_allclose(trend_factor(np.array([3.0, 2.0, 1.0]), 3), [0.0 / 2, 0.0, 0.0], rtol=0, atol=TOL)
    np.testing.assert_allclose(trend_factor(np.array([3.0, 2.0, 1.0]), 1), [0.0], rtol=0, atol=TOL)
    np.testing.assert_allclose(trend_factor(np.array([4.0, 3.0, 2.0]), 1), [1.0 / 3], rtol=0, atol=TOL)
    np.testing.assert_allclose(trend_factor(np.array([1.0, np.nan, 3.0]), 1), [4 / 2], rtol=0, atol=TOL)
    np.testing.assert_allclose(trend_factor(np.array([[np.nan], [5.0]]), 2), [[1.0], [1.0]], rtol=0, atol=TOL)
    np.testing.assert_allclose(last_factor(np.array([1.0, 2.0, 3.0]), 2), [1.5, 1.5], rtol=0, atol=TOL)
    np.testing.assert_allclose(last_factor(np.array([np.nan, 4.0, 2.0]), 1), [2 / 3], rtol=0, atol=TOL)
    np.testing.assert_allclose(last_factor(np.array([np.nan, np.nan]), 1), [1.0], rtol=0, atol=TOL)


def test_projection_with_a_cwr_per_year() -> None:
    base = np.zeros((1, 1, 51))
    base[0, 0, 20] = 100.0  # 100 women aged 20
    ratios = np.ones((1, 1, 50))
    out = project_progression(base, ratios, steps=2, open_last=True, cwr=np.array([[[0.1]], [[0.05]]]))
    assert abs(out[0, 0, 0, 0] - 10.0) < TOL and abs(out[1, 0, 0, 0] - 5.0) < TOL
    assert abs(out[1, 0, 0, 1] - 10.0) < TOL
    with pytest.raises(SpecificationError):
        project_progression(base, ratios, steps=2, open_last=True, cwr=np.ones((3, 1, 1)))


def _enrolment(counts: np.ndarray, births: np.ndarray | None = None, lag: int = 0) -> Table:
    years = np.arange(2000, 2000 + counts.shape[0])
    areas = tuple(f"a{i}" for i in range(counts.shape[1]))
    return Table("enrolment", years, areas, np.arange(counts.shape[3]), counts, False, births, lag)


def test_shrunk_method_by_hand() -> None:
    """The one-level case above as grades K, 1 of two areas; entry held at the window's mean of K."""
    counts = np.array([[[100.0, 50.0], [100.0, 50.0]],
                       [[100.0, 100.0], [100.0, 80.0]],
                       [[110.0, 120.0], [90.0, 80.0]]])[:, :, np.newaxis, :]
    table = _enrolment(counts)
    got = parse_method("shrunk:pooled:2").project(table, 2, 2)[:, :, 0]
    r = [0.95 + 2 / 15, 0.95 - 2 / 15]
    k_mean = [(100 + 110) / 2, (100 + 90) / 2]
    expected = [[[k_mean[a], r[a] * counts[2, a, 0, 0]] for a in range(2)],
                [[k_mean[a], r[a] * k_mean[a]] for a in range(2)]]
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOL)
    # entry moved by the pooled K: trend of (200, 200) is flat; last of K / mean of K = 200 / 200
    np.testing.assert_allclose(parse_method("shrunk-trend:pooled:2").project(table, 2, 2)[:, :, 0], expected, atol=TOL)
    rising = counts.copy()
    rising[1, :, 0, 0] = [90.0, 90.0]  # pooled K 180, 200: line 180 + 20 i, mean 190
    t2 = _enrolment(rising)
    k_mean2 = np.array([(90 + 110) / 2, (90 + 90) / 2])
    trend = parse_method("shrunk-trend:pooled:2").project(t2, 2, 2)[:, :, 0, 0]
    np.testing.assert_allclose(trend, [k_mean2 * 220 / 190, k_mean2 * 240 / 190], rtol=0, atol=TOL)
    last = parse_method("shrunk-last:pooled:2").project(t2, 2, 2)[:, :, 0, 0]
    np.testing.assert_allclose(last, [k_mean2 * 200 / 190, k_mean2 * 200 / 190], rtol=0, atol=TOL)


def test_shrunk_entry_ratio_to_births_by_hand() -> None:
    """One area: shrinkage changes nothing, so shrunk equals progression:mean (births-driven entry)."""
    counts = np.array([[100.0, 95.0, 90.0], [104.0, 98.0, 96.0], [110.0, 101.0, 99.0]])[:, None, None, :]
    table = _enrolment(counts, np.array([[200.0], [205.0], [210.0]]), lag=1)
    for spec in ("shrunk:pooled:2", "shrunk:band1:2"):
        np.testing.assert_allclose(parse_method(spec).project(table, 2, 2),
                                   parse_method("progression:mean:2").project(table, 2, 2), rtol=0, atol=TOL)
    # births known up to the origin only: entry at h = 2 uses the origin's births, times the entry ratio's factor
    er = [104 / 200, 110 / 205]
    last = parse_method("shrunk-last:pooled:2").project(table, 2, 2)[:, 0, 0, 0]
    np.testing.assert_allclose(last, [er[1] * 210, er[1] * 210], rtol=0, atol=TOL)


def test_shrunk_equals_progression_when_areas_are_alike() -> None:
    rng = np.random.default_rng(5)
    one = rng.uniform(20, 200, (7, 1, 2, 60))
    counts = np.concatenate([one, 3 * one], axis=1)  # same ratios in both areas
    table = Table("population", np.arange(2000, 2007), ("a", "b"), np.arange(60), counts, True)
    for spec in ("shrunk:pooled:4", "shrunk:band3:4"):
        np.testing.assert_allclose(parse_method(spec).project(table, 6, 3),
                                   parse_method("progression:mean:4").project(table, 6, 3), rtol=1e-12)


def test_combinations() -> None:
    counts = np.array([[100.0, 95.0, 90.0], [104.0, 98.0, 96.0], [110.0, 101.0, 99.0]])[:, None, None, :]
    table = _enrolment(counts)
    np.testing.assert_allclose(parse_method("progression:mean:2+last").project(table, 2, 3),
                               parse_method("combined:mean:2").project(table, 2, 3), rtol=0, atol=TOL)
    three = parse_method("last+progression:last:1+shrunk:pooled:2")
    parts = [parse_method(s).project(table, 2, 2) for s in ("last", "progression:last:1", "shrunk:pooled:2")]
    np.testing.assert_allclose(three.project(table, 2, 2), (parts[0] + parts[1] + parts[2]) / 3, rtol=0, atol=TOL)
    assert not three.naive and three.applies(table)
    assert not parse_method("shrunk:band3:5+cohort-component:mean:5").applies(table)


@pytest.mark.parametrize("spec", ["shrunk:mean:5", "shrunk:pooled:1", "shrunk-last:band9:5", "shrunk:band2:x",
                                  "progression:mean:5+mode", "last+"])
def test_bad_shrunk_specs(spec: str) -> None:
    with pytest.raises(InputError, match="--methods"):
        parse_method(spec)
