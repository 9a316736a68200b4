"""Reading and validating a district: files, or tables built in code.

Modules: ``models`` (pandera models of the tables, a pydantic model of ``district.toml``),
``read`` (strict reading of CSV and TOML), ``checks`` (checks of and across tables, linear
in the rows), ``geometry`` (the areas), ``district`` (the District object and its loader).
``load_district`` and ``District`` are imported lazily (they pull in geopandas and
pandera), so importing :mod:`capacity.io` is cheap.

Public API
----------
load_district(path=None) -> District
    Read and validate a whole district folder; raises :class:`capacity.errors.InputError`.
District
    The validated inputs, with array accessors in (area, sex, age) order; built in code
    with ``District.from_frames(...)``, it gets the same checks.
default_district_path() -> Path
    The embedded default (``capacity/data/districts/haizhu``, or ``$CAPACITY_DATA/districts/haizhu``).
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
