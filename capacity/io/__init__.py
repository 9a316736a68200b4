"""Reading and validating a district: files, or tables built in code.

``load_district(path=None) -> District`` reads and checks a district folder (by default the embedded one,
:func:`default_district_path`); ``District.from_frames(...)`` builds one from tables with the same checks; both raise
:class:`capacity.errors.InputError`. ``SEXES`` and ``SECTORS`` label the sex and sector axes. Modules: ``models`` (what valid
inputs are, in words too; pydantic's errors are put in words by :mod:`capacity.problems`, shared with the scenario files and
``history.toml``), ``read`` (strict CSV and text),
``checks`` (linear-time checks of and across tables), ``geometry`` (the areas), ``district``. The names are imported lazily
(they pull in geopandas and pandera), so importing :mod:`capacity.io` is cheap.
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
