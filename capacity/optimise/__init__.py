"""The optimiser: from the gap to a decision (``docs/optimise.md``).

``model`` builds the mixed-integer programme as sparse matrices (pure), ``solve`` solves
it with HiGHS, ``plan`` reads the solution back, ``run`` puts them together with the model
runs (:func:`optimise`), ``candidates`` describes ``candidates.csv``.

The package is also callable, so that ``capacity.optimise(...)`` is the function
:func:`optimise` whether or not the subpackage has been imported.
"""

import sys
import types
from typing import Any

from capacity.optimise.run import Optimisation, optimise

__all__ = ["Optimisation", "optimise"]


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Optimisation:
        return optimise(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
