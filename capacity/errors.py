"""Domain exceptions.

Two families, both raised before any work starts:

* :class:`InputError` -- a file or a scenario key a user wrote is wrong. It carries the
  file, the row or key, the column and what was expected, and renders as one line. The
  command line prints that line and exits with status 2.
* :class:`SpecificationError` -- arrays handed to the numpy core are inconsistent (wrong
  shape, rate out of range, NaN). It names the input, the index and the offending value.
"""

from __future__ import annotations

from dataclasses import dataclass


class CapacityError(Exception):
    """Base class of every exception the package raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    file : str
        Path of the file as the user gave it (relative where possible).
    where : str
        Row (``"row 12"``, 1-based line number in the file, header is line 1), key
        (``"key fertility.multiplier"``) or feature (``"feature 3"``); empty if the
        problem concerns the whole file.
    column : str
        Column or field name; empty if the problem concerns a whole row or file.
    expected : str
        What was expected, and what was found.
    """

    file: str
    where: str
    column: str
    expected: str

    def __str__(self) -> str:
        parts = [self.file]
        if self.where:
            parts.append(self.where)
        if self.column:
            parts.append(f"column '{self.column}'")
        return ": ".join([", ".join(parts), self.expected])


class InputError(CapacityError, ValueError):
    """Bad input data: one or more :class:`Problem` s.

    ``str(error)`` is the first problem on one line; ``error.problems`` holds them all.
    """

    def __init__(self, problems: list[Problem] | Problem):
        if isinstance(problems, Problem):
            problems = [problems]
        if not problems:
            raise ValueError("InputError needs at least one problem")
        self.problems: list[Problem] = list(problems)
        super().__init__(str(self.problems[0]))

    @classmethod
    def one(cls, file: str, where: str, column: str, expected: str) -> InputError:
        """Build an error holding a single problem."""
        return cls(Problem(str(file), where, column, expected))


class SpecificationError(CapacityError, ValueError):
    """Arrays given to the numpy core are inconsistent with the model's specification.

    The message names the input, the index and the value, e.g.
    ``survival[3, 0, 1, 17, 0] = 1.2: expected a value in [0, 1]``.
    """


class DefectError(CapacityError, RuntimeError):
    """The model produced something it never should (e.g. a non-finite number in an output).

    Not the user's fault: the command line reports it with exit status 1, naming the step
    and the first offending cell, and writes nothing.
    """
