"""The validated inputs of a district, as one object with array accessors, and its loader.

A :class:`District` is checked whenever it is built, read by :func:`load_district` (problems name file and line) or in code
(table and position). Arrays follow the axis order (area, sex, age): areas as ``District.area_codes`` (sorted), sex 0 =
female, ages 0 ... ``open_age``; stages in ``stages.csv`` order; sector 0 = public, 1 = private.
"""

from __future__ import annotations

import hashlib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from capacity.errors import InputError, Problem
from capacity.io.checks import Where, check_tables
from capacity.io.geometry import AREA_FILES, check_geometry, read_areas
from capacity.io.models import OPTIONAL_TABLES, SECTORS, SEXES, TABLES, DistrictFile, Settings, settings_problems
from capacity.io.read import read_csv, read_text
from capacity.resources import district_path as default_district_path  # the embedded default district folder

if TYPE_CHECKING:
    from capacity.forecast.history import History

__all__ = ["SECTORS", "SEXES", "District", "default_district_path", "load_district"]

SETTINGS_FILE = "district.toml"


@dataclass(frozen=True, eq=False)
class District:
    """A validated district input set.

    Building one checks it (unless it comes from :func:`load_district`, which has checked the files) and puts its tables in
    the documented types and orders; an :class:`~capacity.errors.InputError` lists every problem.

    Attributes
    ----------
    path : Path
        The district folder (for a district built in code: any path, e.g. ``Path(".")``).
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
    population, migration, fertility, life_table, places : pandas.DataFrame
        Sorted by their keys (area code, sex, age; age; sex, age; area code, stage, sector), sex female first, stages in
        ``stages.csv`` order, sector public first.
    projects, sources : pandas.DataFrame
        In file order.
    files : dict of str to Path
        Every file read: name relative to the district folder -> path (empty in code).
    plan, observed : pandas.DataFrame or None
        ``plan.csv`` and ``observed.csv`` (``age`` as text, empty for a total) in file order, if there are.
    history : capacity.forecast.history.History or None
        The district's own past (the ``history/`` folder, :mod:`capacity.forecast.district_history`), if there is one:
        what a scenario's ``method`` projects the children from.
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
    files: dict[str, Path] = field(default_factory=dict)
    _hashes: dict[str, str] = field(default_factory=dict, repr=False)
    _names: dict[str, str] = field(default_factory=dict, repr=False)  # table -> file as sources.csv names it, if not the standard one
    plan: pd.DataFrame | None = None
    observed: pd.DataFrame | None = None
    history: History | None = None
    _checked: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        tables = {name: getattr(self, name) for name in TABLES if name != "areas"}
        areas = self.areas
        if not self._checked:
            problems: list[Problem] = []
            settings_problems(Settings, {k: getattr(self, k) for k in Settings.model_fields}, "District", "attribute", problems)
            kinds = {name: gpd.GeoDataFrame if name == "areas" else pd.DataFrame for name in TABLES}
            problems += [Problem(name, "", "", f"expected a {kinds[name].__name__}, found {type(value).__name__}") for name, value in
                         {"areas": areas, **tables}.items() if not isinstance(value, kinds[name]) and not (name in OPTIONAL_TABLES and value is None)]
            if any(not p.where for p in problems):
                raise InputError(problems)
            open_age = None if any(p.where == "attribute open_age" for p in problems) else self.open_age
            names = {n: f for n, f in ({n: i.file for n, i in TABLES.items()} | self._names).items() if tables.get(n, areas) is not None}
            areas, tables = _check(areas, tables, {name: Where(name) for name in TABLES}, open_age, names, self.files, problems, code=self.code)
            if areas is not None and tuple(self.area_codes) != tuple(sorted(areas["area_code"])):
                problems.append(Problem("District", "attribute area_codes", "",
                                        f"expected the sorted area codes of areas, found {tuple(self.area_codes)!r}"))
            if problems or areas is None:
                raise InputError(problems)
            if self.history is not None:  # the district's own past must fit it
                from capacity.forecast.district_history import check_district_history

                check_district_history(self.history, "history", area_codes=tuple(sorted(areas["area_code"])),
                                       stage_ages=_stage_ages(tables["stages"]), base_year=self.base_year)
        rank = {k: {v: i for i, v in enumerate(o)} for k, o in (("sex", SEXES), ("stage", tables["stages"]["stage"]), ("sector", SECTORS))}
        for name, frame in tables.items():  # population, migration, fertility, life table and places sorted by their keys
            if frame is not None and name in ("population", "migration", "fertility", "life_table", "places"):
                frame = frame.sort_values(list(TABLES[name].keys), key=lambda s: s.map(rank[s.name]) if s.name in rank else s)
            object.__setattr__(self, name, frame.reset_index(drop=True) if frame is not None else None)
        object.__setattr__(self, "areas", areas.sort_values("area_code", kind="stable").reset_index(drop=True))
        object.__setattr__(self, "area_codes", tuple(self.areas["area_code"]))
        object.__setattr__(self, "_checked", False)  # a copy (dataclasses.replace) is checked again

    @classmethod
    def from_frames(cls, *, name: str, code: str, base_year: int, open_age: int, sex_ratio_at_birth: float, attribution: str,
                    areas: gpd.GeoDataFrame, stages: pd.DataFrame, population: pd.DataFrame, fertility: pd.DataFrame,
                    life_table: pd.DataFrame, migration: pd.DataFrame, places: pd.DataFrame, projects: pd.DataFrame,
                    sources: pd.DataFrame, plan: pd.DataFrame | None = None, name_zh: str = "", path: Path | None = None,
                    observed: pd.DataFrame | None = None, history: History | None = None) -> District:
        """Build and check a district from tables in memory.

        The tables have the columns of the files (``docs/data-format.md``), rows in any order; ``areas`` has ``area_code``,
        ``name_zh``, ``name_en`` and polygons with a CRS; ``sources`` names the files as a district folder would
        (``projects.csv``); ``history`` is a district's own past (:func:`capacity.forecast.history.read_history`).

        Raises
        ------
        InputError
            Every problem, naming the table (``population``) and the row position (``position 11``, counted from 0 as in
            ``DataFrame.iloc``).
        """
        codes = tuple(sorted(str(c) for c in areas["area_code"])) if "area_code" in areas.columns else ()
        return cls(path=path or Path("."), name=name, name_zh=name_zh, code=code, base_year=base_year, open_age=open_age,
                   sex_ratio_at_birth=sex_ratio_at_birth, attribution=attribution, areas=areas, area_codes=codes,
                   stages=stages, population=population, fertility=fertility, life_table=life_table, migration=migration,
                   places=places, projects=projects, sources=sources, plan=plan, observed=observed, history=history)

    def __repr__(self) -> str:
        return (f"<District {self.name} ({self.code}), {len(self.area_codes)} areas, base year {self.base_year}, "
                f"stages {', '.join(self.stage_names)}, {self.projects['project_id'].nunique()} projects, "
                f"from {self.path.name}/>")

    @property
    def plan_needs(self) -> pd.DataFrame | None:
        """The plan's stated needs (:func:`capacity.plan.needs`), or None without ``plan.csv``."""
        from capacity import plan

        return None if self.plan is None else plan.needs(self)

    @property
    def plan_indicators(self) -> dict[str, float]:
        """The plan's other targets (:func:`capacity.plan.targets`); empty without ``plan.csv``."""
        from capacity import plan

        return plan.targets(self)

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

    def _cells(self, frame: pd.DataFrame, column: str, *shape: int) -> np.ndarray:
        return frame[column].to_numpy(np.float64, copy=True).reshape(*shape, self.open_age + 1)  # complete grids, sorted

    def population_array(self) -> np.ndarray:
        """Base population, shape (area, sex, age), float64."""
        return self._cells(self.population, "population", len(self.area_codes), 2)

    def migration_array(self) -> np.ndarray:
        """Net migrants per year (may be negative), shape (area, sex, age), float64."""
        return self._cells(self.migration, "net_migrants", len(self.area_codes), 2)

    def fertility_array(self) -> np.ndarray:
        """Age-specific fertility rates over ages ``fertility_first_age ... fertility_last_age``, float64."""
        return self.fertility["rate"].to_numpy(np.float64, copy=True)

    def Lx_array(self) -> np.ndarray:  # noqa: N802 (demographic notation)
        """Person-years lived ``Lx`` (at ``open_age``: ``T``, all years above it), shape (sex, age), float64."""
        return self._cells(self.life_table, "Lx", 2)

    def lx_array(self) -> np.ndarray:
        """Survivors ``lx`` to exact age (radix 100000), shape (sex, age), float64."""
        return self._cells(self.life_table, "lx", 2)

    def places_array(self) -> np.ndarray:
        """Existing places in the base year (zero where not listed), shape (area, stage, sector), float64."""
        out = np.zeros((len(self.area_codes), len(self.stage_names), 2))
        axes = {"area_code": self.area_codes, "stage": self.stage_names, "sector": SECTORS}
        out[tuple(self.places[k].map({v: i for i, v in enumerate(a)}).to_numpy(np.int64) for k, a in axes.items())] = self.places["places"]
        return out

    def input_hashes(self) -> dict[str, str]:
        """SHA-256 of every input file as read when loaded: file name (as in :attr:`files`) -> hex digest."""
        return dict(self._hashes) or {name: hashlib.sha256(path.read_bytes()).hexdigest() for name, path in self.files.items()}


def load_district(path: str | Path | None = None) -> District:
    """Read and validate a district folder.

    Parameters
    ----------
    path : str or Path, optional
        The district folder (holding ``district.toml``), or its ``district.toml``. By default the embedded Haizhu district
        (see :func:`default_district_path`).

    Returns
    -------
    District
        The validated inputs.

    Raises
    ------
    InputError
        If anything is wrong with any file; it holds every problem found, and its message is the first one, naming the file,
        the row or key, the column and what was expected.
    """
    folder = Path(path) if path is not None else default_district_path()
    folder = folder.parent if folder.suffix == ".toml" and folder.is_file() else folder
    if not folder.is_dir():
        raise InputError.one(str(path if path is not None else folder), "", "",
                             "expected a district folder holding district.toml, found no such folder")
    base = folder.name if path is None else str(path)
    base = os.path.dirname(base) or "." if base.endswith(".toml") else base

    def display(rel: str) -> str:
        return os.path.normpath(os.path.join(base, rel))

    problems: list[Problem] = []
    hashes: dict[str, str] = {}
    shown, settings = display(SETTINGS_FILE), {}
    text = read_text(folder / SETTINGS_FILE, shown, hashes, SETTINGS_FILE) if (folder / SETTINGS_FILE).is_file() else \
        Problem(shown, "", "", "expected the district settings file, found none")
    if isinstance(text, Problem):
        problems.append(Problem(shown, text.where.replace("row", "line"), "", text.expected))
    else:
        try:
            settings = settings_problems(DistrictFile, tomllib.loads(text), shown, "key", problems)
        except tomllib.TOMLDecodeError as error:
            message, _, tail = str(error).partition(" (at line ")
            problems.append(Problem(shown, "line " + tail.split(",")[0].rstrip(")") if tail else "", "", f"expected valid TOML, found: {message}"))
    areas, files = read_areas(folder, display, problems)
    hashes.update({n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in files.items()})
    names = {"areas": next(iter(files), AREA_FILES[0])} | {name: info.file for name, info in TABLES.items() if name != "areas"}
    if "projects" in settings:
        names["projects"] = rel = PurePosixPath(str(settings["projects"]).replace("\\", "/")).as_posix()
        if not (folder / rel).is_file() or not (folder / rel).resolve().is_relative_to(folder.resolve()):
            problems.append(Problem(shown, "key projects", "", f"expected the path of an existing file, found '{rel}'"
                                    if not (folder / rel).is_file() else f"expected a path inside the district folder, found '{rel}': "
                                    "a link leading out of it"))
            del settings["projects"]
    names = {name: rel for name, rel in names.items() if name not in OPTIONAL_TABLES or (folder / rel).exists()}
    raw: dict[str, pd.DataFrame | None] = {}
    where = {"areas": Where(display(names["areas"]), np.arange(1, len(areas) + 1) if areas is not None else None, "feature")}
    for name, rel in list(names.items())[1:]:
        read = read_csv(folder / rel, display(rel), problems, hashes, rel) if name != "projects" or "projects" in settings else None
        raw[name] = read[0] if read is not None else None
        where[name] = Where(display(rel), read[1] if read is not None else None, "row")
        files.update({rel: folder / rel} if read is not None else {})
    checked, tables = _check(areas, raw, where, settings.get("open_age"), names, files, problems, "projects" in settings, settings.get("code"))
    if problems or checked is None:
        order = {display(n): i for i, n in enumerate([SETTINGS_FILE, *AREA_FILES, *names.values()])}
        raise InputError(sorted(problems, key=lambda p: order.get(p.file, len(order))))
    values = Settings.model_validate({k: v for k, v in settings.items() if k in Settings.model_fields}).model_dump()
    files = {SETTINGS_FILE: folder / SETTINGS_FILE} | files
    history = None
    if (folder / "history").is_dir():  # the district's own past, checked against it (capacity.forecast.district_history)
        from capacity.forecast.district_history import read_district_history

        history = read_district_history(folder / "history", display("history"), area_codes=tuple(sorted(checked["area_code"])),
                                        stage_ages=_stage_ages(tables["stages"]), base_year=values["base_year"], hashes=hashes)
    return District(path=folder, areas=checked, area_codes=(), files=files, _hashes=hashes, _names=names, _checked=True,
                    history=history, **values, **tables)


def _stage_ages(stages: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Each stage of ``stages.csv`` with its last age."""
    return tuple((str(s), int(a)) for s, a in zip(stages["stage"], stages["last_age"]))


def _check(areas: gpd.GeoDataFrame | None, tables: Mapping[str, pd.DataFrame | None], where: Mapping[str, Where], open_age: int | None,
           names: Mapping[str, str], files: Mapping[str, Path], problems: list[Problem], sources: bool = True,
           code: str | None = None) -> tuple[gpd.GeoDataFrame | None, dict[str, Any]]:
    """Check the areas and the tables of a district: the areas (EPSG:4326) and the tables (``None`` if not valid)."""
    raw = {"areas": pd.DataFrame(areas.drop(columns=areas.geometry.name)) if areas is not None else None, **tables}
    columns: dict[str, tuple[str, ...] | None] = {SETTINGS_FILE: tuple(DistrictFile.model_fields)}
    for name, rel in names.items():
        columns[rel] = (*TABLES[name].model.to_schema().columns, *(("geometry",) if name == "areas" else ()))
    columns.update({rel: None for rel in files if rel not in columns})  # a shapefile's sidecars
    ok = check_tables(raw, where, open_age, columns, [rel for name, rel in names.items() if name != "sources"] if sources else [], problems, code)
    checked = check_geometry(areas, where["areas"], problems) if areas is not None else None
    valid = {name: ok.get(name) for name in tables}
    if checked is None or "areas" not in ok:
        return None, valid
    return gpd.GeoDataFrame(ok["areas"], geometry=checked.geometry.to_numpy(), crs=checked.crs), valid
