"""capacity: school-place capacity planning simulator.

Public API (imported lazily, so ``import capacity`` and the command line start fast):

- :func:`load_district`, :func:`load_scenario` -- read and validate inputs;
- :class:`Scenario` and its parts (:class:`Fertility`, :class:`Migration`,
  :class:`Mortality`, :class:`ProjectChanges`, :class:`Housing`, :class:`Distribution`);
- :func:`run` -> :class:`Results` (tidy tables ``gap``, ``plan_comparison``,
  ``indicators``, ``schedule``; ``meta``; ``write(out_dir)``);
- :func:`compare` -- paired differences between scenarios;
- :func:`optimise` -- what to build, where and when (``docs/optimise.md``);
- :func:`explain` -- the calculation behind one cell (module :mod:`capacity.explanation`,
  so that importing it never hides the function ``capacity.explain``).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_district": "capacity.io.district",
    "District": "capacity.io.district",
    "load_scenario": "capacity.scenario",
    "scenario_from_dict": "capacity.scenario",
    "Scenario": "capacity.scenario",
    "Fertility": "capacity.scenario",
    "Migration": "capacity.scenario",
    "Mortality": "capacity.scenario",
    "ProjectChanges": "capacity.scenario",
    "Housing": "capacity.scenario",
    "Distribution": "capacity.scenario",
    "run": "capacity.api",
    "compare": "capacity.api",
    "Results": "capacity.api",
    "explain": "capacity.explanation",
    "optimise": "capacity.optimise",
    "Explanation": "capacity.explanation",
    "InputError": "capacity.errors",
    "SpecificationError": "capacity.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'capacity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
