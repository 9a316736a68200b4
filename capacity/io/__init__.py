"""Reading and validating input files.

``load_district`` and ``District`` are imported lazily (they pull in geopandas and
pandera), so importing :mod:`capacity.io` is cheap.

Public API
----------
load_district(path=None) -> District
    Read and validate a whole district folder; raises :class:`capacity.errors.InputError`.
District
    The validated inputs, with array accessors in (area, sex, age) order.
default_district_path() -> Path
    The embedded default (``data/districts/haizhu``, or ``$CAPACITY_DATA/districts/haizhu``).
SEXES, SECTORS
    Labels along the sex and sector axes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from capacity.io.district import SECTORS, SEXES, District, default_district_path, load_district

__all__ = ["SECTORS", "SEXES", "District", "default_district_path", "load_district"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from capacity.io import district

        return getattr(district, name)
    raise AttributeError(f"module 'capacity.io' has no attribute {name!r}")
