"""The validated inputs of a district, as one object with array accessors.

:class:`District` holds everything read from a district folder (see
``docs/data-format.md``) once it has passed every check; :func:`load_district` (defined in
:mod:`capacity.io.load`, re-exported here) is the only way to build one from files, and
:func:`default_district_path` names the embedded default folder.

Array accessors follow the project-wide axis order (area, sex, age), with areas in
``District.area_codes`` order (sorted codes), sex 0 = female and 1 = male, ages
0 ... ``open_age``; stages in ``stages.csv`` order; sector 0 = public, 1 = private.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from capacity.io.load import load_district

__all__ = ["DATA_ENV", "SECTORS", "SEXES", "District", "default_district_path", "load_district"]

#: Environment variable naming a data folder (holding ``districts/haizhu``) to use instead
#: of the repository's ``data`` folder.
DATA_ENV = "CAPACITY_DATA"

#: Sex codes along the sex axis: index 0 = female, 1 = male.
SEXES: tuple[str, str] = ("female", "male")

#: Sectors along the sector axis: index 0 = public, 1 = private.
SECTORS: tuple[str, str] = ("public", "private")

DEFAULT_DISTRICT = "haizhu"


def default_district_path() -> Path:
    """The embedded default district folder.

    Returns
    -------
    Path
        ``$CAPACITY_DATA/districts/haizhu`` if the environment variable is set, else
        ``data/districts/haizhu`` of the repository.
    """
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env) / "districts" / DEFAULT_DISTRICT
    from capacity.resources import district_path

    return district_path(DEFAULT_DISTRICT)


@dataclass(frozen=True, eq=False)
class District:
    """A validated district input set.

    Attributes
    ----------
    path : Path
        The district folder.
    name, name_zh, code : str
        English name, local name ("" if not given) and code of the district.
    base_year : int
        Year of the base population.
    open_age : int
        The last, open age group (``open_age`` and over).
    sex_ratio_at_birth : float
        Male births per female birth.
    attribution : str
        Line to print under maps drawn from the areas.
    areas : geopandas.GeoDataFrame
        ``area_code``, ``name_zh``, ``name_en``, ``geometry``; EPSG:4326, sorted by code.
    area_codes : tuple of str
        Area codes in axis order (sorted).
    stages : pandas.DataFrame
        ``stages.csv`` in file order.
    population, migration : pandas.DataFrame
        Sorted by area code, sex (female first), age.
    fertility : pandas.DataFrame
        Sorted by age.
    life_table : pandas.DataFrame
        Sorted by sex (female first), age.
    places : pandas.DataFrame
        Sorted by area code, stage (file order of ``stages.csv``), sector (public first).
    projects, sources : pandas.DataFrame
        In file order.
    files : dict of str to Path
        Every file read: name relative to the district folder (the projects file as written
        in ``district.toml``) -> path.
    """

    path: Path
    name: str
    name_zh: str
    code: str
    base_year: int
    open_age: int
    sex_ratio_at_birth: float
    attribution: str
    areas: gpd.GeoDataFrame
    area_codes: tuple[str, ...]
    stages: pd.DataFrame
    population: pd.DataFrame
    fertility: pd.DataFrame
    life_table: pd.DataFrame
    migration: pd.DataFrame
    places: pd.DataFrame
    projects: pd.DataFrame
    sources: pd.DataFrame
    files: dict[str, Path]
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)
    plan: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (f"<District {self.name} ({self.code}), {len(self.area_codes)} areas, base year {self.base_year}, "
                f"stages {', '.join(self.stage_names)}, {self.projects['project_id'].nunique()} projects, "
                f"from {self.path.name}/>")

    # ------------------------------------------------------------------ plan

    @property
    def plan_needs(self) -> pd.DataFrame | None:
        """The plan's stated needs (stage, year, value), or None without ``plan.csv``."""
        if self.plan is None:
            return None
        return self.plan[self.plan["indicator"] == "need"][["stage", "year", "value"]].reset_index(drop=True)

    @property
    def plan_indicators(self) -> dict[str, float]:
        """The plan's other targets, by indicator name (empty without ``plan.csv``)."""
        if self.plan is None:
            return {}
        rows = self.plan[self.plan["indicator"] != "need"]
        return {str(i): float(v) for i, v in zip(rows["indicator"], rows["value"])}

    # ------------------------------------------------------------------ axes

    @property
    def ages(self) -> np.ndarray:
        """Ages along the age axis, ``0 ... open_age``."""
        return np.arange(self.open_age + 1)

    @property
    def stage_names(self) -> tuple[str, ...]:
        """Stages along the stage axis (``stages.csv`` order)."""
        return tuple(self.stages["stage"])

    @property
    def fertility_first_age(self) -> int:
        """Youngest age of mothers in ``fertility.csv`` (first element of :meth:`fertility_array`)."""
        return int(self.fertility["age"].iloc[0])

    @property
    def fertility_last_age(self) -> int:
        """Oldest age of mothers in ``fertility.csv``."""
        return int(self.fertility["age"].iloc[-1])

    # ------------------------------------------------------------------ arrays

    def _area_sex_age(self, frame: pd.DataFrame, column: str) -> np.ndarray:
        out = np.zeros((len(self.area_codes), len(SEXES), self.open_age + 1), dtype=np.float64)
        area = _positions(frame["area_code"], self.area_codes)
        sex = _positions(frame["sex"], SEXES)
        out[area, sex, frame["age"].to_numpy(np.int64)] = frame[column].to_numpy(np.float64)
        return out

    def population_array(self) -> np.ndarray:
        """Base population.

        Returns
        -------
        numpy.ndarray
            Shape (area, sex, age), float64.
        """
        return self._area_sex_age(self.population, "population")

    def migration_array(self) -> np.ndarray:
        """Net migrants per year.

        Returns
        -------
        numpy.ndarray
            Shape (area, sex, age), float64; may be negative.
        """
        return self._area_sex_age(self.migration, "net_migrants")

    def fertility_array(self) -> np.ndarray:
        """Age-specific fertility rates.

        Returns
        -------
        numpy.ndarray
            Shape (age,), float64, over ages ``fertility_first_age ... fertility_last_age``.
        """
        return self.fertility["rate"].to_numpy(np.float64).copy()

    def _sex_age(self, column: str) -> np.ndarray:
        out = np.zeros((len(SEXES), self.open_age + 1), dtype=np.float64)
        sex = _positions(self.life_table["sex"], SEXES)
        out[sex, self.life_table["age"].to_numpy(np.int64)] = self.life_table[column].to_numpy(np.float64)
        return out

    def Lx_array(self) -> np.ndarray:  # noqa: N802 (demographic notation)
        """Person-years lived ``Lx`` (at ``open_age``: ``T``, all years above it).

        Returns
        -------
        numpy.ndarray
            Shape (sex, age), float64.
        """
        return self._sex_age("Lx")

    def lx_array(self) -> np.ndarray:
        """Survivors ``lx`` to exact age (radix 100000).

        Returns
        -------
        numpy.ndarray
            Shape (sex, age), float64.
        """
        return self._sex_age("lx")

    def places_array(self) -> np.ndarray:
        """Existing places in the base year; a combination not listed is zero.

        Returns
        -------
        numpy.ndarray
            Shape (area, stage, sector), float64; sector 0 = public, 1 = private.
        """
        out = np.zeros((len(self.area_codes), len(self.stage_names), len(SECTORS)), dtype=np.float64)
        if len(self.places):
            area = _positions(self.places["area_code"], self.area_codes)
            stage = _positions(self.places["stage"], self.stage_names)
            sector = _positions(self.places["sector"], SECTORS)
            out[area, stage, sector] = self.places["places"].to_numpy(np.float64)
        return out

    # ------------------------------------------------------------------ provenance

    def input_hashes(self) -> dict[str, str]:
        """SHA-256 of every input file, as read when the district was loaded.

        Returns
        -------
        dict of str to str
            File name (as in :attr:`files`) -> hex digest.
        """
        if self._hashes:
            return dict(self._hashes)
        return {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in self.files.items()}


def _positions(labels: pd.Series, axis: Sequence[str]) -> np.ndarray:
    """Position along ``axis`` of each label (all labels are on the axis)."""
    return labels.map({label: i for i, label in enumerate(axis)}).to_numpy(np.int64)


def __getattr__(name: str) -> Any:
    # load_district lives with the readers it drives; imported on first use, as those
    # readers import this module for District.
    if name == "load_district":
        from capacity.io.load import load_district

        return load_district
    raise AttributeError(f"module 'capacity.io.district' has no attribute {name!r}")
