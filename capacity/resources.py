"""Data shipped with the package: the embedded districts and the example scenarios.

Everything here is package data (``capacity/data/``), so it is found the same way in a
checkout, an editable install and a wheel installed from PyPI; nothing is looked up
relative to the current folder or the repository.

- ``capacity/data/districts/<name>/``: complete, self-contained district folders in the
  data format of ``docs/data-format.md`` (the default is ``haizhu``);
- ``capacity/data/scenarios/<name>.toml``: the example scenarios, which a command line
  may name without a path (``capacity run low_fertility``).

Setting the environment variable ``CAPACITY_DATA`` to a folder holding ``districts/`` (and
optionally ``scenarios/``) makes the package read those instead.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = [
    "DATA_ENV",
    "DEFAULT_DISTRICT",
    "data_root",
    "display_path",
    "district_path",
    "scenario_names",
    "scenario_path",
]

#: Environment variable naming a data folder to use instead of the package's own.
DATA_ENV = "CAPACITY_DATA"

#: The district used when none is given.
DEFAULT_DISTRICT = "haizhu"


def _package_data() -> Path:
    root = resources.files("capacity").joinpath("data")
    # installed packages live on the file system (setuptools does not zip them)
    return Path(str(root))


def data_root() -> Path:
    """The folder holding ``districts/`` and ``scenarios/``.

    Returns
    -------
    Path
        ``$CAPACITY_DATA`` if set, else the package's ``data`` folder.
    """
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else _package_data()


def district_path(name: str = DEFAULT_DISTRICT) -> Path:
    """The folder of an embedded district.

    Parameters
    ----------
    name : str
        District folder name (default ``haizhu``).

    Returns
    -------
    Path
    """
    return data_root() / "districts" / name


def scenario_names() -> tuple[str, ...]:
    """Names of the shipped scenarios (file stems), sorted.

    Returns
    -------
    tuple of str
    """
    folder = _package_data() / "scenarios"
    return tuple(sorted(p.stem for p in folder.glob("*.toml")))


def scenario_path(name: str) -> Path:
    """The file of a shipped scenario.

    Parameters
    ----------
    name : str
        Scenario name, the file stem (``baseline``, ``low_fertility``); a trailing
        ``.toml`` is allowed.

    Returns
    -------
    Path
        The file (which exists only if ``name`` is among :func:`scenario_names`).
    """
    stem = name.removesuffix(".toml")
    env = os.environ.get(DATA_ENV)
    if env and (Path(env) / "scenarios" / f"{stem}.toml").is_file():
        return Path(env) / "scenarios" / f"{stem}.toml"
    return _package_data() / "scenarios" / f"{stem}.toml"


def display_path(path: str | Path) -> str:
    """A path as outputs record it, without the layout of this machine.

    Files shipped with the package are shown from the package (``capacity/data/...``);
    other paths relative to the current folder when they lie inside it, else as given.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    str
    """
    given = Path(path)
    resolved = given.resolve()
    package = _package_data().resolve()
    if resolved.is_relative_to(package):
        return (Path("capacity") / "data" / resolved.relative_to(package)).as_posix()
    if given.is_absolute() and resolved.is_relative_to(Path.cwd().resolve()):
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    return given.as_posix()
