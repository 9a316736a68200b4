"""Checks of a district's tables, alone and across each other, in time linear in the rows.

The same checks run on tables read from files and on tables built in code; only the way a
row is named differs (:class:`Where`: ``row 12`` of a file, ``feature 3`` of the areas
file, ``position 3`` of a table in code). Each check reports at most :data:`LIMIT`
problems; the first of them says how many there are in all.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa

from capacity.errors import Problem
from capacity.io.models import RENAMED_INDICATORS, TABLES, describe_column
from capacity.io.read import number_problem, parse_numbers

__all__ = ["LIFE_TABLE_TOLERANCE", "LIMIT", "RADIX", "Where", "check_tables"]

#: Most problems reported by one check (one column of one table, one kind).
LIMIT = 1000
#: Relative tolerance of the life-table consistency checks.
LIFE_TABLE_TOLERANCE = 1e-6
#: ``lx`` at age 0.
RADIX = 100000.0
SEXES = ("female", "male")
SHARES = ("public_affordable_share", "private_affordable_share")


@dataclass(frozen=True)
class Where:
    """How the rows of one table are named in problems.

    Attributes
    ----------
    name : str
        The file as the user gave it, or the table's name for a table built in code.
    lines : numpy.ndarray or None
        Line (or feature number) of each row position; ``None``: the position itself.
    noun : str
        ``"row"``, ``"feature"`` or ``"position"``.
    """

    name: str
    lines: np.ndarray | None = None
    noun: str = "position"

    def row(self, position: int) -> str:
        """The row at ``position`` (0-based), e.g. ``"row 12"``."""
        return f"{self.noun} {self.lines[position] if self.lines is not None else position}"

    @property
    def header(self) -> str:
        """Where problems with the columns are: the header row of a CSV file."""
        return "row 1" if self.noun == "row" else ""


def report(problems: list[Problem], where: Where, positions: Sequence[int] | np.ndarray, column: str, text: Callable[[int], str]) -> None:
    """One problem per position, at most :data:`LIMIT`; the first counts them all."""
    total = len(positions)
    for k, position in enumerate(positions[:LIMIT]):
        message = text(int(position))
        if k == 0 and total > LIMIT:
            message += f" ({total} such problems in this column, only the first {LIMIT} listed)"
        problems.append(Problem(where.name, where.row(int(position)), column, message))


def _rank(problem: Problem) -> int:
    parts = problem.where.split()
    return int(parts[1]) if len(parts) == 2 and parts[1].isdigit() else -1


def _schema(name: str, open_age: int | None) -> tuple[pa.DataFrameSchema, list[str]]:
    """The table's schema with ``open_age`` bounds resolved, and its key columns."""
    schema = copy.deepcopy(TABLES[name].model.to_schema())  # to_schema() is cached: never edit it
    keys = list(schema.unique or [c for c, column in schema.columns.items() if column.unique])
    schema.unique = None
    for column in schema.columns.values():
        column.unique = False
        if (column.metadata or {}).get("le") == "open_age" and open_age is not None:
            column.checks = [c for c in column.checks if c.name != "less_than_or_equal_to"] + [pa.Check.le(open_age)]
    return schema, keys


def check_table(name: str, raw: pd.DataFrame, where: Where, open_age: int | None, refs: Mapping[str, tuple[str, ...] | None], problems: list[Problem]) -> pd.DataFrame | None:
    """Check one table alone: columns, cells, ranges, allowed values, keys, foreign keys.

    Parameters
    ----------
    name : str
        The table (a key of :data:`capacity.io.models.TABLES`).
    raw : pandas.DataFrame
        The table as read (text cells) or as built in code, rows in order.
    where : Where
        How its rows are named.
    open_age : int or None
        The district's ``open_age`` (``None``: that bound is not checked).
    refs : mapping
        ``"areas"`` / ``"stages"`` -> the values a foreign key may take (``None``: unknown).
    problems : list of Problem
        Receives the problems, by row.

    Returns
    -------
    pandas.DataFrame or None
        The table with typed columns in model order, or ``None`` if anything was wrong.
    """
    schema, keys = _schema(name, open_age)
    raw = raw.reset_index(drop=True)
    found: list[Problem] = []
    known = ", ".join(f"'{c}'" for c in schema.columns)
    for column in raw.columns:
        if column not in schema.columns:
            found.append(Problem(where.name, where.header, str(column), f"expected only the columns {known}, found unknown column '{column}'"))
    missing = [c for c in schema.columns if c not in raw.columns]
    for column in missing:
        found.append(Problem(where.name, where.header, column, f"expected a column '{column}', found none"))
    schema = schema.remove_columns(missing)
    frame = pd.DataFrame(index=raw.index)
    bad_rows = np.zeros(len(raw), dtype=bool)
    for column, spec in schema.columns.items():
        if str(spec.dtype) in ("int64", "float64"):
            integer = str(spec.dtype) == "int64"
            frame[column], bad = parse_numbers(raw[column], integer)
            desc = describe_column(spec)
            report(found, where, np.flatnonzero(bad), column, lambda i, c=column, d=desc, n=integer: number_problem(str(raw[c].iloc[i]), d, n))
            bad_rows |= bad
        else:
            cells = raw[column]
            frame[column] = (cells.where(cells.notna(), "") if cells.hasnans else cells).astype(str)
    good = frame[~bad_rows].astype({c: np.int64 for c, s in schema.columns.items() if str(s.dtype) == "int64"})
    try:
        schema.validate(good, lazy=True)
    except pa.errors.SchemaErrors as error:
        cases = error.failure_cases.dropna(subset=["index"])
        for (column, _), group in cases.groupby(["column", "check"], sort=False):
            spec = schema.columns[column]
            desc = describe_column(spec)
            report(found, where, group["index"].astype(np.int64).to_numpy(), column, lambda i, c=column, d=desc: _found(d, str(raw[c].iloc[i])))
    for column, spec in schema.columns.items():
        values = refs.get((spec.metadata or {}).get("references", ""))
        if values is not None:
            outside = good.index[~good[column].isin(values)].to_numpy()
            desc = describe_column(spec, values)
            report(found, where, outside, column, lambda i, c=column, d=desc: _found(d, str(raw[c].iloc[i])))
    if keys and not any(k in missing for k in keys):
        _duplicates(good, keys, where, raw, found)
    minimum = TABLES[name].min_rows
    if len(raw) < minimum:
        end = f"row {where.lines[-1] + 1 if where.lines is not None and len(where.lines) else 2}" if where.noun == "row" else ""
        noun = "row" if where.noun != "feature" else "feature"
        found.append(Problem(where.name, end, "", f"expected at least {minimum} data {noun}(s), found {len(raw)}"))
    found.sort(key=_rank)
    problems.extend(found)
    return None if found else good.reset_index(drop=True)


def _found(desc: str, value: str) -> str:
    if value.strip() == "":
        return f"expected {desc}, found an empty cell"
    text = f"expected {desc}, found '{value}'"
    if value in RENAMED_INDICATORS:
        new, stage = RENAMED_INDICATORS[value]
        text += f": the indicator is now '{new}' with stage '{stage}'"
    return text


def _duplicates(frame: pd.DataFrame, keys: list[str], where: Where, raw: pd.DataFrame, problems: list[Problem]) -> None:
    """Each row repeating the key of an earlier one, with the row of its first occurrence."""
    second = frame.duplicated(keys, keep="first").to_numpy()
    if not second.any():
        return
    first = frame.index.to_series().groupby([frame[k] for k in keys], sort=False).transform("first").to_numpy()
    positions = frame.index.to_numpy()
    firsts = dict(zip(positions[second][:LIMIT], first[second][:LIMIT]))
    noun = "feature" if where.noun == "feature" else "row"

    def text(i: int) -> str:
        key = ", ".join(f"{k}={raw[k].iloc[i]}" for k in keys)
        return f"expected one {noun} per {' x '.join(keys)}, found a second one for {key} (first at {where.row(firsts[i])})"

    report(problems, where, positions[second], keys[-1], text)


# ---------------------------------------------------------------------------- across tables


def check_grid(frame: pd.DataFrame, where: Where, open_age: int, areas: tuple[str, ...] | None, problems: list[Problem]) -> None:
    """Every (area x) sex x age 0..open_age present, counted against the full grid."""
    keys = ["area_code", "sex"] if areas is not None else ["sex"]
    groups = pd.MultiIndex.from_product([areas, SEXES] if areas is not None else [SEXES], names=keys)
    counts = frame.groupby(keys, sort=False).size().reindex(groups, fill_value=0)
    empty = counts.index[counts.to_numpy() == 0]
    label: Callable[[tuple[str, ...]], str] = lambda g: "key " + ", ".join(f"{k}={v}" for k, v in zip(keys, g))  # noqa: E731
    empty_keys = [g if isinstance(g, tuple) else (g,) for g in empty]
    for g in empty_keys[:LIMIT]:
        problems.append(Problem(where.name, label(g), keys[-1], f"expected rows for ages 0..{open_age}, found none"))
    full = pd.MultiIndex.from_product([*groups.levels, range(open_age + 1)], names=[*keys, "age"]) if areas is not None else (
        pd.MultiIndex.from_product([list(SEXES), range(open_age + 1)], names=["sex", "age"]))
    present = pd.MultiIndex.from_frame(frame[[*keys, "age"]])
    missing = full[~full.isin(present)]
    in_empty = pd.MultiIndex.from_arrays([missing.get_level_values(k) for k in keys]).isin(empty) if len(keys) > 1 else (
        missing.get_level_values(0).isin(empty))
    missing = missing[~in_empty]
    shown = [tuple(m) for m in missing[:LIMIT]]
    for k, m in enumerate(shown):
        more = f" ({len(missing)} such problems, only the first {LIMIT} listed)" if k == 0 and len(missing) > LIMIT else ""
        problems.append(Problem(where.name, f"{label(m[:-1])}, age={m[-1]}", "age",
                                f"expected every age 0..{open_age} without gaps, found no row for age {m[-1]}{more}"))


def check_fertility(frame: pd.DataFrame, where: Where, open_age: int | None, problems: list[Problem]) -> None:
    """Ages of mothers contiguous and not above ``open_age``."""
    ages = frame["age"].to_numpy()
    if open_age is not None:
        report(problems, where, np.flatnonzero(ages > open_age), "age",
               lambda i: f"expected an age <= open_age ({open_age}, district.toml), found '{ages[i]}'")
    lo, hi = int(ages.min()), int(ages.max())
    for age in np.setdiff1d(np.arange(lo, hi + 1), ages)[:LIMIT]:
        problems.append(Problem(where.name, f"key age={age}", "age", f"expected contiguous ages {lo}..{hi}, found no row for age {age}"))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def check_life_table(frame: pd.DataFrame, where: Where, open_age: int, problems: list[Problem]) -> None:
    """Every sex x age present; ``lx`` from the radix non-increasing, ``Lx`` between ``lx`` values."""
    before = len(problems)
    check_grid(frame, where, open_age, None, problems)
    if len(problems) > before:
        return
    tol = LIFE_TABLE_TOLERANCE * RADIX
    for sex in SEXES:
        sub = frame[frame["sex"] == sex].sort_values("age")
        lx, Lx, rows = sub["lx"].to_numpy(), sub["Lx"].to_numpy(), sub.index.to_numpy()
        if abs(lx[0] - RADIX) > tol:
            problems.append(Problem(where.name, where.row(rows[0]), "lx", f"expected 100000 (the radix) at age 0, found '{_num(lx[0])}'"))
        up = np.flatnonzero(lx[1:] > lx[:-1] + tol) + 1
        report(problems, where, rows[up], "lx", lambda i, s=sub: _lx_text(s, i))
        off = np.flatnonzero(~((lx[1:] - tol <= Lx[:-1]) & (Lx[:-1] <= lx[:-1] + tol)))
        report(problems, where, rows[off], "Lx", lambda i, s=sub: _Lx_text(s, i))


def _lx_text(sub: pd.DataFrame, i: int) -> str:
    age = int(sub.at[i, "age"])
    before = sub["lx"].to_numpy()[age - 1]
    return f"expected lx non-increasing with age (<= {_num(before)}, lx at age {age - 1}), found '{_num(sub.at[i, 'lx'])}'"


def _Lx_text(sub: pd.DataFrame, i: int) -> str:  # noqa: N802 (demographic notation)
    age = int(sub.at[i, "age"])
    lx = sub["lx"].to_numpy()
    return (f"expected Lx between lx at age {age + 1} ({_num(lx[age + 1])}) and lx at age {age} "
            f"({_num(lx[age])}), found '{_num(sub.at[i, 'Lx'])}'")


def check_stages(frame: pd.DataFrame, where: Where, problems: list[Problem]) -> None:
    """Each stage's age band well-ordered, and no two bands overlapping."""
    first, last = frame["first_age"], frame["last_age"]
    report(problems, where, np.flatnonzero(last < first), "last_age",
           lambda i: f"expected an integer >= first_age ({first.iloc[i]}), found '{last.iloc[i]}'")
    previous: int | None = None
    for i in frame[last >= first].sort_values(["first_age", "last_age"], kind="stable").index:
        p = previous
        if p is not None and first[i] <= last[p]:
            problems.append(Problem(where.name, where.row(i), "first_age",
                                    f"expected stage age bands not to overlap, found ages {first[i]}..{last[i]} of "
                                    f"'{frame.at[i, 'stage']}' overlapping '{frame.at[p, 'stage']}' ({first[p]}..{last[p]}, {where.row(p)})"))
        if p is None or last[i] > last[p]:
            previous = int(i)


def check_plan(frame: pd.DataFrame, where: Where, stages: tuple[str, ...], problems: list[Problem]) -> None:
    """Needs and shares for a stage of ``stages.csv``; shares in [0, 1]; ``public_places_added`` without a stage."""
    indicator, stage = frame["indicator"], frame["stage"]
    staged = indicator.isin(["need", *SHARES]).to_numpy()
    report(problems, where, np.flatnonzero(staged & ~stage.isin(stages).to_numpy()), "stage",
           lambda i: f"expected a stage of stages.csv for '{indicator.iloc[i]}', found '{stage.iloc[i]}'")
    report(problems, where, np.flatnonzero((indicator == "public_places_added").to_numpy() & (stage != "").to_numpy()), "stage",
           lambda i: f"expected an empty stage for 'public_places_added' (all stages), found '{stage.iloc[i]}'")
    report(problems, where, np.flatnonzero(indicator.isin(SHARES).to_numpy() & (frame["value"] > 1).to_numpy()), "value",
           lambda i: f"expected a share in [0, 1], found '{_num(frame['value'].iloc[i])}'")


def _norm(rel: str) -> str:
    return os.path.normpath(rel).replace(os.sep, "/")


def check_sources(frame: pd.DataFrame, where: Where, columns: Mapping[str, tuple[str, ...] | None], required: Sequence[str], problems: list[Problem]) -> None:
    """Every row names a file of the district (and one of its columns); every file is covered."""
    known = {_norm(name): name for name in columns}
    listed = ", ".join(f"'{n}'" for n in columns)
    names = frame["file"].map(lambda f: known.get(_norm(f)))
    report(problems, where, np.flatnonzero(names.isna().to_numpy()), "file",
           lambda i: f"expected one of the district's files ({listed}), found '{frame['file'].iloc[i]}'")
    wrong = [i for i, (name, column) in enumerate(zip(names, frame["column"]))
             if isinstance(name, str) and column != "*" and columns[name] is not None and column not in (columns[name] or ())]

    def text(i: int) -> str:
        allowed = ", ".join(f"'{c}'" for c in ("*", *(columns[names.iloc[i]] or ())))
        return f"expected a column of {frame['file'].iloc[i]} ({allowed}), found '{frame['column'].iloc[i]}'"

    report(problems, where, wrong, "column", text)
    covered = set(names.dropna())
    for name in required:
        if name not in covered:
            problems.append(Problem(where.name, f"key file={name}", "file", f"expected at least one row for every input file, found none for '{name}'"))


def check_tables(
    raw: Mapping[str, pd.DataFrame | None],
    where: Mapping[str, Where],
    open_age: int | None,
    files: Mapping[str, tuple[str, ...] | None],
    required: Sequence[str],
    problems: list[Problem],
) -> dict[str, pd.DataFrame]:
    """Check every table of a district alone and against the others.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame or None
        The tables by name (``areas``: the features' properties), in reading order;
        ``None`` for a table that could not be read (its problem is already reported).
        ``plan`` may be left out.
    where : mapping of str to Where
        How the rows of each table are named.
    open_age : int or None
        The district's ``open_age``, if valid.
    files : mapping of str to tuple of str or None
        The district's files as ``sources.csv`` names them -> their columns (``None``: any).
    required : sequence of str
        The files ``sources.csv`` must cover.
    problems : list of Problem
        Receives the problems.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables that passed every check of their own, typed.
    """
    ok: dict[str, pd.DataFrame] = {}
    refs: dict[str, tuple[str, ...] | None] = {"areas": None, "stages": None}
    for name, table in raw.items():
        if table is None:
            continue
        checked = check_table(name, table, where[name], open_age, refs, problems)
        if checked is not None:
            ok[name] = checked
            if name in refs:
                key = "area_code" if name == "areas" else "stage"
                refs[name] = tuple(sorted(checked[key])) if name == "areas" else tuple(checked[key])
    areas = refs["areas"]
    if "stages" in ok:
        check_stages(ok["stages"], where["stages"], problems)
    if "plan" in ok and refs["stages"] is not None:
        check_plan(ok["plan"], where["plan"], refs["stages"], problems)
    for name in ("population", "migration"):
        if name in ok and open_age is not None and areas is not None:
            check_grid(ok[name], where[name], open_age, areas, problems)
    if "fertility" in ok:
        check_fertility(ok["fertility"], where["fertility"], open_age, problems)
    if "life_table" in ok and open_age is not None:
        check_life_table(ok["life_table"], where["life_table"], open_age, problems)
    if "sources" in ok and all(raw.get(n) is not None for n in ("areas", "projects")):
        check_sources(ok["sources"], where["sources"], files, required, problems)
    return ok
