"""Random inputs for Monte Carlo draws, with common random numbers.

Every random input of draw ``k`` comes from one block of a counter-based generator
(Philox-4x64, :class:`numpy.random.Philox`) keyed by the run's seed and the name of the
component (``"fertility"``, ``"delay:S2"`` ...), at the counter value ``k``:

.. code-block:: text

    key     = (SeedSequence(seed).generate_state(1, uint64)[0], crc32(component))
    counter = k          ->  four 64-bit words w0..w3, four uniforms u_i = (w_i >> 11) 2^-53

so draw ``k`` sees the same random numbers in every scenario, in every chunk and on every
worker, whatever else the scenario contains (common random numbers). Because the block
of draw ``k`` is found by its counter, the words of draws ``start..stop`` are made in one
vectorised call (no generator object per draw); two scenarios that differ only in an
assumption therefore differ only by that assumption's effect, draw by draw, and their
paired differences have far less noise than independent runs.

Variates are made from the uniforms by closed forms, the same in every chunk: normal by
Box-Muller (:math:`z = \\sqrt{-2 \\ln(1 - u_0)} \\cos(2 \\pi u_1)`), lognormal as
:math:`m e^{\\sigma z}`, uniform and triangular by their inverse distribution functions,
Poisson by its inverse distribution function at :math:`u_0` (:func:`poisson_quantile`).
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from capacity.scenario import Distribution

_WORDS = 4
"""64-bit words of one Philox block: the random numbers of one component in one draw."""


def component_key(component: str) -> int:
    """Stable integer of a component name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(component.encode("utf-8"))


def _seed_word(seed: int) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0])


def draw_uniforms(seed: int, component: str, start: int, stop: int) -> NDArray[np.float64]:
    """Four U[0, 1) numbers for each draw ``start .. stop - 1`` of a component, shape ``(stop - start, 4)``.

    Row ``i`` depends on ``(seed, component, start + i)`` only: the Philox block at counter
    ``start + i`` (numpy's Philox increments its counter before each block, so the
    generator is started one below).
    """
    if stop <= start:
        return np.empty((0, _WORDS))
    key = np.array([_seed_word(seed), component_key(component)], dtype=np.uint64)
    below = [start - 1, 0, 0, 0] if start > 0 else [2**64 - 1] * 4  # (start - 1) mod 2^256
    counter = np.array(below, dtype=np.uint64)
    words = np.random.Philox(key=key, counter=counter).random_raw((stop - start) * _WORDS)
    u: NDArray[np.float64] = (np.asarray(words, dtype=np.uint64) >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return u.reshape(stop - start, _WORDS)


def variates(dist: Distribution, u: NDArray[np.float64]) -> NDArray[np.float64]:
    """One value of ``dist`` per row of uniforms ``u`` (shape ``(n, 4)``, from :func:`draw_uniforms`)."""
    p = dict(dist.params)
    n = u.shape[0]
    if dist.kind == "fixed":
        return np.full(n, p["value"])
    if dist.kind in ("normal", "lognormal"):
        z = np.sqrt(-2.0 * np.log1p(-u[:, 0])) * np.cos(2.0 * np.pi * u[:, 1])
        if dist.kind == "normal":
            out: NDArray[np.float64] = p["mean"] + p["sd"] * z
            return out
        return p["median"] * np.exp(p["sigma"] * z)
    if dist.kind == "uniform":
        return p["low"] + (p["high"] - p["low"]) * u[:, 0]
    if dist.kind == "triangular":
        lo, mode, hi = p["low"], p["mode"], p["high"]
        if lo == hi:
            return np.full(n, lo)
        f = (mode - lo) / (hi - lo)
        x = u[:, 0]
        left = lo + np.sqrt(x * (hi - lo) * (mode - lo))
        right = hi - np.sqrt((1.0 - x) * (hi - lo) * (hi - mode))
        return np.where(x < f, left, right)
    return poisson_quantile(u[:, 0], p["mean"])


def poisson_quantile(u: NDArray[np.float64], mean: float) -> NDArray[np.float64]:
    """Inverse distribution function of Poisson(``mean``): the least ``k`` with :math:`F(k) > u`.

    :math:`F(k) = \\sum_{j \\le k} e^{-\\lambda} \\lambda^j / j!`, tabulated up to
    :math:`\\lambda + 12 \\sqrt{\\lambda} + 30` (beyond it the tail is below 1e-15).
    """
    top = int(mean + 12.0 * np.sqrt(mean) + 30.0)
    k = np.arange(top + 1, dtype=float)
    log_pmf = -mean + k * np.log(mean) - np.cumsum(np.log(np.maximum(k, 1.0)))
    cdf = np.cumsum(np.exp(log_pmf))
    out: NDArray[np.float64] = np.minimum(np.searchsorted(cdf, u, side="right"), top).astype(float)
    return out


def _range(draws: int, block: tuple[int, int] | None) -> tuple[int, int]:
    return (0, draws) if block is None else block


def sample(dist: Distribution | None, *, seed: int, draws: int, component: str,
           default: float = 1.0, block: tuple[int, int] | None = None) -> NDArray[np.float64]:
    """One value of ``dist`` per draw (shape ``(draws,)``, or ``(stop - start,)`` for a ``block``).

    With ``draws == 0`` (a deterministic run) the result is the single value
    ``dist.center`` (or ``default`` without a distribution), shape ``(1,)``. A degenerate
    distribution gives its centre in every draw, so it reproduces the deterministic run
    exactly. ``block = (start, stop)`` gives draws ``start .. stop - 1`` only, the same
    values as the same slice of the whole.
    """
    start, stop = _range(draws, block)
    n = 1 if draws == 0 else stop - start
    if dist is None:
        return np.full(n, float(default))
    if draws == 0 or dist.is_degenerate:
        return np.full(n, float(dist.center))
    return variates(dist, draw_uniforms(seed, component, start, stop))


def uniforms(*, seed: int, draws: int, component: str, block: tuple[int, int] | None = None) -> NDArray[np.float64]:
    """One U[0, 1) value per draw (for cancellations), shape ``(draws,)`` or ``(stop - start,)``."""
    start, stop = _range(draws, block)
    return draw_uniforms(seed, component, start, stop)[:, 0].copy()
