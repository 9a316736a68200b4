"""Checks within and across the tables of a district, once their cells have passed.

Structural checks that no single cell shows: complete sex x age grids, contiguous fertility
ages, a consistent life table, stage age bands that do not overlap, plan needs for known
stages, and ``sources.csv`` covering every file read. Each appends
:class:`capacity.errors.Problem` s to a list.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from capacity.errors import Problem
from capacity.io.csv_tables import Table
from capacity.io.district import SEXES

__all__ = [
    "LIFE_TABLE_TOLERANCE",
    "RADIX",
    "check_age_grid",
    "check_fertility",
    "check_life_table",
    "check_plan_needs",
    "check_sources",
    "check_stages",
]

#: Relative tolerance of the life-table consistency checks.
LIFE_TABLE_TOLERANCE = 1e-6

#: ``lx`` at age 0.
RADIX = 100000.0


def check_age_grid(
    frame: pd.DataFrame,
    shown: str,
    open_age: int,
    area_codes: tuple[str, ...] | None,
    problems: list[Problem],
) -> None:
    """Every (area x) sex x age 0..open_age combination present (rows are unique already).

    Parameters
    ----------
    frame : pandas.DataFrame
        A validated table with ``sex`` and ``age`` columns (and ``area_code``).
    shown : str
        File name to put in problems.
    open_age : int
        The last age.
    area_codes : tuple of str or None
        The areas each sex x age grid is expected for; ``None`` for a table without areas.
    problems : list of Problem
        Receives a problem per missing combination.
    """
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


def check_fertility(t: Table, shown: str, open_age: int | None, problems: list[Problem]) -> None:
    """Ages of mothers contiguous and not above ``open_age`` (when it is known)."""
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


def check_life_table(t: Table, shown: str, open_age: int, problems: list[Problem]) -> None:
    """Every sex x age present; ``lx`` from the radix non-increasing, ``Lx`` between ``lx`` values."""
    frame = t.frame
    assert frame is not None
    before = len(problems)
    check_age_grid(frame, shown, open_age, None, problems)
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


def check_stages(t: Table, shown: str, problems: list[Problem]) -> None:
    """Each stage's age band well-ordered, and no two bands overlapping."""
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


def check_sources(
    t: Table,
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


def check_plan_needs(t: Table, shown: str, stages: tuple[str, ...], problems: list[Problem]) -> None:
    """Every need of the plan is for a stage of ``stages.csv``."""
    frame = t.frame
    assert frame is not None
    for i, row in frame.iterrows():
        if row["indicator"] == "need" and row["stage"] not in stages:
            problems.append(Problem(shown, f"row {t.lines[int(i)]}", "stage", f"expected a stage of stages.csv for a need, found '{row['stage']}'"))
