"""The history format for backtests: moved to :mod:`capacity.io.history` (reading files is I/O).

A district's own history is read with the district (:mod:`capacity.io.district_history`),
so the format lives beside the district's; its names are re-exported here for the code
that imports them from here.
"""

from __future__ import annotations

from capacity.io.history import History, HistoryFile, StageSpec, Table, read_history, validate_frames

__all__ = ["History", "HistoryFile", "StageSpec", "Table", "read_history", "validate_frames"]
