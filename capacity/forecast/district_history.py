"""A district's own history: the optional ``history/`` folder of a district folder.

A district folder may hold a ``history/`` folder in the history format
(``docs/data-format.md``, "History for backtests"): population by area x year x sex x
single year of age, and optionally births and enrolment. It lets ``capacity backtest``
measure the forecasting methods on the district itself and lets a scenario's ``method``
(:mod:`capacity.forecast.driver`) project the children from it. Beyond the format, a
district's history must fit the district, checked when the district is read
(:func:`check_district_history`):

* it holds ``population.csv``;
* its areas are the district's areas, each once, none flagged ``border_change`` (a run
  projects every area from its own past, so the past must be on today's borders);
* its last year is the district's base year (the methods are fitted on the years up to
  the base year and project from it), with a row for every area in that year;
* every area and year it has holds every sex x age from 0 to its last (open) age, and that
  age is above the oldest age of any stage and above 49 (the child-woman ratio counts the
  women aged 15-49), with at least one year before the base year; a population by both
  sexes together (``sex = both``) needs ages above the oldest stage age only, and the
  women of ``women.csv`` for every area and year it has.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from capacity.core.progression import WOMAN_AGES
from capacity.errors import InputError
from capacity.forecast.history import History, read_history

__all__ = ["HISTORY_FOLDER", "check_district_history", "read_district_history"]

#: The history's folder inside a district folder.
HISTORY_FOLDER = "history"


def read_district_history(folder: Path, shown: str, *, area_codes: Sequence[str], stage_ages: Sequence[tuple[str, int]],
                          base_year: int, hashes: dict[str, str]) -> History:
    """Read ``folder`` (a district's ``history/``) and check it against the district.

    Parameters
    ----------
    folder : Path
        The history folder.
    shown : str
        The folder as problems name it (``DIR/history``).
    area_codes : sequence of str
        The district's areas.
    stage_ages : sequence of (str, int)
        Each stage and its last age.
    base_year : int
        The district's base year.
    hashes : dict
        Gets the SHA-256 of every file read, by its name in the district folder
        (``history/population.csv``).

    Raises
    ------
    InputError
        One line naming the file, row or key, column and what was expected.
    """
    if (folder / "history.toml").is_file() and not (folder / "population.csv").is_file():
        raise _no_population(shown)
    digests: dict[str, str] = {}
    history = read_history(folder, shown, digests)
    hashes.update({f"{HISTORY_FOLDER}/{name}": digest for name, digest in sorted(digests.items())})
    check_district_history(history, shown, area_codes=area_codes, stage_ages=stage_ages, base_year=base_year)
    return history


def check_district_history(history: History, shown: str, *, area_codes: Sequence[str], stage_ages: Sequence[tuple[str, int]],
                           base_year: int) -> None:
    """Raise :class:`InputError` unless ``history`` fits the district (see the module docstring).

    ``shown`` names the folder in problems (``DIR/history``, or ``history`` for a district
    built in code).
    """
    def name(file: str) -> str:
        return os.path.join(shown, file)

    areas = history.areas
    codes = [str(c) for c in areas["area_code"]]
    for row, code in enumerate(codes):
        if code not in area_codes:
            raise InputError.one(name("areas.csv"), f"row {row + 2}", "area_code",
                                 f"expected an area code of the district ({_listed(area_codes)}), found {code!r}")
    missing = [c for c in area_codes if c not in codes]
    if missing:
        raise InputError.one(name("areas.csv"), "", "area_code",
                             f"expected every area of the district, found no row for {missing[0]!r}"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
    flagged = np.flatnonzero(areas["border_change"].to_numpy(dtype=bool))
    if len(flagged):
        raise InputError.one(name("areas.csv"), f"row {int(flagged[0]) + 2}", "border_change",
                             "expected False in a district's history (every area is projected from its own past, so the "
                             "history must be on the district's areas: re-aggregate it onto them), found True")
    table = history.tables.get("population")
    if table is None:
        raise _no_population(shown)
    last = int(table.years[-1])
    if last != base_year:
        raise InputError.one(name("population.csv"), "", "year",
                             f"expected the last year to be the district's base year {base_year} (district.toml: the "
                             f"methods are fitted up to it and project from it), found {last}")
    if len(table.years) < 2:
        raise InputError.one(name("population.csv"), "", "year",
                             f"expected at least one year before the base year {base_year}, found {base_year} only")
    present = np.isfinite(table.counts).any(axis=(2, 3))  # (year, area)
    absent = np.flatnonzero(~present[-1])
    if len(absent):
        raise InputError.one(name("population.csv"), "", "year",
                             f"expected rows of every area in the base year {base_year}, found none for {table.areas[absent[0]]!r}")
    oldest = int(table.levels[-1])
    stage, age = max(stage_ages, key=lambda s: s[1])
    by_sex = table.women is None  # female and male rows (else both sexes, the women in women.csv)
    need = max(WOMAN_AGES[1] if by_sex else 0, age) + 1
    if oldest < need:
        women = f"the child-woman ratio needs the women {WOMAN_AGES[0]}-{WOMAN_AGES[1]} and " if by_sex else ""
        raise InputError.one(name("population.csv"), "", "age",
                             f"expected ages 0..{need} at least (the last age is open; {women}stage {stage!r} has ages up "
                             f"to {age}), found 0..{oldest}")
    rows = history_rows(history)
    expected = table.counts.shape[2] * len(table.levels)
    short = np.argwhere(present & (rows < expected))
    if len(short):
        y, a = (int(i) for i in short[0])
        raise InputError.one(name("population.csv"), "", "age",
                             f"expected a row for every sex x age 0..{oldest} of area {table.areas[a]!r} in {int(table.years[y])}, "
                             f"found {int(rows[y, a])} of {expected}")
    if table.women is not None:
        missing_women = np.argwhere(present & ~np.isfinite(table.women))
        if len(missing_women):
            y, a = (int(i) for i in missing_women[0])
            raise InputError.one(name("women.csv"), "", "year",
                                 f"expected the women 15-49 of every area and year of population.csv, found none for "
                                 f"area {table.areas[a]!r} in {int(table.years[y])}")


def history_rows(history: History) -> np.ndarray:
    """Rows of ``population.csv`` per (year, area) of the population table, as read (built in code: complete)."""
    table = history.tables["population"]
    full = np.full(table.counts.shape[:2], table.counts.shape[2] * len(table.levels))
    return np.asarray(history.rows if history.rows is not None else full)


def _no_population(shown: str) -> InputError:
    return InputError.one(os.path.join(shown, "population.csv"), "", "", "expected the population by area x year x sex x age "
                          "(required in a district's history), found no such file")


def _listed(codes: Sequence[str]) -> str:
    shown = ", ".join(repr(c) for c in codes[:4])
    return shown + (f" ... {len(codes)} in all" if len(codes) > 4 else "")
