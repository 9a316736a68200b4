"""``capacity init DIR``: a self-contained district folder to start from.

The template is a copy of an embedded district (Haizhu by default): every file the data
format needs, the projects inside the folder, and ``sources.csv`` naming the files as they
are in the new folder, so that it validates and runs as written. A ``README.md`` in the
folder says what to replace. The folder must not exist yet, or be empty: ``init`` never
overwrites or mixes with files it did not write.
"""

from __future__ import annotations

from pathlib import Path

from capacity.atomic import write_files
from capacity.errors import InputError
from capacity.resources import DEFAULT_DISTRICT, district_path

__all__ = ["write_template"]

_README = """\
# {name}: a district folder made by `capacity init`

This folder is a complete district in the format of `docs/data-format.md`, copied from
the embedded {source} district. It validates and runs as it is:

    capacity validate {folder}
    capacity run --district {folder}

Replace the files one by one with your district's figures, checking as you go with
`capacity validate`:

1. `district.toml`: name, code, base year, open age, sex ratio at birth, attribution.
2. `areas.geojson`: one polygon per area (street) with `area_code`, `name_zh`, `name_en`.
3. `population.csv`, `migration.csv`: every area x sex x age of the base year.
4. `fertility.csv`, `life_table.csv`: the rates.
5. `stages.csv`, `places.csv`, `projects.csv`: school stages, existing places, projects.
6. `plan.csv` (optional): the plan's needs and targets.
   `observed.csv` (optional): figures observed since the base year, checked by every run
   and fitted by `capacity calibrate` (delete it if you have none).
7. `sources.csv`: where every figure came from, and whether it is an estimate.
8. `history/` (optional, a folder): the district's past population by area x year x sex x
   age, to measure the forecasting methods (`capacity backtest {folder}/history`) and run
   a scenario with the one it chooses (`method`); see docs/data-format.md.

Files not named above (this README included) are not read.
"""


def write_template(folder: str | Path, source: str = DEFAULT_DISTRICT) -> Path:
    """Write a self-contained district folder to start a new district from.

    Parameters
    ----------
    folder : str or Path
        The folder to create; it must not exist, or be an empty folder.
    source : str
        The embedded district to copy (default ``haizhu``).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    InputError
        If ``folder`` is a file or a folder that is not empty, or ``source`` is not an
        embedded district.
    """
    out = Path(folder)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "a file" if not out.is_dir() else "a folder that is not empty"
        raise InputError.one(str(folder), "", "", f"expected a new or empty folder for the template, found {what}")
    src = district_path(source)
    if not (src / "district.toml").is_file():
        raise InputError.one(source, "", "", "expected the name of an embedded district (e.g. 'haizhu')")
    files: dict[str, bytes] = {p.name: p.read_bytes() for p in sorted(src.iterdir()) if p.is_file()}
    files["README.md"] = _README.format(name=out.name, source=source, folder=folder).encode("utf-8")
    write_files(out, files, last="README.md", option=str(folder))
    return out
