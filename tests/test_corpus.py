"""The malformed-input corpus: every bad district file and scenario key, through ``capacity run``.

Each case is run as a user would (``capacity run SCENARIO --district DIR --out OUT``) and must
give exit status 2, exactly one line on stderr naming the file and the row, feature or key
(and the column where there is one), no traceback, no ``OUT`` folder, and every input file
unchanged. The cases are the tables of the focused test modules, gathered here so that the
corpus is one list: the district files (``test_io_validation.CASES``), the scenario file
format (``test_scenario_file``), the scenario against the district (``test_cli_and_checks``),
the scenario examples of ``test_scenarios_ensemble`` and a district's history with a
scenario's ``method`` (``test_method_run``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import write_district
from test_cli_and_checks import AGAINST_DISTRICT
from test_io_validation import CASES as FILE_CASES
from test_method_run import METHOD_CASES
from test_scenario_file import CASES as KEY_CASES
from test_scenario_file import DOMAIN_CASES, EXTEND_CASES
from test_scenarios_ensemble import BAD_SCENARIOS

from capacity.cli import main

# (id, edit of the district folder or None, scenario files {relative name: text}, scenario to run,
#  the file named, words the line must hold)
Case = tuple[str, Callable[[Path], None] | None, dict[str, str], str, str, list[str]]


def _cases() -> list[Case]:
    out: list[Case] = []
    for kind, (edit, file, where, column, text) in sorted(FILE_CASES.items()):
        words = [w for w in (where and f", {where}", column and f"column '{column}'", text) if w]
        out.append((f"file:{kind}", edit, {"s.toml": 'name = "s"\n'}, "s.toml", file, words))
    for label, text, key, expected, _found in KEY_CASES:
        out.append((f"key:{label}", None, {"s.toml": text}, "s.toml", "s.toml", [f"key {key}:", expected]))
    for label, text, key, bound, _reach in DOMAIN_CASES:
        out.append((f"domain:{label}", None, {"s.toml": text}, "s.toml", "s.toml", [f"key {key}:", bound]))
    for label, files, blamed, key, words in EXTEND_CASES:
        out.append((f"extend:{label}", None, files, "s/child.toml", blamed, [key, words]))
    for label, text, words in AGAINST_DISTRICT:
        out.append((f"district:{label}", None, {"s.toml": text}, "s.toml", "s.toml", words))
    for label, text, expected in BAD_SCENARIOS:
        out.append((f"scenario:{label}", None, {"s.toml": text}, "s.toml", "s.toml", [expected]))
    for label, edit, text, named, words in METHOD_CASES:
        out.append((f"method:{label}", edit, {"s.toml": text}, "s.toml", named, words))
    return out


CORPUS = _cases()


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
@pytest.mark.parametrize("case", CORPUS, ids=[c[0] for c in CORPUS])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(case: Case, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    label, edit, files, scenario, named, words = case
    district = write_district(tmp_path / "data" / "districts" / "demo")
    if edit is not None:
        edit(district)
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    before = _digest(tmp_path)
    capsys.readouterr()
    status = main(["run", scenario, "--district", str(district), "--out", "out", "--quiet"])
    out, err = capsys.readouterr()
    assert status == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    line = lines[0]
    assert "Traceback" not in err
    assert named.rstrip("/") in line.split(": expected", 1)[0], line
    for w in words:
        assert w in line, line
    assert not (tmp_path / "out").exists()
    assert _digest(tmp_path) == before


def test_corpus_size() -> None:
    kinds: dict[str, int] = {}
    for case in CORPUS:
        kinds[case[0].split(":")[0]] = kinds.get(case[0].split(":")[0], 0) + 1
    assert len(CORPUS) >= 150, kinds
    assert set(kinds) == {"file", "key", "domain", "extend", "district", "scenario", "method"}
