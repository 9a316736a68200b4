"""The engine's fast form of one cohort-component step, and its validated inputs.

:class:`_CohortKernel` advances one block of draws by one step with preallocated
buffers (``out=``); it implements the equations of :func:`capacity.core.step.step`
(the readable reference, same notation) and is tested against it. :class:`_EngineInputs`
validates the inputs and puts them in the form the kernel reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from capacity.core._blocks import _Block, _Buffers, _Outputs, _Tile
from capacity.core._checks import (
    FEMALE,
    Array,
    _as_float,
    _check_base,
    _check_int,
    _check_rate_shape,
    _check_values,
    _group_of_age,
    _resolve_draws,
)
from capacity.core.product import Product
from capacity.core.step import MIGRATION_TIMINGS, MigrationTiming
from capacity.errors import SpecificationError


def _check_migration(
    net_migration: ArrayLike | Product, groups: int, shape: dict[str, int]
) -> Array | Product:
    """Validate net migration given as an array or as a :class:`Product` of factors.

    A product is checked factor by factor (every value finite) and by its broadcast
    shape; it is never multiplied out here.
    """
    if not isinstance(net_migration, Product):
        M = _as_float("net_migration", net_migration)
        _check_rate_shape("net_migration", M, sexes=(1, 2), ages=groups, **shape)
        _check_values("net_migration", M)
        return M
    outline = np.broadcast_to(np.empty(()), net_migration.shape)
    _check_rate_shape("net_migration", outline, sexes=(1, 2), ages=groups, **shape)
    bound = 1.0
    for i, factor in enumerate(net_migration.factors):
        _check_values(f"net_migration factor {i}", factor)
        bound *= float(np.abs(factor).max(initial=0.0))
    if not np.isfinite(bound):
        raise SpecificationError(
            "net_migration: the product of its factors may overflow (largest values "
            "multiply to inf); expected finite net migration"
        )
    return net_migration


@dataclass(frozen=True)
class _EngineInputs:
    """Validated inputs of a cohort-component projection, in engine form (rates 5-d,
    the base 4-d with a draw axis); built by :meth:`check`."""

    base: Array  # (area, sex, G, draw|1)
    steps: int
    survival: Array  # (step|1, area|1, sex|1, G, draw|1)
    migration_factor: Array  # (1 + S) / 2, same shape as survival
    fertility: Array  # (step|1, area|1, 1, K, draw|1)
    first_group: int
    shares: Array  # (step|1, area|1, 2, 1, draw|1): girls 1/(1+srb), boys srb/(1+srb)
    migration: Array | Product | None  # (step|1, area|1, sex|1, G, draw|1)
    width: int
    draws: int
    migration_timing: MigrationTiming = "end"

    @classmethod
    def check(
        cls,
        base: ArrayLike,
        *,
        steps: int,
        survival: ArrayLike,
        survival_name: str,
        fertility: ArrayLike,
        fertility_first_age: int,
        sex_ratio_at_birth: float | ArrayLike,
        net_migration: ArrayLike | Product | None,
        width: int,
        migration_timing: MigrationTiming = "end",
    ) -> _EngineInputs:
        """Validate the inputs (see :func:`capacity.core.cohort.project_cohort_survival`).

        ``survival_name`` is the name under which errors in the survival ratios (shape,
        number of draws) are reported: ``"nLx"`` when they were computed from it.
        """
        width = _check_int("width", width, minimum=1)
        if migration_timing not in MIGRATION_TIMINGS:
            raise SpecificationError(
                f"migration_timing = {migration_timing!r}: expected one of "
                + ", ".join(repr(t) for t in MIGRATION_TIMINGS)
            )
        steps = _check_int("steps", steps, minimum=0)
        P0 = _check_base("base", base)
        areas, _, groups, _ = P0.shape
        shape = {"steps": steps, "areas": areas}

        S = _as_float(survival_name, survival)
        _check_rate_shape(survival_name, S, sexes=(1, 2), ages=groups, **shape)
        _check_values(survival_name, S, low=0.0, high=1.0)

        F = _as_float("fertility", fertility)
        _check_rate_shape("fertility", F, sexes=(1,), ages=None, **shape)
        first = _group_of_age("fertility_first_age", fertility_first_age, width, groups)
        if first < 1:
            raise SpecificationError(
                f"fertility_first_age = {fertility_first_age}: expected an age >= width "
                f"= {width} (the first age group cannot give birth during the step)"
            )
        if first + F.shape[3] > groups:
            raise SpecificationError(
                f"fertility has shape {F.shape}: axis 3 (age) has length {F.shape[3]}, "
                f"expected at most {groups - first} (groups from fertility_first_age = "
                f"{fertility_first_age} to the open group)"
            )
        _check_values("fertility", F, low=0.0, high=1.0)

        srb = _as_float("sex_ratio_at_birth", sex_ratio_at_birth)
        if srb.ndim == 0:
            srb = srb.reshape(1, 1, 1, 1, 1)
        _check_rate_shape("sex_ratio_at_birth", srb, sexes=(1,), ages=1, **shape)
        _check_values("sex_ratio_at_birth", srb, low=0.0, low_open=True)

        M = None if net_migration is None else _check_migration(net_migration, groups, shape)

        named = [("base", P0.shape[3], 3)]
        named += [
            (name, array.shape[4], 4)
            for name, array in (
                (survival_name, S),
                ("fertility", F),
                ("sex_ratio_at_birth", srb),
                ("net_migration", M),
            )
            if array is not None
        ]
        draws = _resolve_draws(named)

        shares = np.concatenate([1.0 / (1.0 + srb), srb / (1.0 + srb)], axis=2)
        return cls(
            base=P0,
            steps=steps,
            survival=S,
            migration_factor=(1.0 + S) / 2.0,
            fertility=F,
            first_group=first,
            shares=shares,
            migration=M,
            width=width,
            draws=draws,
            migration_timing=migration_timing,
        )


#: ``1/2`` as a 5-d rate: ``_Tile(M, _HALF)`` is the half ``M/2`` of the migrants
#: counted at the start and at the end of a step under ``migration_timing="phg"``.
_HALF = np.full((1, 1, 1, 1, 1), 0.5)


class _CohortKernel:
    """One cohort-component step for one block of draws: the fast form of
    :func:`capacity.core.step.step` (same equations, same notation).

    The block's state is updated in place (:class:`~capacity.core._blocks._Kernel`:
    ``Q[:, :, x]`` is ``P[:, :, x - 1]``): each cohort is multiplied by its survival
    ratio where it lies, the old open group is folded into the new one, the migrants
    counted at the end of the step are added, then the births fill group 0.

    Under ``migration_timing="phg"`` the kernel first forms the start-of-step population
    ``P* = P + M/2`` (in place), then runs the same survival, births and group-0
    operations on ``P*`` with ``M/2`` as the migrants added at the end: this is
    ``U_x = S_x P*_{x-1} + M_x/2``, ``B = n/2 sum_x F_x (W*_x + W_x(t+n))`` and
    ``U_0 = S_0 pi_s B + M_0/2`` of :func:`~capacity.core.step.step`.

    The survivors are computed as ``S P_src + (1 + S)/2 M``, which equals the textbook
    ``S (P_src + M/2) + M/2`` of :func:`~capacity.core.step.step`; ``(1 + S)/2 M`` is a
    :class:`~capacity.core._blocks._Tile` computed once per block and step of the
    inputs. Every operation writes into the state or a preallocated buffer. Under
    ``"end"``, a lower bound of every age row over the block's draws (:meth:`_bound`)
    tells when no cell can need clipping, and the check is skipped. The tests check
    that the engine and :func:`~capacity.core.step.step` agree to 1e-12
    (``tests/test_cohort.py::test_kernel_agrees_with_step``).
    """

    def __init__(self, inputs: _EngineInputs, outputs: _Outputs | None):
        self.inputs = inputs
        _, _, groups, _ = inputs.base.shape
        K = inputs.fertility.shape[3]
        S = inputs.survival
        self.survival = _Tile(S)
        # the ratio each row of P is multiplied by where it lies: S_{x+1} for the
        # cohort of group x (x < G - 1), S_{G-1} for the open group
        self.ageing = _Tile(np.concatenate([S[:, :, :, 1:], S[:, :, :, -1:]], axis=3), row_min=True)
        self.fertility = _Tile(inputs.fertility)
        self.shares = _Tile(inputs.shares)
        self.fertile = slice(inputs.first_group, inputs.first_group + K)
        self.added: _Tile | None = None
        self.requested: _Tile | None = None
        self.phg = inputs.migration_timing == "phg" and inputs.migration is not None
        if inputs.migration is not None:
            # "end": M (1 + S)/2, multiplied in this order: bit-identical whether M is an
            # array or a Product of factors; "phg": M/2 (exact), counted at the start (in
            # P*) and again at the end
            factor = _HALF if self.phg else inputs.migration_factor
            self.added = _Tile(inputs.migration, factor, row_min=True)
            if outputs is not None and outputs.deaths is not None:
                self.requested = _Tile(inputs.migration)
        self.outputs = outputs
        shapes: dict[str, tuple[int, ...]] = {"women": (K,), "births": ()}
        # "end": a lower bound over the block's draws of every cell of the state (see
        # _bound); under "phg" P* can be negative and every step is checked
        self.bounded = self.added is not None and not self.phg
        self.low = np.zeros((0, 2, groups))  # the block's (area, sex, G), see __call__
        if outputs is not None and outputs.deaths is not None:  # the full accounting
            shapes.update(source=(2, groups), unclipped=(2, groups), work=(2, groups))
        self.buffers = _Buffers(**shapes)

    def __call__(self, step: int, block: _Block, P: Array, Q: Array) -> None:
        buffers = self.buffers.at(block)
        added = None if self.added is None else self.added.get(step, block)
        ageing = self.ageing.get(step, block)
        # some migrants leave: cells may have to be clipped at 0 (checked, group 0 clipped)
        clip = self.added is not None and self.added.negative
        check = clip
        unclipped = buffers.get("unclipped")
        if self.bounded:
            if step == 0:  # a block starts: its base's minimum over draws
                if self.low.shape[0] != block.areas:
                    self.low = np.zeros((block.areas, *self.low.shape[1:]))
                np.minimum.reduce(P, axis=-1, out=self.low)
            # no cell can end the step negative if its bound cannot: no check then
            check = self._bound(self.low) < 0.0 and clip
        if self.phg:  # P* = P + M/2: the start-of-step half of the migrants
            assert added is not None
            np.add(P, added, out=P)
        source = P
        if unclipped is not None:  # the accounting reads P (or P*), which is overwritten
            source = buffers["source"]
            np.copyto(source, P)
        women = buffers["women"]  # W(t) (or W*), before P is overwritten
        np.copyto(women, P[:, FEMALE, self.fertile])

        self._survive(P, Q, ageing, added, check, unclipped)
        births = self._births(women, Q, self.fertility.get(step, block)[:, 0], buffers["births"])
        S = self.survival.get(step, block)
        shares = self.shares.get(step, block)[:, :, 0]
        self._first_group(Q, births, shares, S, added, clip, unclipped)
        if self.bounded:  # the newborn cohort: its exact minimum over draws
            np.minimum.reduce(Q[:, :, 0], axis=-1, out=self.low[:, :, 0])
        if self.outputs is not None and self.outputs.deaths is None:  # births only
            assert self.outputs.births is not None
            np.multiply(
                births[:, np.newaxis, :],
                shares,
                out=self.outputs.births[step, block.a0 : block.a1, :, block.d0 : block.d1],
            )
        elif self.outputs is not None:
            assert unclipped is not None
            self._account(step, block, source, births, shares, S, buffers["work"], unclipped)

    def _bound(self, low: Array) -> float:
        """Move the lower bound ``low`` (area, sex, G) of the block's state one step
        forward, in place, for groups ``1 .. G-1``; return its smallest value before the
        clipping at 0.

        With ``s_x`` and ``a_x`` the minima over the block's draws of the ageing ratio
        of row ``x`` and of the migrants added at the end (:class:`_Tile` ``row_min``),
        ``b_x = s_{x-1} low_{x-1} + a_x`` (the open group: ``s_{G-2} low_{G-2} + s_{G-1}
        low_{G-1} + a_{G-1}``), computed with the same floating-point operations in the
        same order as the cells themselves. Rounding is monotone and every factor is
        >= 0 (``P >= 0`` under ``"end"``), so every cell ``U_x >= b_x``: when no ``b_x``
        is negative no cell needs clipping and the read of the whole state that checks
        it is skipped, with the same result. ``max(b, 0)`` bounds the clipped state
        ``P(t+n)``; group 0 is set by the caller from the births."""
        assert self.ageing.row_min is not None and self.added is not None
        assert self.added.row_min is not None
        s, a = self.ageing.row_min, self.added.row_min
        b = s[:, :, :-1] * low[:, :, :-1]
        b[:, :, -1] += s[:, :, -1] * low[:, :, -1]
        b += a[:, :, 1:]
        smallest = float(np.minimum.reduce(b, axis=None))
        np.maximum(b, 0.0, out=low[:, :, 1:])
        return smallest

    @staticmethod
    def _survive(
        P: Array,
        Q: Array,
        ageing: Array,
        added: Array | None,
        check: bool,
        unclipped: Array | None,
    ) -> None:
        """Groups ``1 .. G-1`` at the end of the step (steps 1, 2 and 5 of ``step``):
        ``U_x = S_x P_src + (1 + S_x)/2 M_x`` (``= S_x E_x + M_x/2``), then
        ``P_x(t+n) = max(U_x, 0)``; ``U`` is kept in ``unclipped`` for the accounting.

        In place: ``P_x`` becomes ``S_{x+1} P_x``, which is ``Q_{x+1}``; the open group
        ``Q_{G-1}`` (the row of ``P_{G-2}``) then gets ``S_{G-1} P_{G-1}`` added."""
        np.multiply(P, ageing, out=P)
        open_group = Q[:, :, -1]
        np.add(open_group, P[:, :, -1], out=open_group)
        older = Q[:, :, 1:]
        if added is not None:
            np.add(older, added[:, :, 1:], out=older)
        if unclipped is not None:
            np.copyto(unclipped[:, :, 1:], older)
        # clipping is rare: a read-only check is cheaper than clipping every step
        if check and np.minimum.reduce(older, axis=None) < 0.0:
            np.maximum(older, 0.0, out=older)

    def _births(self, women: Array, Q: Array, F: Array, births: Array) -> Array:
        """Births of the step per area and draw (step 3 of ``step``):
        ``B = n/2 sum_x F_x (W_x(t) + W_x(t+n))``; ``women`` holds ``W(t)`` on entry."""
        np.add(women, Q[:, FEMALE, self.fertile], out=women)
        np.multiply(women, F, out=women)
        np.add.reduce(women, axis=1, out=births)
        np.multiply(births, self.inputs.width / 2.0, out=births)
        return births

    @staticmethod
    def _first_group(
        Q: Array,
        births: Array,
        shares: Array,
        S: Array,
        added: Array | None,
        clip: bool,
        unclipped: Array | None,
    ) -> None:
        """Group 0 at the end of the step (step 4 of ``step``):
        ``U_0 = S_0 pi_s B + (1 + S_0)/2 M_0`` (``= S_0 (B_s + M_0/2) + M_0/2``),
        then ``max(U_0, 0)``."""
        first = Q[:, :, 0]
        np.multiply(births[:, np.newaxis, :], shares, out=first)
        np.multiply(first, S[:, :, 0], out=first)
        if added is not None:
            np.add(first, added[:, :, 0], out=first)
        if unclipped is not None:
            np.copyto(unclipped[:, :, 0], first)
        if clip:
            np.maximum(first, 0.0, out=first)

    def _account(
        self,
        step: int,
        block: _Block,
        P: Array,
        births: Array,
        shares: Array,
        S: Array,
        work: Array,
        unclipped: Array,
    ) -> None:
        """Births, deaths and realised migration of the step, summed over age (steps 5
        and 6 of ``step``).

        With ``U`` the unclipped end-of-step value and ``E = P_src + M/2`` the cohort
        exposed to mortality (``P_src``: group ``x - 1``, both last groups for the open
        group, ``B_s`` for group 0), clipping removes ``A = min(U, 0) / (1 + S)`` from the
        half of the migrants counted at the start *and* from the half counted at the
        end, so that realised migration is ``M - 2A``, deaths are ``(1 - S)(E - A)`` and
        the end value ``S (E - A) + M/2 - A = max(U, 0)``.

        Under ``"phg"``, ``P`` is ``P* = P + M/2`` and ``E`` is ``P*_src`` (``B_s`` for
        group 0) without a further ``M/2``; the rest is the same.
        """
        out = self.outputs
        assert out is not None and out.births is not None
        assert out.deaths is not None and out.net_migration is not None
        assert out.migration_adjustment is not None
        cells = (slice(block.a0, block.a1), slice(None), slice(block.d0, block.d1))
        sexes_births = births[:, np.newaxis, :] * shares
        np.copyto(out.births[step][cells], sexes_births)
        # exposure E (persons exposed to the step's mortality), in work
        np.copyto(work[:, :, 1:], P[:, :, :-1])
        work[:, :, -1] += P[:, :, -1]
        np.copyto(work[:, :, 0], sexes_births)
        adjust = np.minimum(unclipped, 0.0)
        adjust /= 1.0 + S
        if self.requested is not None:
            M = self.requested.get(step, block)
            if not self.phg:
                work += M / 2.0
            requested = np.add.reduce(np.broadcast_to(M, work.shape), axis=2)
        else:
            requested = np.zeros(work.shape[:2] + work.shape[3:])
        work -= adjust
        work *= 1.0 - S
        np.add.reduce(work, axis=2, out=out.deaths[step][cells])
        removed = -2.0 * np.add.reduce(adjust, axis=2)
        removed += 0.0  # -0.0 -> 0.0
        np.copyto(out.migration_adjustment[step][cells], removed)
        np.copyto(out.net_migration[step][cells], requested + removed)
