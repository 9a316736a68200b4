"""Loading a district folder: every file read, checked, and handed over as one object.

:func:`load_district` reads ``district.toml``, the areas file and every table of a district
folder (see ``docs/data-format.md``), checks all of them against ``schema.toml`` and against
each other, and either returns a :class:`District` or raises one
:class:`capacity.errors.InputError` holding every problem found. Nothing is computed from a
district that has not passed every check.

Array accessors follow the project-wide axis order (area, sex, age), with areas in
``District.area_codes`` order (sorted codes), sex 0 = female and 1 = male, ages
0 ... ``open_age``; stages in ``stages.csv`` order; sector 0 = public, 1 = private.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from capacity.errors import InputError, Problem
from capacity.io.geometry import AREA_FILES, read_areas
from capacity.io.schema import Schema, TableSpec, check_keys, decode_text, load_schema, validate_table

__all__ = ["DATA_ENV", "SECTORS", "SEXES", "District", "default_district_path", "load_district"]

#: Environment variable naming a data folder (holding ``districts/haizhu``) to use instead
#: of the repository's ``data`` folder.
DATA_ENV = "CAPACITY_DATA"

#: Sex codes along the sex axis: index 0 = female, 1 = male.
SEXES: tuple[str, str] = ("female", "male")

#: Sectors along the sector axis: index 0 = public, 1 = private.
SECTORS: tuple[str, str] = ("public", "private")

DEFAULT_DISTRICT = "haizhu"

#: Relative tolerance of the life-table consistency checks.
LIFE_TABLE_TOLERANCE = 1e-6

RADIX = 100000.0


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
    return Path(__file__).resolve().parents[2] / "data" / "districts" / DEFAULT_DISTRICT


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
        area = frame["area_code"].map({c: i for i, c in enumerate(self.area_codes)}).to_numpy(np.int64)
        sex = frame["sex"].map({s: i for i, s in enumerate(SEXES)}).to_numpy(np.int64)
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
        sex = self.life_table["sex"].map({s: i for i, s in enumerate(SEXES)}).to_numpy(np.int64)
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
            area = self.places["area_code"].map({c: i for i, c in enumerate(self.area_codes)}).to_numpy(np.int64)
            stage = self.places["stage"].map({s: i for i, s in enumerate(self.stage_names)}).to_numpy(np.int64)
            sector = self.places["sector"].map({s: i for i, s in enumerate(SECTORS)}).to_numpy(np.int64)
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


# ====================================================================== reading


@dataclass
class _Table:
    frame: pd.DataFrame | None
    lines: list[int]


def _read_csv(path: Path, shown: str, problems: list[Problem], hashes: dict[str, str], key: str) -> tuple[pd.DataFrame, list[int]] | None:
    """Read a CSV file as text cells; ``None`` (and problems) if it cannot be read."""
    if not path.is_file():
        problems.append(Problem(shown, "", "", "expected the file, found none"))
        return None
    data = path.read_bytes()
    hashes[key] = hashlib.sha256(data).hexdigest()
    text, problem = decode_text(data, shown)
    if problem is not None:
        problems.append(problem)
        return None
    assert text is not None
    if text.strip() == "":
        problems.append(Problem(shown, "row 1", "", "expected a header row naming the columns, found an empty file"))
        return None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    previous = 0
    duplicate_header = False
    try:
        for record in reader:
            start, previous = previous + 1, reader.line_num
            if not record or all(cell.strip() == "" for cell in record):
                continue
            if header is None:
                header = [name.strip() for name in record]
                seen: set[str] = set()
                for name in header:
                    if name in seen:
                        problems.append(Problem(shown, f"row {start}", name, "expected each column once in the header, found it twice"))
                        duplicate_header = True
                    seen.add(name)
                continue
            if len(record) != len(header):
                problems.append(
                    Problem(shown, f"row {start}", "", f"expected {len(header)} fields as in the header, found {len(record)}")
                )
                continue
            rows.append(record)
            lines.append(start)
    except csv.Error as error:
        problems.append(Problem(shown, f"row {reader.line_num}", "", f"expected well-formed CSV, found: {error}"))
        return None
    if header is None or duplicate_header:
        return None
    frame = pd.DataFrame(rows, columns=header, dtype=str) if rows else pd.DataFrame({h: pd.Series([], dtype=str) for h in header})
    return frame, lines


def _check_csv(
    folder: Path,
    rel: str,
    table: TableSpec,
    display: Callable[[str], str],
    problems: list[Problem],
    files: dict[str, Path],
    hashes: dict[str, str],
    params: Mapping[str, Any],
    sets: Mapping[str, Any],
) -> _Table:
    path = folder / rel
    shown = display(rel)
    files[rel] = path
    read = _read_csv(path, shown, problems, hashes, rel)
    if read is None:
        return _Table(None, [])
    raw, lines = read
    frame, found = validate_table(raw, table, shown, lines=lines, params=params, sets=sets)
    problems.extend(found)
    return _Table(frame, lines)


def _read_settings(path: Path, shown: str, schema: Schema, problems: list[Problem], hashes: dict[str, str]) -> dict[str, Any]:
    """Read ``district.toml``; returns the keys that are valid."""
    if not path.is_file():
        problems.append(Problem(shown, "", "", "expected the district settings file, found none"))
        return {}
    data = path.read_bytes()
    hashes[schema.district_file] = hashlib.sha256(data).hexdigest()
    text, problem = decode_text(data, shown)
    if problem is not None:
        problems.append(Problem(shown, problem.where.replace("row", "line"), "", problem.expected))
        return {}
    assert text is not None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = ""
        if "(at line " in message:
            tail = message.rsplit("(at line ", 1)[1]
            where = "line " + tail.split(",")[0].rstrip(")")
            message = message.rsplit(" (at line ", 1)[0]
        problems.append(Problem(shown, where, "", f"expected valid TOML, found: {message}"))
        return {}
    found = check_keys(doc, schema.keys, shown)
    problems.extend(found)
    bad = {p.where.removeprefix("key ") for p in found}
    return {k: v for k, v in doc.items() if k in schema.keys and k not in bad}


# ====================================================================== cross checks


def _grid(
    frame: pd.DataFrame,
    shown: str,
    open_age: int,
    area_codes: tuple[str, ...] | None,
    problems: list[Problem],
) -> None:
    """Every (area x) sex x age 0..open_age combination present (rows are unique already)."""
    ages = set(range(open_age + 1))
    groups: list[tuple[tuple[tuple[str, str], ...], pd.DataFrame]] = []
    if area_codes is not None:
        for code in area_codes:
            for sex in SEXES:
                sub = frame[(frame["area_code"] == code) & (frame["sex"] == sex)]
                groups.append(((("area_code", code), ("sex", sex)), sub))
    else:
        for sex in SEXES:
            groups.append(((("sex", sex),), frame[frame["sex"] == sex]))
    for key, sub in groups:
        label = "key " + ", ".join(f"{k}={v}" for k, v in key)
        if sub.empty:
            problems.append(Problem(shown, label, key[-1][0], f"expected rows for ages 0..{open_age}, found none"))
            continue
        missing = sorted(ages - set(sub["age"].tolist()))
        for age in missing:
            problems.append(
                Problem(shown, f"{label}, age={age}", "age", f"expected every age 0..{open_age} without gaps, found no row for age {age}")
            )


def _check_fertility(t: _Table, shown: str, open_age: int | None, problems: list[Problem]) -> None:
    frame = t.frame
    assert frame is not None
    ages = frame["age"].to_numpy()
    if open_age is not None:
        for i in np.flatnonzero(ages > open_age):
            problems.append(
                Problem(shown, f"row {t.lines[i]}", "age", f"expected an age <= open_age ({open_age}, district.toml), found '{ages[i]}'")
            )
    present = set(ages.tolist())
    for age in range(int(ages.min()), int(ages.max()) + 1):
        if age not in present:
            problems.append(
                Problem(
                    shown,
                    f"key age={age}",
                    "age",
                    f"expected contiguous ages {ages.min()}..{ages.max()}, found no row for age {age}",
                )
            )


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _check_life_table(t: _Table, shown: str, open_age: int, problems: list[Problem]) -> None:
    frame = t.frame
    assert frame is not None
    before = len(problems)
    _grid(frame, shown, open_age, None, problems)
    if len(problems) > before:
        return
    for sex in SEXES:
        sub = frame[frame["sex"] == sex].sort_values("age")
        lx = sub["lx"].to_numpy(np.float64)
        Lx = sub["Lx"].to_numpy(np.float64)
        rows = [t.lines[i] for i in sub.index]
        if abs(lx[0] - RADIX) > LIFE_TABLE_TOLERANCE * RADIX:
            problems.append(Problem(shown, f"row {rows[0]}", "lx", f"expected 100000 (the radix) at age 0, found '{_num(lx[0])}'"))
        tol = LIFE_TABLE_TOLERANCE * RADIX
        for age in range(1, open_age + 1):
            if lx[age] > lx[age - 1] + tol:
                problems.append(
                    Problem(
                        shown,
                        f"row {rows[age]}",
                        "lx",
                        f"expected lx non-increasing with age (<= {_num(lx[age - 1])}, lx at age {age - 1}), found '{_num(lx[age])}'",
                    )
                )
        for age in range(open_age):
            if not (lx[age + 1] - tol <= Lx[age] <= lx[age] + tol):
                problems.append(
                    Problem(
                        shown,
                        f"row {rows[age]}",
                        "Lx",
                        f"expected Lx between lx at age {age + 1} ({_num(lx[age + 1])}) and lx at age {age} "
                        f"({_num(lx[age])}), found '{_num(Lx[age])}'",
                    )
                )


def _check_stages(t: _Table, shown: str, problems: list[Problem]) -> None:
    frame = t.frame
    assert frame is not None
    ok = []
    for i, row in frame.iterrows():
        if row["last_age"] < row["first_age"]:
            problems.append(
                Problem(
                    shown,
                    f"row {t.lines[int(i)]}",
                    "last_age",
                    f"expected an integer >= first_age ({row['first_age']}), found '{row['last_age']}'",
                )
            )
        else:
            ok.append(int(i))
    bands = frame.loc[ok].sort_values(["first_age", "last_age"], kind="stable")
    previous = None
    for i, row in bands.iterrows():
        if previous is not None and row["first_age"] <= previous[1]["last_age"]:
            p_i, p = previous
            problems.append(
                Problem(
                    shown,
                    f"row {t.lines[int(i)]}",
                    "first_age",
                    f"expected stage age bands not to overlap, found ages {row['first_age']}..{row['last_age']} of "
                    f"'{row['stage']}' overlapping '{p['stage']}' ({p['first_age']}..{p['last_age']}, row {t.lines[int(p_i)]})",
                )
            )
        if previous is None or row["last_age"] > previous[1]["last_age"]:
            previous = (i, row)


def _norm(rel: str) -> str:
    return os.path.normpath(rel).replace(os.sep, "/")


def _check_sources(
    t: _Table,
    shown: str,
    columns: Mapping[str, tuple[str, ...] | None],
    required: tuple[str, ...],
    problems: list[Problem],
) -> None:
    """Every row names a file read (and one of its columns); every data file is covered."""
    frame = t.frame
    assert frame is not None
    known = {_norm(name): name for name in columns}
    listed = ", ".join(f"'{n}'" for n in columns)
    covered: set[str] = set()
    for i, row in frame.iterrows():
        where = f"row {t.lines[int(i)]}"
        name = known.get(_norm(row["file"]))
        if name is None:
            problems.append(Problem(shown, where, "file", f"expected one of the district's files ({listed}), found '{row['file']}'"))
            continue
        covered.add(name)
        cols = columns[name]
        if cols is not None and row["column"] != "*" and row["column"] not in cols:
            allowed = ", ".join(f"'{c}'" for c in ("*", *cols))
            problems.append(Problem(shown, where, "column", f"expected a column of {row['file']} ({allowed}), found '{row['column']}'"))
    for name in required:
        if name not in covered:
            problems.append(Problem(shown, f"key file={name}", "file", f"expected at least one row for every input file, found none for '{name}'"))


# ====================================================================== loading


def _displayer(given: str | Path | None, folder: Path) -> Callable[[str], str]:
    if given is None:
        base = folder.name
    else:
        base = str(given)
        if base.endswith(".toml"):
            base = os.path.dirname(base) or "."

    def display(rel: str) -> str:
        return os.path.normpath(os.path.join(base, rel))

    return display


def load_district(path: str | Path | None = None) -> District:
    """Read and validate a district folder.

    Parameters
    ----------
    path : str or Path, optional
        The district folder (holding ``district.toml``), or its ``district.toml``. By default
        the embedded Haizhu district (see :func:`default_district_path`).

    Returns
    -------
    District
        The validated inputs.

    Raises
    ------
    InputError
        If anything is wrong with any file; it holds every problem found, and its message
        is the first one, naming the file, the row or key, the column and what was
        expected.
    """
    schema = load_schema()
    folder = Path(path) if path is not None else default_district_path()
    if folder.suffix == ".toml" and folder.is_file():
        folder = folder.parent
    display = _displayer(path, folder)
    if not folder.is_dir():
        shown = str(path) if path is not None else str(folder)
        raise InputError.one(shown, "", "", "expected a district folder holding district.toml, found no such folder")

    problems: list[Problem] = []
    files: dict[str, Path] = {}
    hashes: dict[str, str] = {}
    settings_name = schema.district_file
    files[settings_name] = folder / settings_name
    settings = _read_settings(folder / settings_name, display(settings_name), schema, problems, hashes)
    open_age = settings.get("open_age")
    params: dict[str, Any] = {"open_age": open_age} if open_age is not None else {}
    sets: dict[str, Any] = {}

    # areas
    areas_table = schema.tables["areas"]
    areas_result = read_areas(folder, display, areas_table, params=params)
    problems.extend(areas_result.problems)
    files.update(areas_result.files)
    for name, p in areas_result.files.items():
        if p.is_file():
            hashes[name] = hashlib.sha256(p.read_bytes()).hexdigest()
    areas = areas_result.areas
    area_codes = tuple(areas["area_code"]) if areas is not None else None
    sets["areas"] = area_codes

    def table(name: str) -> tuple[_Table, str] | None:
        spec = schema.tables[name]
        if spec.file_key:
            rel = settings.get(spec.file_key)
            if rel is None:
                return None  # the key's problem is already reported
            if not (folder / rel).is_file():
                problems.append(
                    Problem(display(settings_name), f"key {spec.file_key}", "", f"expected the path of an existing file, found '{rel}'")
                )
                return None
            rel = PurePosixPath(rel.replace("\\", "/")).as_posix()
        else:
            rel = spec.file
            if spec.optional and not (folder / rel).exists():
                return None
        t = _check_csv(folder, rel, spec, display, problems, files, hashes, params, sets)
        return t, rel

    tables: dict[str, _Table] = {}
    names: dict[str, str] = {}
    for name in ("stages", "population", "fertility", "life_table", "migration", "places", "projects", "plan", "sources"):
        got = table(name)
        if got is not None:
            tables[name], names[name] = got
        if name == "stages":
            stages_frame = tables["stages"].frame if "stages" in tables else None
            sets["stages"] = tuple(stages_frame["stage"]) if stages_frame is not None else None

    def ok(name: str) -> _Table | None:
        t = tables.get(name)
        return t if t is not None and t.frame is not None else None

    # cross-file and structural checks, only on files whose cells passed
    if (t := ok("stages")) is not None:
        _check_stages(t, display(names["stages"]), problems)
    if (t := ok("plan")) is not None and sets.get("stages") is not None:
        assert t.frame is not None
        for i, row in t.frame.iterrows():
            if row["indicator"] == "need" and row["stage"] not in sets["stages"]:
                problems.append(Problem(display(names["plan"]), f"row {t.lines[int(i)]}", "stage",
                                        f"expected a stage of stages.csv for a need, found '{row['stage']}'"))
    if open_age is not None and area_codes is not None:
        for name in ("population", "migration"):
            if (t := ok(name)) is not None:
                assert t.frame is not None
                _grid(t.frame, display(names[name]), open_age, area_codes, problems)
    if (t := ok("fertility")) is not None:
        _check_fertility(t, display(names["fertility"]), open_age, problems)
    if open_age is not None and (t := ok("life_table")) is not None:
        _check_life_table(t, display(names["life_table"]), open_age, problems)
    if (t := ok("sources")) is not None and areas_result.files and "projects" in names:
        # names in sources.csv are checked only once the file list itself is known
        columns: dict[str, tuple[str, ...] | None] = {settings_name: tuple(schema.keys)}
        area_files = list(areas_result.files)
        for i, name in enumerate(area_files):
            columns[name] = (*areas_table.columns, "geometry") if i == 0 else None  # sidecars: any
        for name, rel in names.items():
            if name != "sources":
                columns[rel] = tuple(schema.tables[name].columns)
        required = (*area_files[:1], *(rel for name, rel in names.items() if name != "sources"))
        _check_sources(t, display(names["sources"]), columns, required, problems)

    if problems:
        order = [settings_name, *AREA_FILES, *(schema.tables[n].file or names.get(n, "") for n in schema.tables if n != "areas")]
        raise InputError(_ordered(problems, display, order))

    assert areas is not None and area_codes is not None and open_age is not None
    frames = {name: t.frame for name, t in tables.items()}
    assert all(f is not None for f in frames.values())
    sex_order = {s: i for i, s in enumerate(SEXES)}
    stage_order = {s: i for i, s in enumerate(sets["stages"])}
    sector_order = {s: i for i, s in enumerate(SECTORS)}

    def by_keys(frame: pd.DataFrame, keys: list[str], orders: Mapping[str, Mapping[str, int]]) -> pd.DataFrame:
        sort = frame.assign(**{f"_{k}": frame[k].map(v) for k, v in orders.items()})
        cols = [f"_{k}" if k in orders else k for k in keys]
        return sort.sort_values(cols, kind="stable").drop(columns=[f"_{k}" for k in orders]).reset_index(drop=True)

    return District(
        path=folder,
        name=str(settings["name"]),
        name_zh=str(settings.get("name_zh", "")),
        code=str(settings["code"]),
        base_year=int(settings["base_year"]),
        open_age=int(open_age),
        sex_ratio_at_birth=float(settings["sex_ratio_at_birth"]),
        attribution=str(settings["attribution"]),
        areas=areas,
        area_codes=area_codes,
        stages=frames["stages"],
        population=by_keys(frames["population"], ["area_code", "sex", "age"], {"sex": sex_order}),
        fertility=by_keys(frames["fertility"], ["age"], {}),
        life_table=by_keys(frames["life_table"], ["sex", "age"], {"sex": sex_order}),
        migration=by_keys(frames["migration"], ["area_code", "sex", "age"], {"sex": sex_order}),
        places=by_keys(frames["places"], ["area_code", "stage", "sector"], {"stage": stage_order, "sector": sector_order}),
        projects=frames["projects"],
        sources=frames["sources"],
        plan=frames.get("plan"),
        files=dict(files),
        _hashes=dict(hashes),
    )


def _ordered(problems: list[Problem], display: Callable[[str], str], order: list[str]) -> list[Problem]:
    """Problems grouped by file in reading order (``order``), stable within a file."""
    rank = {display(name): i for i, name in reversed(list(enumerate(order))) if name}
    return sorted(problems, key=lambda p: rank.get(p.file, len(rank)))
