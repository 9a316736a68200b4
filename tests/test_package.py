"""The package stands on its own: data shipped inside it, ``capacity init``, ``python -m capacity``.

The slow test builds a wheel-like, non-editable install of the checkout into a folder and
runs the main job from an empty folder with it, so that nothing can be found through the
repository's paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from capacity.cli import main
from capacity.resources import district_path, scenario_names, scenario_path
from capacity.scenario import load_scenario

REPO = Path(__file__).resolve().parents[1]


def test_shipped_data_lives_in_the_package() -> None:
    package = REPO / "capacity"
    assert district_path().is_relative_to(package)
    assert (district_path() / "district.toml").is_file()
    assert (district_path() / "projects.csv").is_file()
    names = scenario_names()
    assert {"baseline", "low_fertility", "construction_delays"} <= set(names)
    for name in names:
        assert scenario_path(name).is_relative_to(package)


def test_district_folder_has_no_references_outside_itself() -> None:
    text = (district_path() / "district.toml").read_text(encoding="utf-8")
    assert ".." not in text
    sources = (district_path() / "sources.csv").read_text(encoding="utf-8")
    assert "../" not in sources


def test_scenarios_by_name_and_by_path_are_the_same(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no scenarios/ folder here
    by_name = load_scenario("low_fertility")
    by_path = load_scenario(REPO / "scenarios" / "low_fertility.toml")
    assert by_name.replace(source="") == by_path.replace(source="")
    assert by_name.name == "low_fertility"
    # a user's file in the current folder wins over a shipped name
    (tmp_path / "low_fertility.toml").write_text('name = "mine"\nhorizon = 2030\n', encoding="utf-8")
    assert load_scenario("low_fertility.toml").name == "mine"


def test_extend_a_shipped_scenario_by_name(tmp_path: Path) -> None:
    child = tmp_path / "child.toml"
    child.write_text('extend = "baseline"\nname = "child"\n[fertility]\nmultiplier = 0.5\n', encoding="utf-8")
    s = load_scenario(child)
    base = load_scenario("baseline")
    assert s.name == "child"
    assert s.horizon == base.horizon
    assert s.fertility.multiplier == 0.5


def test_init_writes_a_district_that_validates_and_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "mydistrict"
    assert main(["init", str(folder)]) == 0
    assert (folder / "README.md").is_file()
    assert ".." not in (folder / "district.toml").read_text(encoding="utf-8")
    assert main(["validate", str(folder)]) == 0
    out = tmp_path / "out"
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    assert (out / "gap.csv").is_file()
    # the template gives the same results as the embedded district it copies
    ref = tmp_path / "ref"
    assert main(["run", "--out", str(ref), "--quiet"]) == 0
    assert (out / "gap.csv").read_bytes() == (ref / "gap.csv").read_bytes()


@pytest.mark.parametrize("kind", ["file", "nonempty"])
def test_init_never_writes_over_a_users_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str) -> None:
    target = tmp_path / "target"
    if kind == "file":
        target.write_text("mine\n", encoding="utf-8")
    else:
        target.mkdir()
        (target / "NOTES.txt").write_text("mine\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    assert main(["init", str(target)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(target) in err[0] and "expected a new or empty folder" in err[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_python_dash_m_capacity() -> None:
    proc = subprocess.run([sys.executable, "-m", "capacity", "--version"], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0
    assert proc.stdout.startswith("capacity ")


@pytest.mark.slow
def test_non_editable_install_runs_from_an_empty_folder(tmp_path: Path) -> None:
    target = tmp_path / "site"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(REPO)],
        capture_output=True, text=True,
    )
    assert build.returncode == 0, build.stderr
    assert (target / "capacity" / "data" / "districts" / "haizhu" / "projects.csv").is_file()
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("CAPACITY_DATA", "PYTHONPATH")}
    env["PYTHONPATH"] = str(target)
    code = (
        "import sys, capacity, capacity.cli; "
        f"assert capacity.__file__.startswith({str(target)!r}), capacity.__file__; "
        "sys.exit(capacity.cli.main(['run', '--out', 'out', '--quiet']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=empty, env=env)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in empty.iterdir()) == ["out"]
    assert (empty / "out" / "gap.csv").is_file()
    assert str(REPO) not in (empty / "out" / "meta.json").read_text(encoding="utf-8")
