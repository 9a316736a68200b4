"""Checks of a district's tables, alone and across each other, in time linear in the rows.

Tables read from files and built in code get the same checks; :class:`Where` names their rows. Each check reports at most
:data:`LIMIT` problems, the first of which counts them all.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from capacity.errors import Problem
from capacity.io.models import MIGRATION_MARGIN, OBSERVED_SHARES, RENAMED_INDICATORS, SEXES, TABLES, describe_column
from capacity.io.read import LIMIT, cell_problem, parse_numbers
from capacity.problems import fmt

__all__ = ["LIFE_TABLE_TOLERANCE", "LIMIT", "RADIX", "Where", "by_row", "check_tables"]

#: Relative tolerance of the life-table consistency checks.
LIFE_TABLE_TOLERANCE = 1e-6
#: ``lx`` at age 0.
RADIX = 100000.0
SHARES = ("public_affordable_share", "private_affordable_share")
Refs = Mapping[str, tuple[str, ...] | None]
_RENAMED = {old: f": the indicator is now '{new}' with stage '{stage}'" for old, (new, stage) in RENAMED_INDICATORS.items()}


@dataclass(frozen=True)
class Where:
    """How the rows of a table are named: ``name`` (file or table), ``noun`` and ``lines``.

    ``lines`` holds the line (or feature number) of each row position; without it the position itself (0-based, as in
    ``DataFrame.iloc``) names the row.
    """

    name: str
    lines: np.ndarray | None = None
    noun: str = "position"

    def row(self, position: int) -> str:
        """The row at ``position``, e.g. ``"row 12"``."""
        return f"{self.noun} {self.lines[position] if self.lines is not None else position}"


def report(problems: list[Problem], where: Where, positions: Sequence[int] | np.ndarray, column: str, text: Callable[[int], str]) -> None:
    """One problem per position, at most :data:`LIMIT`; the first counts them all."""
    for k, position in enumerate(positions[:LIMIT]):
        more = f" ({len(positions)} such problems in this column, only the first {LIMIT} listed)" if k == 0 and len(positions) > LIMIT else ""
        problems.append(Problem(where.name, where.row(int(position)), column, text(int(position)) + more))


def check_table(name: str, raw: pd.DataFrame, where: Where, open_age: int | None, refs: Refs, problems: list[Problem]) -> pd.DataFrame | None:
    """One table alone (as read, or built in code): columns, cells, bounds, allowed values, keys, foreign keys (``refs``).

    Returns the table with typed columns, or ``None`` (problems in ``problems``, header first, then by row).
    """
    schema, keys, raw = copy.deepcopy(TABLES[name].model.to_schema()), list(TABLES[name].keys), raw.reset_index(drop=True)  # never edit to_schema()
    header, item = "row 1" if where.noun == "row" else "", "feature" if where.noun == "feature" else "row"  # a CSV file's header; a row
    for spec in schema.columns.values():  # open_age and foreign keys known now
        meta = spec.metadata or {}
        if meta.get("le") == "open_age" and open_age is not None:
            le = next(c for c in spec.checks if c.name == "less_than_or_equal_to")
            spec.checks = [c for c in spec.checks if c is not le] + [pa.Check.le(min(open_age, le.statistics["max_value"]))]
        if refs.get(meta.get("references", "")) is not None:
            spec.checks = [pa.Check.isin(refs[meta["references"]])]
    found = [Problem(where.name, header, str(c), f"expected only the columns {', '.join(repr(c) for c in schema.columns)}, "
                     f"found unknown column '{c}'") for c in raw.columns if c not in schema.columns]
    absent = [c for c in schema.columns if c not in raw.columns]
    missing = [c for c in absent if schema.columns[c].required]
    found += [Problem(where.name, header, c, f"expected a column '{c}', found none") for c in missing]
    schema = schema.remove_columns(absent)
    frame = pd.DataFrame(index=raw.index)
    bad_rows = np.zeros(len(raw), dtype=bool)
    for column, spec in schema.columns.items():
        cells, integer = raw[column], str(spec.dtype) == "int64"
        if str(spec.dtype) in ("int64", "float64"):
            frame[column], bad = parse_numbers(cells, integer)
            report(found, where, np.flatnonzero(bad), column, cell_problem(cells, describe_column(spec), integer))
            bad_rows |= bad
        else:
            frame[column] = (cells.where(cells.notna(), "") if cells.hasnans else cells).astype(str)
    good = frame[~bad_rows].astype({c: np.int64 for c, s in schema.columns.items() if str(s.dtype) == "int64"})
    try:
        schema.validate(good, lazy=True)
    except pa.errors.SchemaErrors as error:
        cases = error.failure_cases
        found += [Problem(where.name, header, str(c.column), f"expected {c.check}, found {c.failure_case}")
                  for c in cases[cases["index"].isna()].itertuples()]  # whole-column failures: none expected
        for (column, _), group in cases.dropna(subset=["index"]).groupby(["column", "check"], sort=False):
            report(found, where, group["index"].astype(np.int64).to_numpy(), column, cell_problem(raw[column], describe_column(schema.columns[column]),
                   notes=_RENAMED))
    second = good.duplicated(keys, keep="first").to_numpy() if not set(keys) & set(missing) else np.zeros(len(good), dtype=bool)
    if second.any():  # each row repeating the key of an earlier one, with the row of that one
        first = good.index.to_series().groupby([good[k] for k in keys], sort=False).transform("first").to_numpy()
        firsts = dict(zip(good.index.to_numpy()[second][:LIMIT], first[second][:LIMIT]))
        report(found, where, good.index.to_numpy()[second], keys[-1], lambda i: f"expected one {item} per {' x '.join(keys)}, found a second "
               f"one for {', '.join(f'{k}={raw[k].iloc[i]}' for k in keys)} (first at {where.row(firsts[i])})")
    if len(raw) < TABLES[name].min_rows:
        end = f"row {where.lines[-1] + 1 if where.lines is not None and len(where.lines) else 2}" if where.noun == "row" else ""
        found.append(Problem(where.name, end, "", f"expected at least {TABLES[name].min_rows} data {item}(s), found {len(raw)}"))
    problems += sorted(found, key=by_row)
    return None if found else good.reset_index(drop=True)


def by_row(problem: Problem) -> int:
    """Sort key of problems: those of a whole table first, then by row (or feature, position)."""
    return int(problem.where.split()[-1]) if problem.where else -1


# ---------------------------------------------------------------------------- across tables


def check_grid(frame: pd.DataFrame, where: Where, open_age: int, areas: tuple[str, ...] | None, problems: list[Problem]) -> None:
    """Every (area x) sex x age 0..open_age present: rows counted against the full grid."""
    keys = ["area_code", "sex"] if areas is not None else ["sex"]
    groups = pd.MultiIndex.from_product([areas, SEXES] if areas is not None else [SEXES], names=keys)
    counts = frame.groupby(keys, sort=False).size().reindex(groups, fill_value=0)
    empty = counts.index[counts.to_numpy() == 0]

    def label(key: Sequence[Any]) -> str:
        return "key " + ", ".join(f"{k}={v}" for k, v in zip(keys, key))

    problems += [Problem(where.name, label(g), keys[-1], f"expected rows for ages 0..{open_age}, found none") for g in empty[:LIMIT]]
    full = pd.MultiIndex.from_product([*groups.levels, range(open_age + 1)], names=[*keys, "age"])
    missing = full[~full.isin(pd.MultiIndex.from_frame(frame[[*keys, "age"]])) & ~full.droplevel("age").isin(empty)]
    for k, m in enumerate(missing[:LIMIT]):
        more = f" ({len(missing)} such problems, only the first {LIMIT} listed)" if k == 0 and len(missing) > LIMIT else ""
        problems.append(Problem(where.name, f"{label(m[:-1])}, age={m[-1]}", "age",
                                f"expected every age 0..{open_age} without gaps, found no row for age {m[-1]}{more}"))


def check_migration(migration: pd.DataFrame, population: pd.DataFrame, where: Mapping[str, Where], problems: list[Problem]) -> None:
    """Net migrants of a cell at most its population + :data:`~capacity.io.models.MIGRATION_MARGIN` either way."""
    keys, net = ["area_code", "sex", "age"], migration["net_migrants"].to_numpy()
    if len(migration) == len(population) and all(np.array_equal(migration[k].to_numpy(), population[k].to_numpy()) for k in keys):
        people, rows = population["population"].to_numpy(), np.arange(len(population))  # the same rows in the same order
    else:
        cell = population.reset_index(names="row").set_index(keys).reindex(pd.MultiIndex.from_frame(migration[keys]))
        people, rows = cell["population"].to_numpy(), cell["row"].to_numpy()
    report(problems, where["migration"], np.flatnonzero(np.abs(net) > people + MIGRATION_MARGIN), "net_migrants",
           lambda i: f"expected a number in [-{fmt(people[i] + MIGRATION_MARGIN)}, {fmt(people[i] + MIGRATION_MARGIN)}] (the cell's population "
           f"{fmt(people[i])}, {where['population'].name} {where['population'].row(int(rows[i]))}, + {MIGRATION_MARGIN}), found '{fmt(net[i])}'")


def check_life_table(frame: pd.DataFrame, where: Where, open_age: int, problems: list[Problem]) -> None:
    """Every sex x age present; ``lx`` from the radix non-increasing; ``Lx`` between ``lx`` values."""
    before = len(problems)
    check_grid(frame, where, open_age, None, problems)
    for sex in SEXES if len(problems) == before else ():
        _life_table_sex(frame[frame["sex"] == sex].sort_values("age"), where, problems)


def _life_table_sex(sub: pd.DataFrame, where: Where, problems: list[Problem]) -> None:
    tol = LIFE_TABLE_TOLERANCE * RADIX
    lx, Lx, rows = sub["lx"].to_numpy(), sub["Lx"].to_numpy(), sub.index.to_numpy()  # row k is age k
    at = {int(r): k for k, r in enumerate(rows)}
    if abs(lx[0] - RADIX) > tol:
        problems.append(Problem(where.name, where.row(rows[0]), "lx", f"expected 100000 (the radix) at age 0, found '{fmt(lx[0])}'"))
    report(problems, where, rows[np.flatnonzero(lx[1:] > lx[:-1] + tol) + 1], "lx",
           lambda i: f"expected lx non-increasing with age (<= {fmt(lx[at[i] - 1])}, lx at age {at[i] - 1}), found '{fmt(lx[at[i]])}'")
    report(problems, where, rows[np.flatnonzero(~((lx[1:] - tol <= Lx[:-1]) & (Lx[:-1] <= lx[:-1] + tol)))], "Lx",
           lambda i: f"expected Lx between lx at age {at[i] + 1} ({fmt(lx[at[i] + 1])}) and lx at age {at[i]} "
           f"({fmt(lx[at[i]])}), found '{fmt(Lx[at[i]])}'")


def check_stages(frame: pd.DataFrame, where: Where, problems: list[Problem]) -> None:
    """Each stage's age band well-ordered, and no two bands overlapping."""
    first, last, stage = frame["first_age"].to_numpy(), frame["last_age"].to_numpy(), frame["stage"].to_numpy()
    report(problems, where, np.flatnonzero(last < first), "last_age", lambda i: f"expected an integer >= first_age ({first[i]}), found '{last[i]}'")
    p: int | None = None
    for i in (int(i) for i in np.lexsort((last, first)) if last[i] >= first[i]):
        if p is not None and first[i] <= last[p]:
            problems.append(Problem(where.name, where.row(i), "first_age",
                                    f"expected stage age bands not to overlap, found ages {first[i]}..{last[i]} of '{stage[i]}' "
                                    f"overlapping '{stage[p]}' ({first[p]}..{last[p]}, {where.row(p)})"))
        if p is None or last[i] > last[p]:
            p = i


def check_plan(frame: pd.DataFrame, where: Where, stages: tuple[str, ...], problems: list[Problem]) -> None:
    """Needs and shares for a stage of ``stages.csv``, shares in [0, 1], ``public_places_added`` without a stage."""
    indicator, stage, value = frame["indicator"].to_numpy(), frame["stage"].to_numpy(), frame["value"].to_numpy()
    report(problems, where, np.flatnonzero(np.isin(indicator, ["need", *SHARES]) & ~np.isin(stage, stages)), "stage",
           lambda i: f"expected a stage of stages.csv for '{indicator[i]}', found '{stage[i]}'")
    report(problems, where, np.flatnonzero((indicator == "public_places_added") & (stage != "")), "stage",
           lambda i: f"expected an empty stage for 'public_places_added' (all stages), found '{stage[i]}'")
    report(problems, where, np.flatnonzero(np.isin(indicator, SHARES) & (value > 1)), "value",
           lambda i: f"expected a share in [0, 1], found '{fmt(value[i])}'")


def check_observed(frame: pd.DataFrame, where: Where, areas: tuple[str, ...], code: str | None, stages: tuple[str, ...] | None,
                   open_age: int | None, problems: list[Problem]) -> None:
    """An area or the district's ``code``; a stage of ``stages.csv`` or empty (required for enrolment, intake and shares); an age or
    empty; a share in [0, 1]."""
    indicator, area, stage, age, value = (frame[c].to_numpy() for c in ("indicator", "area_code", "stage", "age", "value"))
    staged = ["enrolment", "intake", *OBSERVED_SHARES]
    known = (*areas, *((code,) if code else ()))
    report(problems, where, np.flatnonzero(~np.isin(area, known)), "area_code",
           lambda i: f"expected an area code of the areas file or the district's code{f' {code!r}' if code else ''}, found '{area[i]}'")
    if stages is not None:
        bad = ~np.isin(stage, ("", *stages)) | (np.isin(indicator, staged) & (stage == ""))
        report(problems, where, np.flatnonzero(bad), "stage", lambda i: f"expected a stage of stages.csv{'' if indicator[i] in staged else ' or empty'} "
               f"for '{indicator[i]}', found {repr(stage[i]) if stage[i] else 'an empty cell'}")
    report(problems, where, np.flatnonzero(np.isin(indicator, OBSERVED_SHARES) & (value > 1)), "value",
           lambda i: f"expected a share in [0, 1] for '{indicator[i]}', found '{fmt(value[i])}'")
    top = open_age if open_age is not None else 130
    ok = np.array([a == "" or (a.isdigit() and int(a) <= top) for a in age], dtype=bool)
    report(problems, where, np.flatnonzero(~ok), "age", lambda i: f"expected an empty cell or an integer in 0..{top}, found '{age[i]}'")


def check_sources(frame: pd.DataFrame, where: Where, columns: Mapping[str, tuple[str, ...] | None], required: Sequence[str],
                  problems: list[Problem]) -> None:
    """Every row names a file of the district (and one of its columns); every file is covered."""
    known = {os.path.normpath(n).replace(os.sep, "/"): n for n in columns}
    names = [known.get(os.path.normpath(f).replace(os.sep, "/")) for f in frame["file"]]
    files, cols = frame["file"].to_numpy(), frame["column"].to_numpy()
    report(problems, where, [i for i, n in enumerate(names) if n is None], "file",
           lambda i: f"expected one of the district's files ({', '.join(repr(n) for n in columns)}), found '{files[i]}'")
    allowed = {n: ("*", *c) for n, c in columns.items() if c is not None}
    report(problems, where, [i for i, n in enumerate(names) if n in allowed and cols[i] not in allowed[n]], "column",
           lambda i: f"expected a column of {files[i]} ({', '.join(repr(c) for c in allowed[str(names[i])])}), found '{cols[i]}'")
    problems += [Problem(where.name, f"key file={n}", "file", f"expected at least one row for every input file, found none for '{n}'")
                 for n in required if n not in names]


def check_tables(raw: Mapping[str, pd.DataFrame | None], where: Mapping[str, Where], open_age: int | None,
                 files: Mapping[str, tuple[str, ...] | None], required: Sequence[str], problems: list[Problem],
                 code: str | None = None) -> dict[str, pd.DataFrame]:
    """Check every table of a district alone and against the others.

    Parameters
    ----------
    raw : mapping of str to pandas.DataFrame or None
        The tables by name in reading order (``areas``: the features' properties); ``None`` for one that could not be read
        (already reported); ``plan`` and ``observed`` may be left out.
    where : mapping of str to Where
        How the rows of each table are named.
    open_age : int or None
        The district's ``open_age``, if valid.
    files, required
        The files ``sources.csv`` may name (-> their columns, ``None``: any), and must.
    problems : list of Problem
        Receives the problems.
    code : str, optional
        The district's code (an area of ``observed.csv``), if valid.

    Returns
    -------
    dict of str to pandas.DataFrame
        The tables that passed the checks of their own, typed, rows in order.
    """
    ok: dict[str, pd.DataFrame] = {}
    refs: dict[str, tuple[str, ...] | None] = {"areas": None, "stages": None}
    for name, table in raw.items():
        checked = check_table(name, table, where[name], open_age, refs, problems) if table is not None else None
        if checked is not None:
            ok[name] = checked
            if name in refs:
                refs[name] = tuple(sorted(checked["area_code"])) if name == "areas" else tuple(checked["stage"])
    if "stages" in ok:
        check_stages(ok["stages"], where["stages"], problems)
    if "plan" in ok and refs["stages"] is not None:
        check_plan(ok["plan"], where["plan"], refs["stages"], problems)
    if "observed" in ok and refs["areas"] is not None:
        check_observed(ok["observed"], where["observed"], refs["areas"], code, refs["stages"], open_age, problems)
    grids = len(problems)
    for name in ("population", "migration"):
        if name in ok and open_age is not None and refs["areas"] is not None:
            check_grid(ok[name], where[name], open_age, refs["areas"], problems)
    if "population" in ok and "migration" in ok and open_age is not None and refs["areas"] is not None and len(problems) == grids:
        check_migration(ok["migration"], ok["population"], where, problems)
    if "fertility" in ok:  # ages of mothers contiguous
        ages = ok["fertility"]["age"].to_numpy()
        problems += [Problem(where["fertility"].name, f"key age={age}", "age", f"expected contiguous ages {ages.min()}..{ages.max()}, found no "
                             f"row for age {age}") for age in np.setdiff1d(np.arange(ages.min(), ages.max() + 1), ages)[:LIMIT]]
    if "life_table" in ok and open_age is not None:
        check_life_table(ok["life_table"], where["life_table"], open_age, problems)
    if "sources" in ok and raw.get("areas") is not None and raw.get("projects") is not None:
        check_sources(ok["sources"], where["sources"], files, required, problems)
    return ok
