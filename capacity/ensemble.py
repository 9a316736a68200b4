"""Random inputs for Monte Carlo draws, with common random numbers.

Every random input of draw ``k`` comes from its own generator, seeded by the run's seed,
the draw number and the name of the component (``"fertility"``, ``"delay:S2"`` ...):

.. code-block:: text

    SeedSequence(entropy=seed, spawn_key=(crc32(component), k))

so draw ``k`` sees the same random numbers in every scenario, in every chunk and on every
worker, whatever else the scenario contains (common random numbers). Two scenarios that
differ only in an assumption therefore differ only by that assumption's effect, draw by
draw, and their paired differences have far less noise than independent runs.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

from capacity.scenario import Distribution


def component_key(component: str) -> int:
    """Stable integer of a component name (CRC-32 of its UTF-8 bytes)."""
    return zlib.crc32(component.encode("utf-8"))


def draw_rng(seed: int, draw: int, component: str) -> np.random.Generator:
    """The generator of one component in one draw."""
    ss = np.random.SeedSequence(entropy=seed, spawn_key=(component_key(component), draw))
    return np.random.Generator(np.random.PCG64(ss))


def sample(dist: Distribution | None, *, seed: int, draws: int, component: str,
           default: float = 1.0) -> NDArray[np.float64]:
    """One value per draw of ``dist`` (shape ``(draws,)``).

    With ``draws == 0`` (a deterministic run) the result is the single value
    ``dist.center`` (or ``default`` without a distribution), shape ``(1,)``. A degenerate
    distribution gives its centre in every draw, so it reproduces the deterministic run
    exactly.
    """
    if dist is None:
        return np.full(max(draws, 1), float(default))
    if draws == 0 or dist.is_degenerate:
        return np.full(max(draws, 1), float(dist.center))
    return np.array([dist.sample(draw_rng(seed, k, component), 1)[0] for k in range(draws)])


def uniforms(*, seed: int, draws: int, component: str) -> NDArray[np.float64]:
    """One U(0, 1) value per draw (for cancellations), shape ``(draws,)``."""
    return np.array([draw_rng(seed, k, component).random() for k in range(draws)])
