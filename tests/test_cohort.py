"""Tests of the cohort-component engine (capacity.core.cohort)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from capacity.core import (
    FEMALE,
    MALE,
    CohortInputs,
    Product,
    Projection,
    project_cohort,
    project_cohort_survival,
    step,
    survival_ratios,
)
from capacity.errors import SpecificationError

FAST = settings(max_examples=40, deadline=None)


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------


OPTIONS = ("keep_ages", "age_bands", "accounting", "births", "block_draws", "block_areas", "progress")


def project(case: dict | None = None, /, **keywords: object) -> Projection:
    """``project_cohort`` on the inputs of ``case`` and ``keywords`` (fields of
    :class:`CohortInputs`, e.g. from :func:`random_case`) with the projection options
    among them (``keep_ages``, ``accounting``, ...)."""
    merged = {**(case or {}), **keywords}
    options = {k: merged.pop(k) for k in OPTIONS if k in merged}
    return project_cohort(CohortInputs(**merged), **options)


def hand_base() -> np.ndarray:
    """One area, three groups (0, 1, open 2+): females 100, 80, 50; males 110, 90, 40."""
    return np.array([[[100.0, 80.0, 50.0], [110.0, 90.0, 40.0]]])


def hand_nLx(width: int) -> np.ndarray:
    """nLx giving S0 = 0.9, S1 = 0.8, S_open = 0.5 for radix 1e5 and group width n:
    nL0 = 0.9 n l0, nL1 = 0.8 nL0, T2 = nL1 (so T2 / (nL1 + T2) = 0.5)."""
    L0 = 0.9 * width * 100_000
    L1 = 0.8 * L0
    return np.array([L0, L1, L1]).reshape(1, 1, 1, 3, 1)


def random_case(
    rng: np.random.Generator,
    *,
    areas: int,
    groups: int,
    draws: int,
    steps: int,
    width: int = 1,
    migration_scale: float = 0.0,
) -> dict:
    """Random valid inputs with rates varying by step, area, sex and draw."""
    base = rng.uniform(50.0, 1000.0, (areas, 2, groups, draws))
    # nLx non-increasing with age below the open group, nL0 <= n l0
    decrements = rng.uniform(0.6, 1.0, (steps, areas, 2, groups, draws))
    L = width * 100_000 * np.cumprod(decrements, axis=3)
    L[..., -1, :] = rng.uniform(0.1, 5.0, (steps, areas, 2, draws)) * L[..., -2, :]
    first = rng.integers(1, groups)
    K = int(rng.integers(1, groups - first + 1))
    fertility = rng.uniform(0.0, 0.3, (steps, areas, 1, K, draws))
    srb = rng.uniform(0.9, 1.2, (steps, 1, 1, 1, draws))
    migration = migration_scale * rng.normal(0.0, 1.0, (steps, areas, 2, groups, draws))
    return dict(
        base=base,
        steps=steps,
        nLx=L,
        fertility=fertility,
        fertility_first_age=int(first) * width,
        sex_ratio_at_birth=srb,
        net_migration=migration,
        width=width,
    )


dims = st.fixed_dictionaries(
    dict(
        areas=st.integers(1, 3),
        groups=st.integers(2, 7),
        draws=st.integers(1, 4),
        steps=st.integers(1, 4),
        width=st.sampled_from([1, 5]),
    )
)


# --------------------------------------------------------------------------------------
# hand-computed cases
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("width", [1, 5])
def test_hand_case_without_migration(width: int) -> None:
    # S0 = 0.9, S1 = 0.8, S_open = 0.5; annual fertility of group 1 = 0.5 / width.
    # females: group 1 = 0.8 * 100 = 80; open = 0.5 * (80 + 50) = 65
    # births = (0.5 / n) * n * (80 + 80) / 2 = 40; girls = boys = 20 (srb 1)
    # group 0 = 0.9 * 20 = 18 for both sexes
    # males: group 1 = 0.8 * 110 = 88; open = 0.5 * (90 + 40) = 65
    fertility = np.full((1, 1, 1, 1, 1), 0.5 / width)
    result = project(
        base=hand_base(),
        steps=1,
        nLx=hand_nLx(width),
        fertility=fertility,
        fertility_first_age=width,
        sex_ratio_at_birth=1.0,
        width=width,
        accounting=True,
    )
    assert result.population.shape == (2, 1, 2, 3, 1)
    np.testing.assert_allclose(result.population[0, 0, :, :, 0], hand_base()[0])
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [18.0, 80.0, 65.0])
    np.testing.assert_allclose(result.population[1, 0, MALE, :, 0], [18.0, 88.0, 65.0])
    # deaths, females: 0.2 * 100 + 0.5 * 130 + 0.1 * 20 = 87; males 0.2*110 + 0.5*130 + 2 = 89
    np.testing.assert_allclose(result.births[0, 0, :, 0], [20.0, 20.0])
    np.testing.assert_allclose(result.deaths[0, 0, :, 0], [87.0, 89.0])
    np.testing.assert_allclose(result.total[:, 0, :, 0], [[230.0, 240.0], [163.0, 171.0]])


def test_hand_case_with_migration() -> None:
    # female migrants by age group at the end of the step: +10, -20, +4; no male migrants
    # group 1: 0.8 * (100 - 10) - 10 = 62; open: 0.5 * (80 + 50 + 2) + 2 = 68
    # births = 0.5 * (80 + 62) / 2 = 35.5; girls = boys = 17.75
    # female group 0: 0.9 * (17.75 + 5) + 5 = 25.475; male group 0: 0.9 * 17.75 = 15.975
    migration = np.zeros((1, 1, 2, 3, 1))
    migration[0, 0, FEMALE, :, 0] = [10.0, -20.0, 4.0]
    result = project(
        base=hand_base(),
        steps=1,
        nLx=hand_nLx(1),
        fertility=np.full((1, 1, 1, 1, 1), 0.5),
        fertility_first_age=1,
        sex_ratio_at_birth=1.0,
        net_migration=migration,
        accounting=True,
    )
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [25.475, 62.0, 68.0])
    np.testing.assert_allclose(result.population[1, 0, MALE, :, 0], [15.975, 88.0, 65.0])
    np.testing.assert_allclose(result.net_migration[0, 0, :, 0], [-6.0, 0.0])
    np.testing.assert_allclose(result.migration_adjustment[0, 0, :, 0], [0.0, 0.0])


def test_hand_case_clipping() -> None:
    # 300 female out-migrants ending in group 1 from a cohort of 100 with S1 = 0.8:
    # unclipped 0.8 * (100 - 150) - 150 = -190 -> clipped to 0; realised migration
    # M' = -2 S P / (1 + S) = -160 / 1.8 = -88.889; deaths (1 - S) P / (1 + S) = 11.111
    migration = np.zeros((1, 1, 2, 3, 1))
    migration[0, 0, FEMALE, 1, 0] = -300.0
    result = project(
        base=hand_base(),
        steps=1,
        nLx=hand_nLx(1),
        fertility=np.zeros((1, 1, 1, 1, 1)),
        fertility_first_age=1,
        sex_ratio_at_birth=1.0,
        net_migration=migration,
        accounting=True,
    )
    # group 0 = 0 (no births); group 1 = 0 (clipped); open = 0.5 * (80 + 50) = 65
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [0.0, 0.0, 65.0])
    np.testing.assert_allclose(result.net_migration[0, 0, FEMALE, 0], -160.0 / 1.8)
    np.testing.assert_allclose(result.migration_adjustment[0, 0, FEMALE, 0], 300 - 160 / 1.8)
    np.testing.assert_allclose(result.deaths[0, 0, FEMALE, 0], 20.0 / 1.8 + 65.0)


def test_survival_ratios_hand_case() -> None:
    # n = 5, l0 = 1e5: S0 = 450000 / 500000 = 0.9; S1 = 360000 / 450000 = 0.8;
    # S_open = 360000 / (360000 + 360000) = 0.5
    np.testing.assert_allclose(survival_ratios(hand_nLx(5), width=5).ravel(), [0.9, 0.8, 0.5])
    np.testing.assert_allclose(
        survival_ratios(hand_nLx(1) / 2, radix=50_000).ravel(), [0.9, 0.8, 0.5]
    )


def test_sex_ratio_at_birth_splits_births() -> None:
    # births 40 (as in the hand case) split 1 : 1.5 -> girls 16, boys 24; S0 = 0.9
    result = project(
        base=hand_base(),
        steps=1,
        nLx=hand_nLx(1),
        fertility=np.full((1, 1, 1, 1, 1), 0.5),
        fertility_first_age=1,
        sex_ratio_at_birth=1.5,
    )
    np.testing.assert_allclose(result.population[1, 0, :, 0, 0], [14.4, 21.6])


def test_projection_is_read_only_and_ages_kept() -> None:
    rng = np.random.default_rng(3)
    case = random_case(rng, areas=2, groups=8, draws=3, steps=2)
    full = project(case)
    kept = project(case, keep_ages=slice(2, 5), age_bands=[(0, 2), (3, 7)])
    assert isinstance(kept, Projection)
    np.testing.assert_array_equal(kept.ages, [2, 3, 4])
    np.testing.assert_array_equal(kept.population, full.population[:, :, :, 2:5])
    np.testing.assert_allclose(kept.bands[..., 0, :], full.population[:, :, :, 0:3].sum(3))
    np.testing.assert_allclose(kept.bands[..., 1, :], full.population[:, :, :, 3:].sum(3))
    scattered = project(case, keep_ages=[7, 0, 3])
    np.testing.assert_array_equal(scattered.population, full.population[:, :, :, [7, 0, 3]])
    with pytest.raises(ValueError):
        kept.population[0, 0, 0, 0, 0] = 1.0


@pytest.mark.parametrize("block_draws", [1, 2, 3, 100])
def test_blocks_do_not_change_the_result(block_draws: int) -> None:
    rng = np.random.default_rng(4)
    case = random_case(rng, areas=2, groups=6, draws=5, steps=3, migration_scale=300.0)
    reference = project(case, accounting=True)
    other = project(case, accounting=True, block_draws=block_draws)
    for name in ("population", "births", "deaths", "net_migration", "total"):
        np.testing.assert_array_equal(getattr(other, name), getattr(reference, name))


@pytest.mark.parametrize("timing", ["end", "phg"])
@pytest.mark.parametrize(
    "block_areas, block_draws", [(1, None), (1, 2), (2, 5), (3, 4), (4, 10), (5, 6), (None, 4), (2, None)]
)
def test_blocks_of_areas_and_draws_do_not_change_the_result(
    block_areas: int | None, block_draws: int | None, timing: str
) -> None:
    # areas and draws cut into blocks of any shape (uneven last blocks too): the same
    # bits as the default blocks, for the kept ages, the bands (one of every age, longer
    # than numpy's unrolled sums) and the accounting; rates by area, by draw or neither.
    # (Blocks of one draw are left out: numpy then sums 8 or more ages pairwise, not one
    # age after the other.)
    rng = np.random.default_rng(12)
    case = random_case(rng, areas=5, groups=19, draws=10, steps=3, migration_scale=300.0)
    case["nLx"] = case["nLx"][:, :1, :, :, :1]  # the same for every area and draw
    case["fertility"] = case["fertility"][:, :1]  # by draw only
    case["migration_timing"] = timing
    options = dict(accounting=True, keep_ages=slice(2, 7), age_bands=[(0, 18), (3, 5), (0, 0)])
    reference = project(case, **options)
    other = project(case, **options, block_areas=block_areas, block_draws=block_draws)
    assert (reference.migration_adjustment > 0).any()  # clipping happens
    for name in ("population", "bands", "births", "deaths", "net_migration", "migration_adjustment", "total"):
        np.testing.assert_array_equal(getattr(other, name), getattr(reference, name), err_msg=name)


def test_default_blocks_span_the_draws_then_the_areas() -> None:
    from capacity.core._blocks import _BLOCK_BYTES, block_shape, plan_blocks

    cells = _BLOCK_BYTES // (2 * 101 * 8)  # area-draws of a block's state with 101 ages
    for areas, draws in ((40, 200), (18, 10000), (8, 1000), (200, 45), (1, 1), (3, 10)):
        block_areas, block_draws = block_shape(areas, 101, draws)
        # as few ranges of draws as fit in a block with one area, then as few ranges of areas
        assert -(-draws // block_draws) == -(-draws // cells)
        assert -(-areas // block_areas) == -(-areas // max(1, cells // block_draws))
        assert block_areas * block_draws <= max(cells, block_draws) * 1.05
        blocks = plan_blocks(areas, draws, block_areas, block_draws)
        seen = np.zeros((areas, draws), dtype=int)
        for b in blocks:
            seen[b.a0 : b.a1, b.d0 : b.d1] += 1
        assert (seen == 1).all()
        assert min(b.draws for b in blocks) >= min(draws, 8)  # no block of a few draws after long ones
    assert block_shape(40, 101, 200, block_draws=16) == (40, 16)  # given draws alone: every area
    assert block_shape(40, 101, 200, block_areas=3) == (3, 200)


def test_accounting_does_not_change_the_population() -> None:
    rng = np.random.default_rng(5)
    case = random_case(rng, areas=2, groups=6, draws=3, steps=3, migration_scale=400.0)
    with_accounts = project(case, accounting=True)
    without = project(case)
    np.testing.assert_array_equal(with_accounts.population, without.population)
    assert without.births is None and without.total is None


def test_base_and_rates_broadcast_over_draws() -> None:
    rng = np.random.default_rng(6)
    case = random_case(rng, areas=2, groups=5, draws=1, steps=2)
    case["base"] = case["base"][..., 0]  # (area, sex, age)
    fertility = np.concatenate([case["fertility"], 2 * case["fertility"]], axis=4)
    case["fertility"] = np.minimum(fertility, 1.0)
    result = project(case)
    assert result.population.shape[-1] == 2
    np.testing.assert_array_equal(result.population[0, ..., 0], result.population[0, ..., 1])


def test_zero_steps_returns_the_base() -> None:
    rng = np.random.default_rng(7)
    case = random_case(rng, areas=1, groups=4, draws=2, steps=1)
    case["steps"] = 0
    result = project(case, accounting=True)
    np.testing.assert_array_equal(result.population[0], case["base"])
    assert result.births.shape == (0, 1, 2, 2)


# --------------------------------------------------------------------------------------
# properties
# --------------------------------------------------------------------------------------


@FAST
@given(
    dims=dims,
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.0, 30.0, 3000.0]),
    timing=st.sampled_from(["end", "phg"]),
)
def test_accounting_balances_per_area_and_in_total(
    dims: dict, seed: int, scale: float, timing: str
) -> None:
    # P(t+1) = P(t) + births - deaths + realised migration, under both conventions
    rng = np.random.default_rng(seed)
    case = random_case(rng, **dims, migration_scale=scale)
    result = project(case, accounting=True, migration_timing=timing)
    total = result.total
    expected = total[:-1] + result.births - result.deaths + result.net_migration
    atol = 1e-12 * total.max()
    np.testing.assert_allclose(total[1:], expected, rtol=1e-12, atol=atol)
    np.testing.assert_allclose(
        total[1:].sum(axis=(1, 2)), expected.sum(axis=(1, 2)), rtol=1e-12, atol=atol
    )
    # total also equals the population summed over ages (all ages kept here)
    np.testing.assert_allclose(result.population.sum(axis=3), total, rtol=1e-12, atol=atol)
    assert (result.migration_adjustment >= 0).all()
    assert (result.population >= 0).all()
    if timing == "end":
        # under "phg" a cohort whose start-half out-migration exceeds it has negative
        # deaths (documented in step())
        assert (result.deaths >= -atol).all()


@FAST
@given(dims=dims, seed=st.integers(0, 2**32 - 1), timing=st.sampled_from(["end", "phg"]))
def test_no_negative_population_with_heavy_out_migration(
    dims: dict, seed: int, timing: str
) -> None:
    rng = np.random.default_rng(seed)
    case = random_case(rng, **dims, migration_scale=1.0)
    case["net_migration"] = -rng.uniform(0.0, 5000.0, case["net_migration"].shape)
    result = project(case, accounting=True, migration_timing=timing)
    assert (result.population >= 0).all()
    assert (result.migration_adjustment > 0).any()
    np.testing.assert_allclose(
        result.total[1:],
        result.total[:-1] + result.births - result.deaths + result.net_migration,
        rtol=1e-12,
        atol=1e-9,
    )


@FAST
@given(dims=dims, seed=st.integers(0, 2**32 - 1))
def test_closed_population_without_mortality_shifts_one_group_per_step(
    dims: dict, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    areas, groups, draws, steps = (dims[k] for k in ("areas", "groups", "draws", "steps"))
    base = rng.uniform(0.0, 1000.0, (areas, 2, groups, draws))
    result = project_cohort_survival(
        base,
        steps=steps,
        survival=np.ones((1, 1, 1, groups, 1)),
        fertility=np.zeros((1, 1, 1, 1, 1)),
        fertility_first_age=dims["width"],
        sex_ratio_at_birth=1.1,
        width=dims["width"],
        accounting=True,
    )
    P = base
    for t in range(steps):
        shifted = np.zeros_like(P)
        shifted[:, :, 1:] = P[:, :, :-1]
        shifted[:, :, -1] += P[:, :, -1]  # the open group accumulates
        P = shifted
        np.testing.assert_allclose(result.population[t + 1], P, rtol=1e-14)
    np.testing.assert_allclose(result.deaths, 0.0, atol=1e-9)
    np.testing.assert_allclose(result.total[-1], base.sum(axis=2), rtol=1e-13)


@FAST
@given(dims=dims, seed=st.integers(0, 2**32 - 1))
def test_life_table_without_deaths_shifts_closed_groups(dims: dict, seed: int) -> None:
    # nLx = n l0 for every closed group: S = 1 there; the open group gets
    # (P_{G-2} + P_{G-1}) T / (n l0 + T)
    rng = np.random.default_rng(seed)
    areas, groups, draws, width = (dims[k] for k in ("areas", "groups", "draws", "width"))
    base = rng.uniform(0.0, 1000.0, (areas, 2, groups, draws))
    nLx = np.full((1, 1, 1, groups, 1), width * 100_000.0)
    T = rng.uniform(1.0, 50.0) * width * 100_000.0
    nLx[..., -1, :] = T
    result = project(
        base=base,
        steps=1,
        nLx=nLx,
        fertility=np.zeros((1, 1, 1, 1, 1)),
        fertility_first_age=width,
        sex_ratio_at_birth=1.0,
        width=width,
    )
    end = result.population[1]
    np.testing.assert_allclose(end[:, :, 0], 0.0)
    np.testing.assert_allclose(end[:, :, 1:-1], base[:, :, :-2], rtol=1e-15)
    open_group = (base[:, :, -2] + base[:, :, -1]) * T / (width * 100_000.0 + T)
    np.testing.assert_allclose(end[:, :, -1], open_group, rtol=1e-14)


@FAST
@given(
    dims=dims,
    seed=st.integers(0, 2**32 - 1),
    a=st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
    b=st.one_of(st.just(0.0), st.floats(1e-3, 10.0)),
)
def test_linear_in_the_base_population(dims: dict, seed: int, a: float, b: float) -> None:
    rng = np.random.default_rng(seed)
    case = random_case(rng, **dims)
    case["net_migration"] = None
    X = case.pop("base")
    Y = rng.uniform(0.0, 1000.0, X.shape)
    combined = project(case, base=a * X + b * Y).population
    separate = a * project(case, base=X).population + b * project(case, base=Y).population
    np.testing.assert_allclose(combined, separate, rtol=1e-10, atol=1e-10 * separate.max())


# --------------------------------------------------------------------------------------
# the engine against the readable equations (capacity.core.step)
# --------------------------------------------------------------------------------------


def at_step(rate: np.ndarray, t: int) -> np.ndarray:
    """The rates of step ``t`` of a 5-d rate array (a length-1 step axis broadcasts)."""
    return rate[t] if rate.shape[0] > 1 else rate[0]


def assert_engine_follows_step(case: dict, block_draws: int | None, timing: str) -> None:
    """The engine (with accounting) and :func:`step` applied step after step agree to
    1e-12 on the population and every component of change."""
    engine = project(case, accounting=True, block_draws=block_draws, migration_timing=timing)
    S = survival_ratios(case["nLx"], width=case["width"])
    P = case["base"]
    tolerance = dict(rtol=1e-12, atol=1e-12 * max(P.max(), np.abs(case["net_migration"]).max()))
    np.testing.assert_array_equal(engine.population[0], P)
    for t in range(case["steps"]):
        result = step(
            P,
            at_step(S, t),
            at_step(case["fertility"], t),
            at_step(case["sex_ratio_at_birth"], t),
            at_step(case["net_migration"], t),
            fertility_first_age=case["fertility_first_age"],
            width=case["width"],
            migration_timing=timing,
        )
        P = result.population
        np.testing.assert_allclose(engine.population[t + 1], P, **tolerance)
        for name in ("births", "deaths", "net_migration", "migration_adjustment"):
            np.testing.assert_allclose(getattr(engine, name)[t], getattr(result, name), **tolerance)
    assert (P >= 0).all()


@FAST
@given(
    dims=dims,
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.0, 30.0, 3000.0]),
    block_draws=st.sampled_from([None, 1, 2]),
    timing=st.sampled_from(["end", "phg"]),
)
def test_kernel_agrees_with_step(
    dims: dict, seed: int, scale: float, block_draws: int | None, timing: str
) -> None:
    # the block kernel of the engine and the textbook step function, step after step,
    # with out-migration heavy enough (scale 3000) to be clipped in many cells, under
    # both migration conventions
    rng = np.random.default_rng(seed)
    case = random_case(rng, **dims, migration_scale=scale)
    assert_engine_follows_step(case, block_draws, timing)


@pytest.mark.parametrize("timing", ["end", "phg"])
def test_in_migration_then_out_migration_agrees_with_step(timing: str) -> None:
    # a large young cohort moves up while a few in-migrants fill the young ages, then
    # out-migration exceeds those: the engine skips its clipping check only while a
    # lower bound of every cell, moved along with the cohorts every step, stays >= 0,
    # and must clip exactly where step() does
    rng = np.random.default_rng(12)
    case = random_case(rng, areas=1, groups=8, draws=3, steps=7, migration_scale=1.0)
    case["base"] = np.where(np.arange(8)[:, None] < 4, 1000.0, 5.0) * np.ones((1, 2, 8, 3))
    case["fertility"] = np.zeros_like(case["fertility"])
    # steps 0-3: one in-migrant per cell; then 50 out-migrants of groups 2-4 only
    migration = np.ones((7, 1, 2, 8, 3))
    migration[4:] = 0.0
    migration[4:, :, :, 2:5] = -50.0
    case["net_migration"] = migration
    assert_engine_follows_step(case, None, timing)
    assert (project(case, accounting=True, migration_timing=timing).migration_adjustment > 0).any()


@pytest.mark.parametrize("timing", ["end", "phg"])
def test_long_projection_agrees_with_step(timing: str) -> None:
    # more steps than the engine's cohort buffer has spare rows (it copies the state back
    # to the top of the buffer every 32 steps): 70 steps, 1- and 5-year groups
    rng = np.random.default_rng(11)
    for width, groups in ((1, 9), (5, 4)):
        case = random_case(rng, areas=2, groups=groups, draws=3, steps=70, width=width, migration_scale=40.0)
        assert_engine_follows_step(case, 2, timing)


def test_step_hand_case_with_clipping() -> None:
    # the hand case of test_hand_case_clipping, through step() directly
    S = survival_ratios(hand_nLx(1))[0]
    migration = np.zeros((1, 2, 3, 1))
    migration[0, FEMALE, 1, 0] = -300.0
    result = step(
        hand_base()[..., np.newaxis],
        S,
        np.zeros((1, 1, 1, 1)),
        1.0,
        migration,
        fertility_first_age=1,
    )
    np.testing.assert_allclose(result.population[0, FEMALE, :, 0], [0.0, 0.0, 65.0])
    np.testing.assert_allclose(result.net_migration[0, FEMALE, 0], -160.0 / 1.8)
    np.testing.assert_allclose(result.migration_adjustment[0, FEMALE, 0], 300 - 160 / 1.8)
    np.testing.assert_allclose(result.deaths[0, FEMALE, 0], 20.0 / 1.8 + 65.0)


# --------------------------------------------------------------------------------------
# the "phg" migration convention (Preston, Heuveline & Guillot; UN WPP)
# --------------------------------------------------------------------------------------


def test_phg_hand_case_two_steps() -> None:
    # migrants by age group during the step, the same both steps:
    # females +10, -20, +4; males 0, +6, -2; S = 0.9, 0.8, 0.5; F_1 = 0.5; srb = 1.
    # step 1, P* = P + M/2: females 105, 70, 52; males 110, 93, 39
    #   F group 1: 0.8 * 105 - 10 = 74;  open: 0.5 * (70 + 52) + 2 = 63
    #   M group 1: 0.8 * 110 + 3 = 91;   open: 0.5 * (93 + 39) - 1 = 65
    #   births 0.5 * (W*_1 + W_1(t+1)) / 2 = 0.5 * (70 + 74) / 2 = 36, 18 of each sex
    #   F group 0: 0.9 * 18 + 5 = 21.2; M group 0: 0.9 * 18 = 16.2
    #   deaths F: 0.1 * 18 + 0.2 * 105 + 0.5 * 122 = 83.8; M: 1.8 + 22 + 66 = 89.8
    # step 2, P* = females 26.2, 64, 65; males 16.2, 94, 64
    #   F group 1: 0.8 * 26.2 - 10 = 10.96; open: 0.5 * (64 + 65) + 2 = 66.5
    #   M group 1: 0.8 * 16.2 + 3 = 15.96;  open: 0.5 * (94 + 64) - 1 = 78
    #   births 0.5 * (64 + 10.96) / 2 = 18.74, 9.37 of each sex
    #   F group 0: 0.9 * 9.37 + 5 = 13.433; M group 0: 0.9 * 9.37 = 8.433
    migration = np.zeros((1, 1, 2, 3, 1))
    migration[0, 0, FEMALE, :, 0] = [10.0, -20.0, 4.0]
    migration[0, 0, MALE, :, 0] = [0.0, 6.0, -2.0]
    result = project(
        base=hand_base(),
        steps=2,
        nLx=hand_nLx(1),
        fertility=np.full((1, 1, 1, 1, 1), 0.5),
        fertility_first_age=1,
        sex_ratio_at_birth=1.0,
        net_migration=migration,
        migration_timing="phg",
        accounting=True,
    )
    close = dict(rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [21.2, 74.0, 63.0], **close)
    np.testing.assert_allclose(result.population[1, 0, MALE, :, 0], [16.2, 91.0, 65.0], **close)
    np.testing.assert_allclose(
        result.population[2, 0, FEMALE, :, 0], [13.433, 10.96, 66.5], **close
    )
    np.testing.assert_allclose(result.population[2, 0, MALE, :, 0], [8.433, 15.96, 78.0], **close)
    np.testing.assert_allclose(result.births[:, 0, :, 0], [[18.0, 18.0], [9.37, 9.37]], **close)
    np.testing.assert_allclose(result.deaths[0, 0, :, 0], [83.8, 89.8], **close)
    np.testing.assert_allclose(result.net_migration[:, 0, :, 0], [[-6.0, 4.0]] * 2, **close)
    np.testing.assert_allclose(result.migration_adjustment, 0.0, **close)


def test_phg_hand_case_clipping() -> None:
    # 300 female out-migrants of group 1 during the step, S = 0.9, 0.8, 0.5, no births:
    # P* = 100, 80 - 150, 50 = 100, -70, 50
    # group 1: U = 0.8 * 100 - 150 = -70 -> 0, A_1 = -70 / 1.8, deaths 0.2 (100 - A_1)
    # open:    U = 0.5 * (-70 + 50) = -10 -> 0, A_2 = -10 / 1.5, deaths 0.5 (-20 - A_2) < 0
    # realised migration -300 - 2 (A_1 + A_2); everything ends at zero and balances
    migration = np.zeros((1, 1, 2, 3, 1))
    migration[0, 0, FEMALE, 1, 0] = -300.0
    result = project(
        base=hand_base(),
        steps=1,
        nLx=hand_nLx(1),
        fertility=np.zeros((1, 1, 1, 1, 1)),
        fertility_first_age=1,
        sex_ratio_at_birth=1.0,
        net_migration=migration,
        migration_timing="phg",
        accounting=True,
    )
    A1, A2 = -70.0 / 1.8, -10.0 / 1.5
    close = dict(rtol=0.0, atol=1e-12)
    np.testing.assert_allclose(result.population[1, 0, FEMALE, :, 0], [0.0, 0.0, 0.0], **close)
    np.testing.assert_allclose(result.net_migration[0, 0, FEMALE, 0], -300.0 - 2 * (A1 + A2), **close)
    np.testing.assert_allclose(result.migration_adjustment[0, 0, FEMALE, 0], -2 * (A1 + A2), **close)
    np.testing.assert_allclose(
        result.deaths[0, 0, FEMALE, 0], 0.2 * (100.0 - A1) + 0.5 * (-20.0 - A2), **close
    )
    np.testing.assert_allclose(result.total[1, 0, FEMALE, 0], 0.0, **close)


def test_default_timing_is_end_and_explicit_end_is_bit_identical() -> None:
    rng = np.random.default_rng(13)
    case = random_case(rng, areas=2, groups=6, draws=3, steps=3, migration_scale=3000.0)
    default = project(case, accounting=True)
    explicit = project(case, accounting=True, migration_timing="end")
    assert CohortInputs(**case).migration_timing == "end"
    for name in ("population", "births", "deaths", "net_migration", "migration_adjustment"):
        np.testing.assert_array_equal(getattr(default, name), getattr(explicit, name))
    phg = project(case, migration_timing="phg")
    assert not np.array_equal(phg.population, default.population)


def test_unknown_migration_timing_is_rejected() -> None:
    case = random_case(np.random.default_rng(1), areas=1, groups=3, draws=1, steps=1)
    with pytest.raises(SpecificationError, match="migration_timing = 'mid': expected one of"):
        project(case, migration_timing="mid")


def un_wpp_projection(
    base: np.ndarray,
    nLx: np.ndarray,
    fertility: np.ndarray,
    first_age: int,
    srb: np.ndarray,
    migration: np.ndarray,
    steps: int,
    radix: float,
) -> np.ndarray:
    """An independent, loop-by-loop UN WPP cohort-component projection (single years,
    migration "evenly over the period": half of age x's migrants added to age x at the
    start and survived with it, half added to age x at the end; births from the mean of
    the start population with its half of the migrants and the end population).

    Inputs are full arrays: base (area, sex, age, draw), nLx (step, area, sex, age,
    draw), fertility (step, area, 1, K, draw), srb (step, 1, 1, 1, draw), migration
    (step, area, sex, age, draw). Returns (year, area, sex, age, draw).
    """
    areas, _, ages, draws = base.shape
    out = np.zeros((steps + 1, areas, 2, ages, draws))
    out[0] = base
    for t in range(steps):
        for a in range(areas):
            for d in range(draws):
                survival = [[0.0] * ages for _ in range(2)]
                for s in range(2):
                    L = [float(nLx[t, a, s, x, d]) for x in range(ages)]
                    survival[s][0] = L[0] / radix
                    for x in range(1, ages - 1):
                        survival[s][x] = L[x] / L[x - 1]
                    survival[s][ages - 1] = L[ages - 1] / (L[ages - 2] + L[ages - 1])
                start = [[0.0] * ages for _ in range(2)]
                end = [[0.0] * ages for _ in range(2)]
                for s in range(2):
                    for x in range(ages):
                        start[s][x] = out[t, a, s, x, d] + migration[t, a, s, x, d] / 2
                    for x in range(1, ages):
                        cohort = start[s][x - 1]
                        if x == ages - 1:
                            cohort += start[s][x]
                        end[s][x] = survival[s][x] * cohort + migration[t, a, s, x, d] / 2
                births = 0.0
                for k in range(fertility.shape[3]):
                    x = first_age + k
                    women = (start[0][x] + end[0][x]) / 2
                    births += fertility[t, a, 0, k, d] * women
                ratio = float(srb[t, 0, 0, 0, d])
                by_sex = [births / (1 + ratio), births * ratio / (1 + ratio)]
                for s in range(2):
                    end[s][0] = survival[s][0] * by_sex[s] + migration[t, a, s, 0, d] / 2
                    for x in range(ages):
                        out[t + 1, a, s, x, d] = end[s][x]
    return out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_phg_agrees_with_an_independent_un_wpp_step(seed: int) -> None:
    # a small single-year projection with moderate migration (nothing clipped)
    rng = np.random.default_rng(seed)
    case = random_case(rng, areas=2, groups=8, draws=2, steps=4)
    shape = case["nLx"].shape
    case["net_migration"] = rng.uniform(-10.0, 40.0, shape)
    case["fertility"] = 0.05 + case["fertility"]
    engine = project(case, accounting=True, migration_timing="phg")
    assert (engine.migration_adjustment == 0.0).all()
    full = lambda a: np.broadcast_to(a, shape[:3] + a.shape[3:4] + shape[4:])  # noqa: E731
    expected = un_wpp_projection(
        case["base"],
        case["nLx"],
        full(case["fertility"]),
        case["fertility_first_age"],
        np.broadcast_to(case["sex_ratio_at_birth"], (shape[0], 1, 1, 1, shape[4])),
        case["net_migration"],
        case["steps"],
        radix=100_000.0,
    )
    np.testing.assert_allclose(engine.population, expected, rtol=1e-10, atol=0.0)


# --------------------------------------------------------------------------------------
# net migration as a product of factors, progress, the typed inputs
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("timing", ["end", "phg"])
@pytest.mark.parametrize("block_draws", [None, 1, 2, 3])
def test_product_migration_is_bit_identical(block_draws: int | None, timing: str) -> None:
    # net migration = pattern (area, sex, age) x scale (step) x multiplier (draw), kept
    # as factors or multiplied out: the same bits, whatever the block size
    rng = np.random.default_rng(9)
    case = random_case(rng, areas=3, groups=7, draws=5, steps=4)
    pattern = rng.normal(0.0, 400.0, (1, 3, 2, 7, 1))
    scale = rng.uniform(0.5, 1.5, (4, 1, 1, 1, 1))
    multiplier = rng.lognormal(0.0, 0.3, (1, 1, 1, 1, 5))
    product = Product(pattern, scale, multiplier)
    assert product.shape == (4, 3, 2, 7, 5)
    dense = pattern * scale * multiplier
    np.testing.assert_array_equal(product.materialise(), dense)
    case["migration_timing"] = timing
    reference = project(case, net_migration=dense, accounting=True)
    lazy = project(case, net_migration=product, accounting=True, block_draws=block_draws)
    assert (reference.migration_adjustment > 0).any()  # clipping happens
    for name in ("population", "births", "deaths", "net_migration", "migration_adjustment", "total"):
        np.testing.assert_array_equal(getattr(lazy, name), getattr(reference, name))


def test_product_factors_are_validated() -> None:
    case = random_case(np.random.default_rng(10), areas=2, groups=5, draws=3, steps=2)
    scale = np.ones((2, 1, 1, 1, 1))
    scale[1] = np.nan
    with pytest.raises(SpecificationError, match=r"net_migration factor 1\[1, 0, 0, 0, 0\] = nan"):
        project(case, net_migration=Product(np.ones((1, 2, 2, 5, 1)), scale))
    with pytest.raises(SpecificationError, match=r"net_migration has shape \(2, 2, 2, 4, 1\): axis 3 \(age\)"):
        project(case, net_migration=Product(np.ones((1, 2, 2, 4, 1)), scale))
    with pytest.raises(SpecificationError, match="expected shapes that broadcast"):
        Product(np.ones((1, 2, 2, 5, 1)), np.ones((1, 3, 1, 1, 1)))
    with pytest.raises(SpecificationError, match="expected a 5-d array"):
        Product(np.ones((2, 5)))


def test_progress_counts_every_draw_and_nothing_needs_keeping() -> None:
    case = random_case(np.random.default_rng(11), areas=2, groups=5, draws=7, steps=2)
    seen: list[int] = []
    result = project(case, keep_ages=slice(0, 0), age_bands=[(0, 4)], block_draws=2,
                     progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 7 and len(seen) == 4
    assert result.population.shape == (3, 2, 2, 0, 7)
    full = project(case)
    np.testing.assert_allclose(result.bands[..., 0, :], full.population.sum(axis=3))


def test_inputs_are_a_frozen_record() -> None:
    inputs = CohortInputs(**valid_case())
    with pytest.raises(AttributeError):
        inputs.steps = 4  # type: ignore[misc]
    assert project_cohort(inputs).population.shape == (4, 4, 2, 20, 2)


# --------------------------------------------------------------------------------------
# cross-check against Leslie matrices
# --------------------------------------------------------------------------------------


def leslie_projection(case: dict) -> np.ndarray:
    """Independent projection: one (2G x 2G) matrix and one vector per step, area and
    draw, ``P(t+n) = A P(t) + v``.

    Female block: ``scipy.linalg.leslie`` with survival ``S_x`` on the subdiagonal, the
    open group's ``S_{G-1}`` added at (G-1, G-1), and first row
    ``S_0 / (1 + srb) * n/2 * (F_x + F_{x+1} S_{x+1})`` (births from the average of the
    women at the start and at the end). The male block has the same structure without
    births; the female-to-male block holds the boys ``S_0 srb / (1 + srb)``. The
    migration vector adds ``(1 + S_x)/2 M_x`` and the births to the migrant women.
    """
    width = case["width"]
    S = survival_ratios(case["nLx"], width=width)
    base = case["base"]
    areas, _, G, draws = base.shape
    steps = case["steps"]
    first = case["fertility_first_age"] // width
    F5, srb5, M5 = case["fertility"], case["sex_ratio_at_birth"], case["net_migration"]
    out = np.empty((steps + 1, areas, 2, G, draws))
    out[0] = base
    for a in range(areas):
        for d in range(draws):
            P = base[a, :, :, d].reshape(2 * G)
            for t in range(steps):
                s = S[t, a, :, :, d]  # (sex, age)
                F = np.zeros(G)
                K = F5.shape[3]
                F[first : first + K] = F5[t, a, 0, :, d]
                srb = srb5[t, 0, 0, 0, d]
                girls, boys = 1.0 / (1.0 + srb), srb / (1.0 + srb)
                sub_f = np.diag(s[FEMALE, 1:], -1)
                sub_f[-1, -1] = s[FEMALE, -1]
                per_woman = width / 2.0 * (F + F @ sub_f)
                female = scipy.linalg.leslie(s[FEMALE, 0] * girls * per_woman, s[FEMALE, 1:])
                female[-1, -1] = s[FEMALE, -1]
                male = np.diag(s[MALE, 1:], -1)
                male[-1, -1] = s[MALE, -1]
                boys_row = np.zeros((G, G))
                boys_row[0] = s[MALE, 0] * boys * per_woman
                A = np.block([[female, np.zeros((G, G))], [boys_row, male]])
                m = M5[t, a, :, :, d] if M5 is not None else np.zeros((2, G))
                v = ((1.0 + s) / 2.0 * m).reshape(2 * G)
                born = width / 2.0 * (F[1:] @ v[1:G])
                v[0] += s[FEMALE, 0] * girls * born
                v[G] += s[MALE, 0] * boys * born
                P = A @ P + v
                out[t + 1, a, :, :, d] = P.reshape(2, G)
    return out


@FAST
@given(dims=dims, seed=st.integers(0, 2**32 - 1))
def test_matches_leslie_matrices(dims: dict, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # net in-migration (the Leslie form has no clipping); its sign is immaterial to the
    # affine formula being checked
    case = random_case(rng, **dims, migration_scale=20.0)
    case["net_migration"] = np.abs(case["net_migration"])
    engine = project(case, accounting=True)
    assert (engine.migration_adjustment == 0).all()
    np.testing.assert_allclose(engine.population, leslie_projection(case), rtol=1e-10)


# --------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------


def valid_case() -> dict:
    return random_case(np.random.default_rng(8), areas=4, groups=20, draws=2, steps=3)


def corrupt(name: str, index: tuple[int, ...], value: float) -> dict:
    case = valid_case()
    array = np.array(case[name], dtype=float)
    array[index] = value
    case[name] = array
    return case


@pytest.mark.parametrize(
    "name, index, value, message",
    [
        ("fertility", (0, 3, 0, 1, 0), -0.1, "fertility[0, 3, 0, 1, 0] = -0.1: expected a value in [0, 1]"),
        ("fertility", (2, 1, 0, 0, 1), 1.5, "fertility[2, 1, 0, 0, 1] = 1.5: expected a value in [0, 1]"),
        ("fertility", (1, 0, 0, 0, 0), np.nan, "fertility[1, 0, 0, 0, 0] = nan: expected a value in [0, 1]"),
        ("nLx", (0, 2, 1, 5, 1), -3.0, "nLx[0, 2, 1, 5, 1] = -3.0: expected a finite value > 0"),
        ("nLx", (1, 0, 0, 4, 0), np.inf, "nLx[1, 0, 0, 4, 0] = inf: expected a finite value > 0"),
        ("nLx", (0, 0, 0, 0, 0), 200_000.0, "nLx[0, 0, 0, 0, 0] = 200000.0: expected a value <= width * radix"),
        ("nLx", (0, 1, 1, 7, 0), 1e9, "nLx[0, 1, 1, 7, 0] = 1000000000.0: expected a value <= nLx of the previous"),
        ("sex_ratio_at_birth", (1, 0, 0, 0, 1), 0.0, "sex_ratio_at_birth[1, 0, 0, 0, 1] = 0.0: expected a finite value > 0"),
        ("sex_ratio_at_birth", (0, 0, 0, 0, 0), -1.1, "sex_ratio_at_birth[0, 0, 0, 0, 0] = -1.1: expected a finite value > 0"),
        ("net_migration", (2, 3, 1, 19, 1), np.nan, "net_migration[2, 3, 1, 19, 1] = nan: expected a finite number"),
        ("net_migration", (0, 0, 0, 0, 0), -np.inf, "net_migration[0, 0, 0, 0, 0] = -inf: expected a finite number"),
        ("base", (3, 1, 2, 0), -1.0, "base[3, 1, 2, 0] = -1.0: expected a finite value >= 0"),
        ("base", (0, 0, 0, 1), np.nan, "base[0, 0, 0, 1] = nan: expected a finite value >= 0"),
    ],
)
def test_bad_values_are_named_with_their_index(
    name: str, index: tuple[int, ...], value: float, message: str
) -> None:
    with pytest.raises(SpecificationError) as error:
        project(corrupt(name, index, value))
    assert str(error.value).startswith(message)


def test_survival_out_of_range() -> None:
    survival = np.full((1, 1, 2, 3, 1), 0.9)
    survival[0, 0, 1, 2, 0] = 1.2
    with pytest.raises(SpecificationError, match=r"survival\[0, 0, 1, 2, 0\] = 1.2: expected a value in \[0, 1\]"):
        project_cohort_survival(
            hand_base(),
            steps=1,
            survival=survival,
            fertility=np.zeros((1, 1, 1, 1, 1)),
            fertility_first_age=1,
            sex_ratio_at_birth=1.0,
        )


@pytest.mark.parametrize(
    "name, shape, message",
    [
        ("fertility", (3, 4, 2, 5, 2), r"fertility has shape \(3, 4, 2, 5, 2\): axis 2 \(sex\) has length 2, expected 1"),
        ("fertility", (2, 4, 1, 5, 2), r"fertility has shape \(2, 4, 1, 5, 2\): axis 0 \(step\) has length 2, expected 1 or 3"),
        ("fertility", (3, 4, 1, 25, 2), r"axis 3 \(age\) has length 25, expected at most"),
        ("nLx", (3, 4, 2, 19, 2), r"nLx has shape \(3, 4, 2, 19, 2\): axis 3 \(age\) has length 19, expected 20"),
        ("nLx", (3, 5, 2, 20, 2), r"nLx has shape \(3, 5, 2, 20, 2\): axis 1 \(area\) has length 5, expected 1 or 4"),
        ("nLx", (4, 2, 20, 2), r"nLx has shape \(4, 2, 20, 2\): expected a 5-d array"),
        ("net_migration", (3, 4, 3, 20, 2), r"axis 2 \(sex\) has length 3, expected 1 or 2"),
        ("net_migration", (3, 4, 2, 20, 3), r"net_migration: axis 4 \(draw\) has length 3, expected 1 or 2"),
        ("sex_ratio_at_birth", (3, 1, 1, 2, 1), r"axis 3 \(age\) has length 2, expected 1"),
        ("base", (4, 2, 20, 2, 1), r"base has shape \(4, 2, 20, 2, 1\): expected \(area, sex, age\)"),
        ("base", (4, 1, 20, 2), r"axis 1 \(sex\) has length 1, expected 2"),
    ],
)
def test_bad_shapes_name_input_and_axis(name: str, shape: tuple[int, ...], message: str) -> None:
    case = valid_case()
    case[name] = np.full(shape, 0.01 if name != "nLx" else 1000.0)
    if name == "fertility" and shape[3] == 25:
        case["fertility_first_age"] = 1
    with pytest.raises(SpecificationError, match=message):
        project(case)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(fertility_first_age=0), "fertility_first_age = 0: expected an age >= width"),
        (dict(fertility_first_age=3, width=5), "fertility_first_age = 3: expected a multiple"),
        (dict(fertility_first_age=2.5), "fertility_first_age = 2.5: expected an integer"),
        (dict(steps=-1), "steps = -1: expected an integer >= 0"),
        (dict(width=0), "width = 0: expected an integer >= 1"),
        (dict(radix=0.0), "radix = 0.0: expected a finite value > 0"),
        (dict(keep_ages=[0, 20]), r"keep_ages\[1\] = 20: expected an age-group index in \[0, 19\]"),
        (dict(age_bands=[(3, 2)]), r"age_bands\[0\] = \(3, 2\): expected 0 <= first <= last <= 19"),
        (dict(block_draws=0), "block_draws = 0: expected an integer >= 1"),
    ],
)
def test_bad_parameters(changes: dict, message: str) -> None:
    case = valid_case()
    case.update(changes)
    with pytest.raises(SpecificationError, match=message):
        project(case)


def test_validation_happens_before_projecting() -> None:
    case = valid_case()
    case["net_migration"] = np.array(case["net_migration"])
    case["net_migration"][-1, -1, -1, -1, -1] = np.nan
    with pytest.raises(SpecificationError, match=r"net_migration\[2, 3, 1, 19, 1\]"):
        project(case)


@pytest.mark.parametrize("timing", ["end", "phg"])
def test_births_alone_equal_the_births_of_the_full_accounting(timing: str) -> None:
    # births=True records the step's births without deaths and migration: the same bits
    rng = np.random.default_rng(21)
    case = random_case(rng, areas=3, groups=9, draws=4, steps=5, migration_scale=300.0)
    case["migration_timing"] = timing
    full = project(case, accounting=True, block_draws=3)
    alone = project(case, births=True, block_draws=2)
    assert alone.births is not None and alone.deaths is None and alone.total is None
    np.testing.assert_array_equal(alone.births, full.births)
    np.testing.assert_array_equal(alone.population, full.population)
