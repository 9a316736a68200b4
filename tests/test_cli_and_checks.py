"""Bad scenarios against a district, usage errors and resource bounds: one line, exit 2, nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import write_district

from capacity.cli import main

REPO = Path(__file__).resolve().parents[1]

# (label, scenario TOML, words the one line must hold)
AGAINST_DISTRICT = [
    ("negative delay before the base year", "[projects.delay]\nP1 = -15\n",
     ["key projects.delay.P1", "after the base year 2023", "found -15"]),
    ("every project delayed into the past", '[projects.delay]\n"*" = -10\n', ["key projects.delay.*", "found -10"]),
    ("opening year in the past", "[projects.opening_year]\nP1 = 1995\n",
     ["key projects.opening_year.P1", "after the base year 2023", "found 1995"]),
    ("added project opening in the base year", '[[projects.add]]\nproject_id = "N"\nstage = "primary"\nplaces = 90\n'
     'area_code = "990001001"\nopening_year = 2023\n', ["key projects.add[0].opening_year", "found 2023"]),
    ("age band beyond the open age", '[migration.scale_by_age]\n"0-200" = 2\n',
     ["key migration.scale_by_age.0-200", "expected ages within 0..20", "found 0-200"]),
    ("yield band beyond the open age", '[[housing.developments]]\narea_code = "990001001"\nyear = 2024\ndwellings = 10\n'
     '[housing.children_per_dwelling]\n"0-30" = [0.1]\n', ["key housing.children_per_dwelling.0-30", "0..20"]),
    ("development before the base year", '[[housing.developments]]\narea_code = "990001001"\nyear = 2022\n'
     'dwellings = 10\n[housing.children_per_dwelling]\n"0-5" = [0.1]\n',
     ["key housing.developments[0].year", "found 2022"]),
    ("horizon not after the base year", "horizon = 2023\n", ["key horizon", "found 2023"]),
]


@pytest.mark.parametrize("label,text,words", AGAINST_DISTRICT, ids=[c[0] for c in AGAINST_DISTRICT])
def test_scenario_against_district(tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, text: str,
                                   words: list[str]) -> None:
    folder = write_district(tmp_path / "d")
    scen = tmp_path / "bad.toml"
    scen.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(scen), "--district", str(folder), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(str(scen)), err
    for w in words:
        assert w in err[0], err[0]
    assert not out.exists()


def test_draws_beyond_memory_refused_at_once(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_district(tmp_path / "d")
    monkeypatch.setenv("CAPACITY_MEMORY_BYTES", str(2 * 2**30))
    out = tmp_path / "out"
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet", "--draws", "10000000000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--draws: expected at most about") and "10,000,000,000" in err[0]
    assert not out.exists()


@pytest.mark.parametrize("argv,words", [
    (["run", "--seed", "-1"], ["capacity run:", "--seed", "expected a whole number >= 0", "'-1'"]),
    (["run", "--draws", "abc"], ["capacity run:", "--draws", "'abc'"]),
    (["run", "--drws", "3"], ["capacity run: unrecognized arguments: --drws", "did you mean --draws?"]),
    (["compare", "a.toml", "--formt", "csv"], ["capacity compare:", "did you mean --format?"]),
    (["map", "--stage"], ["capacity map:", "--stage"]),
    (["nope"], ["capacity:", "invalid choice: 'nope'"]),
    ([], ["capacity: expected a command", "run"]),
], ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] != "capacity" else None)
def test_usage_errors_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], words: list[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1, err
    for w in words:
        assert w in err[0], err[0]
    assert captured.out == ""


def test_help_shows_the_subcommand_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: capacity run")


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    code = ("import sys\nfrom capacity.cli import main\n"
            f"sys.exit(main(['run', '--quiet', '--out', {str(tmp_path / 'out')!r}]))\n")
    proc = subprocess.run(f"{sys.executable} -c \"{code}\" | head -c 10", shell=True, capture_output=True,
                          text=True, cwd=REPO, executable="/bin/bash")
    assert proc.stderr == ""
    assert (tmp_path / "out" / "meta.json").is_file()


@pytest.mark.parametrize("where", ["district", "inside", "parent"])
def test_out_apart_from_the_district(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    folder = write_district(tmp_path / "d" / "demo")
    out = {"district": folder, "inside": folder / "out", "parent": tmp_path / "d"}[where]
    before = sorted((p, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file())
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("--out: expected an output folder apart from the input folder"), err
    assert sorted((p, p.read_bytes()) for p in tmp_path.rglob("*") if p.is_file()) == before


def test_run_keeps_other_files_in_out(tmp_path: Path) -> None:
    folder = write_district(tmp_path / "demo")
    out = tmp_path / "out"
    out.mkdir()
    for name in ("gap_map_baseline_primary_2025.png", "report.pdf", "NOTES.txt"):
        (out / name).write_bytes(b"kept " + name.encode())
    (out / "sweep").mkdir()
    assert main(["run", "--district", str(folder), "--out", str(out), "--quiet"]) == 0
    for name in ("gap_map_baseline_primary_2025.png", "report.pdf", "NOTES.txt"):
        assert (out / name).read_bytes() == b"kept " + name.encode()
    assert (out / "sweep").is_dir() and (out / "gap.csv").is_file()


def test_compare_refuses_parquet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_district(tmp_path / "demo")
    out = tmp_path / "out"
    assert main(["compare", "s1", "s2", "--district", str(folder), "--format", "parquet", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["--format: expected csv or netcdf for compare (parquet summaries are written by capacity run), "
                   "found 'parquet'"]
    assert not out.exists()
