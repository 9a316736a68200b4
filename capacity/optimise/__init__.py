"""The optimiser: from the gap to a decision (``docs/optimise.md``).

``model`` builds the mixed-integer programme as sparse matrices (pure), ``solve`` solves
it with HiGHS, ``plan`` reads the solution back, ``run`` puts them together with the model
runs (:func:`optimise`), ``candidates`` describes ``candidates.csv``.
"""

from capacity.optimise.run import Optimisation, optimise

__all__ = ["Optimisation", "optimise"]
