"""Writing outputs safely: each file whole or not at all, never a user's file touched.

Every command that writes files goes through :func:`write_files`:

1. the output folder is checked against the inputs: it may not be, contain or sit inside
   the district folder, and no output may replace an input file (exit status 2);
2. leftover temporary files of an earlier run that was killed are removed (only files
   whose names this module makes: ``.capacity-tmp-<pid>-<random>-<name>``, which keep the
   name's extension for writers that go by it);
3. each file is written to a temporary file in the output folder, flushed, ``fsync`` ed and
   renamed over its final name (``os.replace``, atomic on POSIX and Windows), so that at
   every moment each output is either its previous complete version or the new one;
4. the record of the run (``meta.json``) is written last, then the folder is ``fsync`` ed.

Files in the output folder that the command does not write are never read, moved or
deleted. New files and folders get the user's umask.

Tests inject faults with :data:`FAULT`: a callable run at each step (``"write <name>"``,
``"sync <name>"``, ``"replace <name>"``, ``"done"``) that may raise to simulate a crash.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypedDict

from capacity.errors import InputError

__all__ = ["FAULT", "TMP_MARK", "InputPaths", "check_output_folder", "remove_leftovers", "write_files"]

#: Starts the names of this module's temporary files: ``.capacity-tmp-<pid>-<hex>-<name>``.
TMP_MARK = ".capacity-tmp-"
_LEFTOVER = re.compile(r"^\.capacity-tmp-\d+-[0-9a-f]{8}-.+$")

#: Fault-injection hook for tests (``None`` in normal use).
FAULT: Callable[[str], None] | None = None

class InputPaths(TypedDict):
    """What a run read, to keep its outputs apart from (see :func:`check_output_folder`)."""

    input_folders: list[Path]
    input_files: list[Path]


#: What a file of the output is: its bytes, or a function that writes it to a given path.
Content = bytes | Callable[[Path], None]


def _step(name: str) -> None:
    if FAULT is not None:
        FAULT(name)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def check_output_folder(out_dir: str | Path, names: Iterable[str], *,
                        input_folders: Iterable[str | Path] = (), input_files: Iterable[str | Path] = (),
                        option: str = "--out") -> Path:
    """Refuse an output folder that would put inputs at risk.

    Parameters
    ----------
    out_dir : str or Path
        The output folder (it may not exist yet).
    names : iterable of str
        The file names about to be written into it.
    input_folders : iterable of path
        Folders read by the run (the district): the output folder may not be one of them,
        sit inside one, or contain one.
    input_files : iterable of path
        Files read by the run (scenarios): none may be among the outputs.
    option : str
        The option that named the folder, for the message.

    Returns
    -------
    Path
        The output folder, resolved.

    Raises
    ------
    InputError
        Naming the option, the folder and the input it collides with.
    """
    out = Path(out_dir).resolve()
    if out.exists() and not out.is_dir():
        raise InputError.one(option, "", "", f"expected a folder for the outputs, found the file {out_dir}")
    for folder in input_folders:
        f = Path(folder).resolve()
        if _inside(out, f) or _inside(f, out):
            raise InputError.one(option, "", "", f"expected an output folder apart from the input folder {folder}, found {out_dir}")
    targets = {(out / name).resolve() for name in names}
    for file in input_files:
        if Path(file).resolve() in targets:
            raise InputError.one(option, "", "", f"expected outputs that do not replace the input file {file}, found {out_dir}")
    for name in names:
        if Path(name).name != name or name in ("", ".", ".."):
            raise InputError.one(option, "", "", f"expected plain file names inside {out_dir}, found {name!r}")
    return out


def remove_leftovers(folder: Path) -> list[str]:
    """Delete the temporary files that a killed run of this module left in ``folder``.

    Parameters
    ----------
    folder : Path

    Returns
    -------
    list of str
        The names removed.
    """
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if _LEFTOVER.match(path.name) and path.is_file() and not path.is_symlink():
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path.name)
    return sorted(removed)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_one(folder: Path, name: str, content: Content, mode: int) -> None:
    tmp = folder / f"{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}-{name}"
    try:
        _step(f"write {name}")
        if isinstance(content, bytes):
            with open(tmp, "xb") as fh:
                fh.write(content)
                fh.flush()
                _step(f"sync {name}")
                os.fsync(fh.fileno())
        else:
            content(tmp)
            _step(f"sync {name}")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        _step(f"replace {name}")
        os.replace(tmp, folder / name)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_files(out_dir: str | Path, files: Mapping[str, Content], *, last: str | None = "meta.json",
                input_folders: Iterable[str | Path] = (), input_files: Iterable[str | Path] = (),
                option: str = "--out") -> Path:
    """Write output files into a folder, each atomically, ``last`` at the end.

    Parameters
    ----------
    out_dir : str or Path
        The output folder; created (with parents) if missing.
    files : mapping of str to bytes or callable
        File name -> content, or a function writing the file to the path it is given.
    last : str, optional
        The file written after all others (the record of a complete run).
    input_folders, input_files, option
        See :func:`check_output_folder`.

    Returns
    -------
    Path
        The output folder as given.

    Raises
    ------
    InputError
        If the folder would put an input at risk (nothing is written).
    """
    folder = check_output_folder(out_dir, files, input_folders=input_folders, input_files=input_files, option=option)
    folder.mkdir(parents=True, exist_ok=True)
    remove_leftovers(folder)
    mode = 0o666 & ~_umask()
    order = [n for n in files if n != last] + [n for n in files if n == last]
    for name in order:
        _write_one(folder, name, files[name], mode)
    _fsync_dir(folder)
    _step("done")
    return Path(out_dir)
