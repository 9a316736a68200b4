"""Scenario scripts in scenarios/ run through the public API and write one combined result."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]


def test_sweep_delays_writes_combined_result(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("sweep_delays", REPO / "scenarios" / "sweep_delays.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "sweep"
    assert module.main(["--out", str(out)]) == 0
    sweep = pd.read_csv(out / "sweep.csv")
    assert len(sweep) == 4 + 9
    gap = pd.read_csv(out / "gap.csv", dtype={"area_code": str})
    assert gap["scenario"].nunique() == 13
    # a later opening never adds places: the junior shortfall in 2025 grows with delay (no primary shortfall in 2025)
    by = sweep.set_index("scenario")["shortfall_junior_2025"]
    assert by["delay_0y"] <= by["delay_1y"] <= by["delay_2y"] <= by["delay_3y"]
    assert by["delay_0y"] < by["delay_3y"]
