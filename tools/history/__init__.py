"""Converters of the shared backtest history sets into the history format.

``python -m tools.history.norway OUT``, ``python -m tools.history.nz OUT`` and
``python -m tools.history.nyc OUT`` read the files of ``../shared/data/backtest`` (or the
folder given with ``--source``) and write a history folder (``docs/data-format.md``,
section "History for backtests") into ``OUT``, which must lie outside the repository's
package data. The shared files are test data: never copy them into the repository.
"""
