"""Safe output writing (capacity.atomic): every file old-and-complete or new-and-complete."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from capacity import atomic
from capacity.errors import InputError

OLD = {"gap.csv": b"old gap\n" * 100, "schedule.csv": b"old schedule\n", "meta.json": b'{"run": "old"}\n'}
NEW = {"gap.csv": b"new gap\n" * 200, "schedule.csv": b"new schedule\n", "extra.csv": b"new extra\n",
       "meta.json": b'{"run": "new"}\n'}


class Crash(Exception):
    pass


def steps_of_a_write(tmp_path: Path) -> list[str]:
    seen: list[str] = []
    atomic.FAULT = seen.append
    try:
        atomic.write_files(tmp_path / "probe", NEW)
    finally:
        atomic.FAULT = None
    return seen


def test_steps_cover_every_file_and_meta_is_last(tmp_path: Path) -> None:
    steps = steps_of_a_write(tmp_path)
    assert steps[-2:] == ["replace meta.json", "done"]
    for name in NEW:
        assert [f"write {name}", f"sync {name}", f"replace {name}"] == [s for s in steps if s.endswith(f" {name}")]


def test_a_crash_at_any_step_leaves_each_file_old_or_new(tmp_path: Path) -> None:
    steps = steps_of_a_write(tmp_path)
    for k, step in enumerate(steps):
        out = tmp_path / f"out{k}"
        atomic.write_files(out, OLD)
        (out / "NOTES.txt").write_text("the user's own\n", encoding="utf-8")

        def crash(name: str, at: str = step) -> None:
            if name == at:
                raise Crash(at)

        atomic.FAULT = crash
        try:
            if step == "done":
                atomic.write_files(out, NEW)  # crash after everything is in place
            else:
                with pytest.raises(Crash):
                    atomic.write_files(out, NEW)
        except Crash:
            pass
        finally:
            atomic.FAULT = None
        for name in set(OLD) | set(NEW):
            path = out / name
            if path.exists():
                assert path.read_bytes() in (OLD.get(name), NEW.get(name)), (step, name)
            else:
                assert name not in OLD, (step, name)
        assert (out / "NOTES.txt").read_text(encoding="utf-8") == "the user's own\n"
        assert not [p for p in out.iterdir() if atomic.TMP_MARK in p.name], step
        # meta.json is new only once every other file is new
        if (out / "meta.json").read_bytes() == NEW["meta.json"]:
            assert all((out / n).read_bytes() == NEW[n] for n in NEW)


def test_leftovers_of_a_killed_run_are_removed_and_nothing_else(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / f"{atomic.TMP_MARK}123-0badcafe-gap.csv"
    leftover.write_bytes(b"half a fi")
    lookalike = out / ".capacity-tmp-notmine-gap.csv"
    lookalike.write_bytes(b"user")
    atomic.write_files(out, NEW)
    assert not leftover.exists()
    assert lookalike.read_bytes() == b"user"


def test_new_files_follow_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic.write_files(tmp_path / "a" / "out", {"x.csv": b"1\n"})
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "out" / "x.csv").stat().st_mode & 0o777 == 0o640
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o750


def test_callable_content_is_written_through_a_temporary_path(tmp_path: Path) -> None:
    seen: list[Path] = []

    def write(path: Path) -> None:
        seen.append(path)
        path.write_bytes(b"figure")

    atomic.write_files(tmp_path / "out", {"map.png": write})
    assert (tmp_path / "out" / "map.png").read_bytes() == b"figure"
    assert seen[0].parent == tmp_path / "out" and seen[0].name.startswith(atomic.TMP_MARK)
    assert seen[0].suffix == ".png"


@pytest.mark.parametrize("where", ["same", "inside", "contains"])
def test_output_folder_apart_from_the_district(tmp_path: Path, where: str) -> None:
    district = tmp_path / "d" / "district"
    district.mkdir(parents=True)
    (district / "district.toml").write_text("x", encoding="utf-8")
    out = {"same": district, "inside": district / "out", "contains": tmp_path / "d"}[where]
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with pytest.raises(InputError, match="expected an output folder apart from the input folder"):
        atomic.write_files(out, NEW, input_folders=[district])
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_output_may_not_replace_an_input_file(tmp_path: Path) -> None:
    scenario = tmp_path / "gap.csv"
    scenario.write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="do not replace the input file"):
        atomic.write_files(tmp_path, NEW, input_files=[scenario])
    assert scenario.read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize("name", ["../escaped.pdf", "sub/x.csv", "..", ""])
def test_names_cannot_leave_the_folder(tmp_path: Path, name: str) -> None:
    with pytest.raises(InputError, match="expected plain file names"):
        atomic.write_files(tmp_path / "out", {name: b"x"})
    assert not (tmp_path / "escaped.pdf").exists()


def test_a_file_as_output_folder_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "out"
    f.write_text("mine", encoding="utf-8")
    with pytest.raises(InputError, match="expected a folder for the outputs"):
        atomic.write_files(f, NEW)
    assert f.read_text(encoding="utf-8") == "mine"


@pytest.mark.slow
def test_kill_minus_9_leaves_every_file_old_or_new(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Real SIGKILLs of ``capacity run`` (``benchmarks/kill_run.py`` does 20 of --draws 2000)."""
    from benchmarks.kill_run import kill_test

    monkeypatch.chdir(tmp_path)
    tally = kill_test(kills=4, draws=300, seed=3, work=tmp_path)
    assert tally["kills"] == 4
    assert tally["torn files"] == tally["meta early"] == tally["left after next run"] == 0, tally
