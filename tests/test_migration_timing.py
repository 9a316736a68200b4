"""The scenario key ``migration.timing``: parsed, checked and handed to the engine."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import capacity
from capacity.errors import InputError
from capacity.inputs import cohort_inputs
from capacity.scenario import Scenario, scenario_from_dict


def test_timing_defaults_to_end_and_reads_phg() -> None:
    assert scenario_from_dict({}).migration.timing == "end"
    assert scenario_from_dict({"migration": {"timing": "phg"}}).migration.timing == "phg"
    assert scenario_from_dict({"migration": {"timing": "phg"}}).to_dict()["migration"]["timing"] == "phg"


@pytest.mark.parametrize("value, found", [("mid", "'mid'"), (1, "1")])
def test_bad_timing_is_one_line_naming_the_key(value: object, found: str) -> None:
    with pytest.raises(InputError) as error:
        scenario_from_dict({"migration": {"timing": value}}, file="s.toml")
    message = str(error.value)
    assert "\n" not in message
    assert message == f"s.toml, key migration.timing: expected one of 'end' or 'phg', found {found}"


def test_cohort_inputs_carry_the_timing(district_dir: Path) -> None:
    district = capacity.load_district(district_dir)
    years = np.arange(district.base_year, district.base_year + 3)
    ones = np.ones(1)
    for timing in ("end", "phg"):
        scenario = scenario_from_dict({"migration": {"timing": timing}})
        assert isinstance(scenario, Scenario)
        inputs = cohort_inputs(district, scenario, years, ones, ones)
        assert inputs.migration_timing == timing
