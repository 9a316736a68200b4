"""Loading a district folder: every file read, checked, and handed over as one object.

:func:`load_district` reads ``district.toml``, the areas file and every table of a district
folder (see ``docs/data-format.md``), checks all of them against ``schema.toml`` and against
each other, and either returns a :class:`~capacity.io.district.District` or raises one
:class:`capacity.errors.InputError` holding every problem found. Nothing is computed from a
district that has not passed every check.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from capacity.errors import InputError, Problem
from capacity.io.consistency import (
    check_age_grid,
    check_fertility,
    check_life_table,
    check_plan_needs,
    check_sources,
    check_stages,
)
from capacity.io.csv_tables import Table, read_table
from capacity.io.district import SECTORS, SEXES, District, default_district_path
from capacity.io.geometry import AREA_FILES, read_areas
from capacity.io.schema import load_schema
from capacity.io.settings import read_settings

__all__ = ["load_district"]


def _displayer(given: str | Path | None, folder: Path) -> Callable[[str], str]:
    """File names in problems: relative to the folder as given (its name by default)."""
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
    settings = read_settings(folder / settings_name, display(settings_name), schema, problems, hashes)
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

    def table(name: str) -> tuple[Table, str] | None:
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
        t = read_table(folder, rel, spec, display, problems, files, hashes, params, sets)
        return t, rel

    tables: dict[str, Table] = {}
    names: dict[str, str] = {}
    for name in ("stages", "population", "fertility", "life_table", "migration", "places", "projects", "plan", "sources"):
        got = table(name)
        if got is not None:
            tables[name], names[name] = got
        if name == "stages":
            stages_frame = tables["stages"].frame if "stages" in tables else None
            sets["stages"] = tuple(stages_frame["stage"]) if stages_frame is not None else None

    def ok(name: str) -> Table | None:
        t = tables.get(name)
        return t if t is not None and t.frame is not None else None

    # cross-file and structural checks, only on files whose cells passed
    if (t := ok("stages")) is not None:
        check_stages(t, display(names["stages"]), problems)
    if (t := ok("plan")) is not None and sets.get("stages") is not None:
        check_plan_needs(t, display(names["plan"]), sets["stages"], problems)
    if open_age is not None and area_codes is not None:
        for name in ("population", "migration"):
            if (t := ok(name)) is not None:
                assert t.frame is not None
                check_age_grid(t.frame, display(names[name]), open_age, area_codes, problems)
    if (t := ok("fertility")) is not None:
        check_fertility(t, display(names["fertility"]), open_age, problems)
    if open_age is not None and (t := ok("life_table")) is not None:
        check_life_table(t, display(names["life_table"]), open_age, problems)
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
        check_sources(t, display(names["sources"]), columns, required, problems)

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
