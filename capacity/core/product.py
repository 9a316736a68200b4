"""Rates given as a product of broadcastable factors, multiplied out block by block.

A scenario's net migration is a base pattern by area, sex and age, times a scale per
year, times a multiplier per Monte-Carlo draw:

.. math:: M[t, a, s, x, d] = m[a, s, x] \\cdot k[t] \\cdot u[d].

Multiplied out for 10 000 draws of a district of 18 areas over 15 steps that array would
take 4.4 GB; as a :class:`Product` it is three small arrays, and the projection engine
(:mod:`capacity.core._blocks`) multiplies out only the slice of one step and one block of
draws at a time (a few MiB). This is what keeps the engine's memory bounded for any
number of draws without a second level of chunking in the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from capacity.core._checks import Array, _as_float
from capacity.errors import SpecificationError

__all__ = ["Product"]


@dataclass(frozen=True, init=False)
class Product:
    """A 5-d array ``(step, area, sex, age, draw)`` kept as the product of its factors.

    Parameters
    ----------
    *factors : array_like, each 5-d ``(step, area, sex, age, draw)``
        Factors whose axes are 1 or the length of the product's axis (numpy
        broadcasting). Units: those of the product (e.g. persons for net migration)
        are the product of the factors' units (e.g. persons x 1 x 1).

    Notes
    -----
    The value of any element is ``((f0 * f1) * f2) * ...``, multiplied left to right, so
    a block multiplied out by the engine is bit-identical to the same slice of
    :meth:`materialise`.
    """

    factors: tuple[Array, ...]

    def __init__(self, *factors: ArrayLike) -> None:
        if not factors:
            raise SpecificationError("Product: expected at least one factor")
        arrays = tuple(_as_float(f"factor {i}", f) for i, f in enumerate(factors))
        for i, array in enumerate(arrays):
            if array.ndim != 5:
                raise SpecificationError(
                    f"Product factor {i} has shape {array.shape}: expected a 5-d array "
                    "(step, area, sex, age, draw)"
                )
        try:
            np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise SpecificationError(
                f"Product factors of shapes {shapes}: expected shapes that broadcast"
            ) from None
        object.__setattr__(self, "factors", arrays)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of the product (the factors' shapes broadcast)."""
        return np.broadcast_shapes(*(f.shape for f in self.factors))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def materialise(self) -> Array:
        """The product as one array (memory: the full broadcast shape)."""
        out = np.array(np.broadcast_to(self.factors[0], self.shape), dtype=np.float64)
        for factor in self.factors[1:]:
            out *= factor
        return out
