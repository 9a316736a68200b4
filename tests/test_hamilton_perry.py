"""Tests of the Hamilton-Perry projection (capacity.core.hamilton_perry)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.core import (
    FEMALE,
    MALE,
    CohortInputs,
    HamiltonPerryRatios,
    cohort_change_ratios,
    project_cohort,
    project_hamilton_perry,
)
from capacity.errors import SpecificationError


def test_ratios_hand_case() -> None:
    # width 5, groups 0-4, 5-9, 10-14, 15+ ; women of 5-14 (groups 1 and 2)
    earlier = np.array([[[100.0, 90.0, 80.0, 70.0], [110.0, 95.0, 85.0, 60.0]]])
    later = np.array([[[50.0, 99.0, 72.0, 75.0], [55.0, 88.0, 95.0, 72.0]]])
    ratios = cohort_change_ratios(earlier, later, width=5, woman_ages=(5, 14))
    assert isinstance(ratios, HamiltonPerryRatios)
    assert ratios.ccr.shape == (1, 1, 2, 3, 1) and ratios.cwr.shape == (1, 1, 2, 1, 1)
    # females: 99/100, 72/90, 75/(80 + 70); males: 88/110, 95/95, 72/(85 + 60)
    np.testing.assert_allclose(ratios.ccr[0, 0, FEMALE, :, 0], [0.99, 0.8, 0.5])
    np.testing.assert_allclose(ratios.ccr[0, 0, MALE, :, 0], [0.8, 1.0, 72 / 145])
    # children per woman aged 5-14 at the later date: 50 / (99 + 72), 55 / 171
    np.testing.assert_allclose(ratios.cwr[0, 0, :, 0, 0], [50 / 171, 55 / 171])


def test_projection_hand_case() -> None:
    # one step, width 1, three groups; CCR into group 1 = 0.5, into the open group 0.25;
    # CWR 0.1 girls and 0.2 boys per woman of ages 1-2 (groups 1 and 2)
    base = np.array([[[40.0, 20.0, 10.0], [30.0, 16.0, 8.0]]])
    ccr = np.array([0.5, 0.25]).reshape(1, 1, 1, 2, 1)
    cwr = np.array([0.1, 0.2]).reshape(1, 1, 2, 1, 1)
    result = project_hamilton_perry(base, steps=1, ccr=ccr, cwr=cwr, woman_ages=(1, 2))
    # females: group 1 = 0.5 * 40 = 20; open = 0.25 * (20 + 10) = 7.5; women 27.5
    # girls = 0.1 * 27.5 = 2.75; boys = 0.2 * 27.5 = 5.5
    # males: group 1 = 0.5 * 30 = 15; open = 0.25 * (16 + 8) = 6
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [2.75, 20.0, 7.5])
    np.testing.assert_allclose(result.population[1, 0, MALE, :, 0], [5.5, 15.0, 6.0])


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    groups=st.integers(4, 12),
    draws=st.integers(1, 3),
    steps=st.integers(1, 4),
    width=st.sampled_from([1, 5]),
)
def test_reproduces_a_cohort_component_run(
    seed: int, groups: int, draws: int, steps: int, width: int
) -> None:
    # ratios computed from consecutive years of a cohort-component run (no migration)
    # project the same run (ages >= n exactly; group 0 too, as the CWR is taken from
    # the same run's women)
    rng = np.random.default_rng(seed)
    areas = 2
    base = rng.uniform(50.0, 1000.0, (areas, 2, groups, draws))
    L = width * 100_000 * np.cumprod(rng.uniform(0.6, 1.0, (steps, areas, 2, groups, 1)), axis=3)
    L[..., -1, :] *= rng.uniform(0.5, 3.0)
    fertility = rng.uniform(0.0, 0.2, (steps, areas, 1, 2, draws))
    run = project_cohort(
        CohortInputs(
            base,
            steps=steps,
            nLx=L,
            fertility=fertility,
            fertility_first_age=2 * width,
            sex_ratio_at_birth=1.07,
            width=width,
        )
    ).population
    woman_ages = (width, 3 * width - 1)
    ratios = [
        cohort_change_ratios(run[t], run[t + 1], width=width, woman_ages=woman_ages)
        for t in range(steps)
    ]
    hp = project_hamilton_perry(
        base,
        steps=steps,
        ccr=np.concatenate([r.ccr for r in ratios]),
        cwr=np.concatenate([r.cwr for r in ratios]),
        width=width,
        woman_ages=woman_ages,
        block_draws=1,
    ).population
    np.testing.assert_allclose(hp[:, :, :, 1:], run[:, :, :, 1:], rtol=1e-12)
    np.testing.assert_allclose(hp, run, rtol=1e-12)


def test_keep_ages_and_bands() -> None:
    rng = np.random.default_rng(2)
    base = rng.uniform(0.0, 100.0, (3, 2, 10, 4))
    ccr = rng.uniform(0.5, 1.2, (2, 3, 2, 9, 1))
    cwr = rng.uniform(0.1, 0.3, (1, 1, 2, 1, 4))
    full = project_hamilton_perry(base, steps=2, ccr=ccr, cwr=cwr, woman_ages=(2, 6))
    kept = project_hamilton_perry(
        base, steps=2, ccr=ccr, cwr=cwr, woman_ages=(2, 6), keep_ages=slice(0, 3),
        age_bands=[(3, 9)],
    )
    np.testing.assert_array_equal(kept.population, full.population[:, :, :, :3])
    np.testing.assert_allclose(kept.bands[..., 0, :], full.population[:, :, :, 3:].sum(3))
    assert kept.births is None


def test_zero_over_zero_ratio_is_zero() -> None:
    earlier = np.array([[[10.0, 0.0, 5.0], [10.0, 5.0, 5.0]]])
    later = np.array([[[2.0, 8.0, 0.0], [2.0, 8.0, 9.0]]])
    ratios = cohort_change_ratios(earlier, later, woman_ages=(1, 1))
    # female open group: 0 / (0 + 5) = 0; female group 1: 8 / 10
    np.testing.assert_allclose(ratios.ccr[0, 0, FEMALE, :, 0], [0.8, 0.0])
    earlier[0, FEMALE, 0] = 0.0
    with pytest.raises(SpecificationError, match=r"ccr\[0, 0, 0, 0, 0\] = inf"):
        cohort_change_ratios(earlier, later, woman_ages=(1, 1))


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(ccr=-np.ones((1, 1, 1, 4, 1))), r"ccr\[0, 0, 0, 0, 0\] = -1.0: expected a finite value >= 0"),
        (dict(cwr=np.full((1, 1, 2, 1, 1), np.nan)), r"cwr\[0, 0, 0, 0, 0\] = nan"),
        (dict(ccr=np.ones((1, 1, 1, 5, 1))), r"ccr has shape \(1, 1, 1, 5, 1\): axis 3 \(age\) has length 5, expected 4"),
        (dict(cwr=np.ones((3, 1, 2, 1, 1))), r"cwr has shape \(3, 1, 2, 1, 1\): axis 0 \(step\) has length 3, expected 1 or 2"),
        (dict(woman_ages=(0, 9)), r"woman_ages = \(0, 9\): expected first >= width"),
        (dict(woman_ages=(1, 7)), r"woman_ages\[0\] = 1: expected a multiple of the age-group width 5"),
        (dict(base=-np.ones((1, 2, 5))), r"base\[0, 0, 0\] = -1.0: expected a finite value >= 0"),
    ],
)
def test_bad_input(changes: dict, message: str) -> None:
    args = dict(
        base=np.ones((1, 2, 5)),
        steps=2,
        ccr=np.ones((1, 1, 1, 4, 1)),
        cwr=np.ones((1, 1, 2, 1, 1)),
        width=5,
        woman_ages=(5, 14),
    )
    args.update(changes)
    with pytest.raises(SpecificationError, match=message):
        project_hamilton_perry(**args)


def test_ratio_inputs_must_match() -> None:
    with pytest.raises(SpecificationError, match="later has shape"):
        cohort_change_ratios(np.ones((2, 2, 5)), np.ones((2, 2, 6)))
