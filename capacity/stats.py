"""Summaries over Monte Carlo draws shared by every output (the draw axis is always last).

A deterministic run has one draw (``draws == 0``) and its point value is that draw; a run
with draws reports the mean over draws and the :data:`QUANTILES` beside it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

QUANTILES = (10, 50, 90)
"""Percentiles reported beside the mean of a run with draws (``*_p10``, ``*_p50``, ``*_p90``)."""

THRESHOLD = 0.5
"""A shortfall counts from this many children (half a child, so rounding noise is not a need)."""


def point(values: NDArray[np.float64], draws: int) -> NDArray[np.float64]:
    """Point value over the last (draw) axis.

    Parameters
    ----------
    values : ndarray, shape (..., draw)
    draws : int
        Number of Monte Carlo draws of the run (0: deterministic).

    Returns
    -------
    ndarray, shape (...)
        The single run, or the mean over draws.
    """
    return values[..., 0] if draws == 0 else values.mean(axis=-1)


__all__ = ["QUANTILES", "THRESHOLD", "point"]
