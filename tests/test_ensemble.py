"""Counter-based random inputs: a draw's numbers depend on (seed, component, draw) only."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from capacity.ensemble import draw_uniforms, sample, uniforms
from capacity.scenario import Distribution

DISTS = [Distribution.normal(1.0, 0.2), Distribution.lognormal(1.0, 0.3), Distribution.uniform(0.5, 1.5),
         Distribution.triangular(0.0, 0.2, 1.0), Distribution.poisson(1.5)]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**40), draws=st.integers(1, 300), cuts=st.lists(st.integers(0, 300), max_size=5),
       which=st.integers(0, len(DISTS) - 1))
def test_any_chunking_gives_the_same_draws(seed: int, draws: int, cuts: list[int], which: int) -> None:
    dist = DISTS[which]
    whole = sample(dist, seed=seed, draws=draws, component="c", block=None)
    edges = sorted({0, draws, *(c for c in cuts if c < draws)})
    parts = [sample(dist, seed=seed, draws=draws, component="c", block=(a, b)) for a, b in zip(edges, edges[1:])]
    assert np.array_equal(np.concatenate(parts), whole)
    u = uniforms(seed=seed, draws=draws, component="k")
    assert np.array_equal(u[edges[1]:], uniforms(seed=seed, draws=draws, component="k", block=(edges[1], draws)))


def test_uniform_words_in_range_and_distinct_by_key() -> None:
    u = draw_uniforms(0, "a", 0, 20000)
    assert u.shape == (20000, 4) and (u >= 0).all() and (u < 1).all()
    assert stats.kstest(u.reshape(-1), "uniform").pvalue > 1e-3
    assert not np.array_equal(u[:10], draw_uniforms(0, "b", 0, 10))
    assert not np.array_equal(u[:10], draw_uniforms(1, "a", 0, 10))


def test_variates_follow_their_distributions() -> None:
    n = 20000
    for dist, cdf in ((DISTS[0], stats.norm(1.0, 0.2).cdf), (DISTS[1], stats.lognorm(0.3, scale=1.0).cdf),
                      (DISTS[2], stats.uniform(0.5, 1.0).cdf), (DISTS[3], stats.triang(0.2, 0.0, 1.0).cdf)):
        x = sample(dist, seed=4, draws=n, component="v")
        assert stats.kstest(x, cdf).pvalue > 1e-3, dist
    pois = sample(DISTS[4], seed=4, draws=n, component="v")
    assert abs(pois.mean() - 1.5) < 4 * np.sqrt(1.5 / n)
    assert abs(pois.var() - 1.5) < 0.1
