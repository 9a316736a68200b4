"""The scenario file format (pydantic models): one message per bad key, naming it, with what was found."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from capacity.distributions import Distribution
from capacity.errors import InputError
from capacity.scenario import load_scenario, scenario_from_dict

# (label, TOML text, the key named, words of the expectation, what was found)
CASES = [
    ("unknown key lists the allowed ones", "[mortality]\nrate = 1\n", "mortality.rate",
     "expected one of the keys death_rate_multiplier", "'rate'"),
    ("key of a distribution", '[projects.delay_uncertainty]\nH2 = { dist = "poisson", mean = 1, sd = 1 }\n',
     "projects.delay_uncertainty.H2.sd", "expected one of the keys dist, mean", "'sd'"),
    ("distribution without dist", "[fertility]\nuncertainty = { mean = 1 }\n", "fertility.uncertainty",
     'expected a table like { dist = "normal"', "a table"),
    ("uniform bounds reversed", '[migration]\nuncertainty = { dist = "uniform", low = 2, high = 1 }\n',
     "migration.uncertainty", "expected low <= high", "a table"),
    ("triangular mode outside", '[migration]\nuncertainty = { dist = "triangular", low = 0, mode = 3, high = 2 }\n',
     "migration.uncertainty", "expected low <= mode <= high", "a table"),
    ("lognormal median not positive", '[fertility]\nuncertainty = { dist = "lognormal", median = 0, sigma = 1 }\n',
     "fertility.uncertainty.median", "expected a number > 0", "0"),
    ("poisson negative", '[projects.delay_uncertainty]\n"*" = { dist = "poisson", mean = -1 }\n',
     "projects.delay_uncertainty.*.mean", "expected a number >= 0", "-1"),
    ("text for a number", '[mortality]\ndeath_rate_multiplier = "1.2"\n', "mortality.death_rate_multiplier",
     "expected a number", "'1.2'"),
    ("boolean for a number", "[mortality]\ndeath_rate_multiplier = true\n", "mortality.death_rate_multiplier",
     "expected a number", "True"),
    ("infinity", "[mortality]\ndeath_rate_multiplier = inf\n", "mortality.death_rate_multiplier",
     "expected a finite number", "inf"),
    ("year value out of range", "[fertility]\nmultiplier = { 2020 = 1, 2024 = 11 }\n", "fertility.multiplier.2024",
     "expected a number <= 10", "11"),
    ("empty year table", "[fertility]\nmultiplier = {}\n", "fertility.multiplier",
     "expected a number or a non-empty table of years", "a table"),
    ("cancel not a list", '[projects]\ncancel = "H1"\n', "projects.cancel", "expected a list", "'H1'"),
    ("empty phases", "[projects.phases]\nP1 = []\n", "projects.phases.P1", "expected a non-empty list", "a list"),
    ("added project missing a column", '[[projects.add]]\nproject_id = "X"\nstage = "primary"\nplaces = 100\n'
     'opening_year = 2027\n', "projects.add[0].area_code", "expected a value (required)", None),
    ("added project of unknown kind", '[[projects.add]]\nproject_id = "X"\nstage = "primary"\nplaces = 100\n'
     'area_code = "1"\nopening_year = 2027\nkind = "palace"\n', "projects.add[0].kind", "expected one of", "'palace'"),
    ("added project without places", '[[projects.add]]\nproject_id = "X"\nstage = "primary"\nplaces = 0\n'
     'area_code = "1"\nopening_year = 2027\n', "projects.add[0].places", "expected a non-zero number of places", "0"),
    ("delay beyond its range", "[projects.delay]\nH2 = 80\n", "projects.delay.H2", "expected a number <= 50", "80"),
    ("travel limit negative", "[gap]\ntravel_limit_km = -1\n", "gap.travel_limit_km", "expected a number >= 0", "-1"),
    ("housing yield band", '[housing.children_per_dwelling]\n"5-0" = [0.1]\n', "housing.children_per_dwelling.5-0",
     'expected an age band like "0-17"', "'5-0'"),
    ("horizon too early", "horizon = 1999\n", "horizon", "expected a number >= 2000", "1999"),
    ("name not text", "name = 3\n", "name", "expected a text string", "3"),
]


@pytest.mark.parametrize("label,text,key,expected,found", CASES, ids=[c[0] for c in CASES])
def test_bad_key_gives_one_clear_problem(label: str, text: str, key: str, expected: str, found: str | None) -> None:
    with pytest.raises(InputError) as info:
        scenario_from_dict(tomllib.loads(text), file="s.toml")
    message = str(info.value)
    assert message.startswith(f"s.toml, key {key}: "), message
    assert expected in message, message
    if found is not None:
        assert message.endswith(f"found {found}"), message
    assert "\n" not in message


def test_every_problem_is_collected() -> None:
    text = "horizon = 1\n[mortality]\ndeath_rate_multiplier = -1\n[gap]\ntravel_limit_km = 500\n"
    with pytest.raises(InputError) as info:
        scenario_from_dict(tomllib.loads(text), file="s.toml")
    keys = [p.where for p in info.value.problems]
    assert keys == ["key horizon", "key mortality.death_rate_multiplier", "key gap.travel_limit_km"]


def test_a_valid_document_becomes_the_frozen_scenario() -> None:
    text = """
name = "x"
horizon = 2030
[fertility]
multiplier = { 2024 = 0.7, 2021 = 0.8 }
uncertainty = { dist = "normal", mean = 1, sd = 0.05 }
[migration]
scale_by_age = { "0-17" = 0.5 }
scale_by_area = { "b" = 2, "a" = 1 }
[enrolment.primary]
enrolment_rate = 1.01
[projects]
delay = { "*" = 1 }
phases = { P1 = [0.25, 0.75] }
[[projects.add]]
project_id = "N1"
stage = "primary"
places = 900
area_code = "a"
opening_year = 2027
[demand]
source = "plan"
"""
    s = scenario_from_dict(tomllib.loads(text), file="s.toml")
    assert s.name == "x" and s.horizon == 2030 and s.source == "s.toml"
    assert s.fertility.multiplier == ((2021, 0.8), (2024, 0.7))
    assert s.fertility.uncertainty == Distribution.normal(1, 0.05)
    assert s.migration.scale_by_age == ((0, 17, 0.5),)
    assert s.migration.scale_by_area == (("a", 1.0), ("b", 2.0))
    assert s.enrolment == (("primary", "enrolment_rate", 1.01),)
    assert s.projects.delay == (("*", 1),)
    assert s.projects.phases == (("P1", (0.25, 0.75)),)
    row = dict(s.projects.add[0])
    assert row["name_en"] == "N1" and row["kind"] == "new" and row["ownership"] == "public" and row["places"] == 900.0
    assert s.demand_from_plan


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6))
def test_multiplier_accepted_exactly_within_its_range(value: float) -> None:
    doc = {"fertility": {"multiplier": value}}
    if 0 <= value <= 10:
        assert scenario_from_dict(doc).fertility.multiplier == value
    else:
        with pytest.raises(InputError, match="key fertility.multiplier"):
            scenario_from_dict(doc)


DOMAIN_CASES = [
    ("fertility", "[fertility]\nuncertainty = { dist = \"normal\", mean = 1, sd = 0.5 }\n", "fertility.uncertainty",
     "[0, 10]", "[-2, 4]"),
    ("migration", "[migration]\nuncertainty = { dist = \"uniform\", low = -50, high = 50 }\n", "migration.uncertainty",
     "[-10, 10]", "[-50, 50]"),
    ("delay", "[projects.delay_uncertainty]\nH2 = { dist = \"poisson\", mean = 1e300 }\n", "projects.delay_uncertainty.H2",
     "[-50, 50]", "1e+300]"),
    ("housing", "[housing]\nuncertainty = { dist = \"lognormal\", median = 1, sigma = 1 }\n", "housing.uncertainty",
     "[0, 10]", "403.4]"),
]


@pytest.mark.parametrize("label,text,key,bound,reach", DOMAIN_CASES, ids=[c[0] for c in DOMAIN_CASES])
def test_distribution_draws_must_stay_in_the_domain(label: str, text: str, key: str, bound: str, reach: str) -> None:
    with pytest.raises(InputError) as info:
        scenario_from_dict(tomllib.loads(text), file="s.toml")
    message = str(info.value)
    assert message.startswith(f"s.toml, key {key}: expected a distribution whose draws stay within {bound}"), message
    assert message.endswith(reach), message


def _files(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")


EXTEND_CASES = [
    ("missing parent", {"s/child.toml": 'extend = "nope.toml"\n'}, "s/child.toml", "key extend",
     "expected an existing scenario file (or a shipped scenario's name), found 'nope.toml'"),
    ("parent outside the folder", {"x.toml": "", "s/child.toml": 'extend = "../x.toml"\n'}, "s/child.toml", "key extend",
     "expected a scenario file in the folder of child.toml or below it"),
    ("absolute parent", {"s/child.toml": 'extend = "/etc/passwd"\n'}, "s/child.toml", "key extend", "found '/etc/passwd'"),
    ("bad key in the parent is the parent's", {"s/base.toml": "[fertility]\nmultiplierr = 1\n",
                                                 "s/child.toml": 'extend = "base.toml"\nname = "c"\n'},
     "s/base.toml", "key fertility.multiplierr", "expected one of the keys"),
    ("bad key in a grandparent", {"s/a.toml": "horizon = 1\n", "s/sub/../b.toml": 'extend = "a.toml"\n',
                                   "s/child.toml": 'extend = "b.toml"\n'}, "s/a.toml", "key horizon", "found 1"),
    ("cycle", {"s/a.toml": 'extend = "child.toml"\n', "s/child.toml": 'extend = "a.toml"\n'}, "s/", "key extend",
     "expected no cycle"),
    ("extend not text", {"s/child.toml": "extend = 3\n"}, "s/child.toml", "key extend", "found 3"),
]


@pytest.mark.parametrize("label,files,blamed,key,words", EXTEND_CASES, ids=[c[0] for c in EXTEND_CASES])
def test_extend_is_contained_and_problems_name_the_right_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, label: str,
                                                             files: dict[str, str], blamed: str, key: str, words: str) -> None:
    _files(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_scenario("s/child.toml")
    message = str(info.value)
    assert message.startswith(blamed), message
    assert f", {key}: " in message and words in message, message
    assert "root:" not in message  # nothing of /etc/passwd is read or shown


def test_extend_of_a_shipped_scenario_and_from_a_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _files(tmp_path, {"s/base.toml": "horizon = 2031\n", "s/more/child.toml": 'extend = "../base.toml"\n'})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError, match="in the folder of child.toml"):
        load_scenario("s/more/child.toml")
    _files(tmp_path, {"s/ok.toml": 'extend = "baseline"\nname = "ok"\n'})
    assert load_scenario("s/ok.toml").name == "ok"
