"""What the three converters share: the source folder, arguments and writing a history folder."""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from capacity.atomic import write_files
from capacity.forecast.history import validate_frames

#: The shared history data, relative to this repository (test and benchmark data only).
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "backtest"


def parse(argv: list[str] | None, description: str) -> argparse.Namespace:
    """``OUT [--source DIR]``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("out", metavar="OUT", help="history folder to write (outside the repository)")
    parser.add_argument("--source", default=str(SHARED), metavar="DIR",
                        help="folder of the shared backtest files (default ../shared/data/backtest)")
    return parser.parse_args(argv)


def _csv(frame: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, lineterminator="\n")
    return buffer.getvalue().encode("utf-8")


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def history_toml(settings: Mapping[str, object], stages: list[dict[str, object]]) -> str:
    """The text of ``history.toml``: top-level keys, then one ``[[stages]]`` table each."""
    lines = [f"{key} = {_toml_value(value)}" for key, value in settings.items()]
    for stage in stages:
        lines += ["", "[[stages]]"] + [f"{k} = {_toml_value(v)}" for k, v in stage.items()]
    return "\n".join(lines) + "\n"


def write_history(out: str | Path, settings: Mapping[str, object], stages: list[dict[str, object]],
                  tables: Mapping[str, pd.DataFrame]) -> Path:
    """Validate the tables against the history models and write the folder atomically.

    ``tables`` maps ``areas``, ``population``, ``births``, ``enrolment`` (the last three
    optional) to frames; ``history.toml`` is written last.
    """
    repo = Path(__file__).resolve().parents[2]
    target = Path(out).resolve()
    if target == repo or target.is_relative_to(repo):
        raise SystemExit(f"{out}: expected a folder outside the repository (the shared data are never copied into it)")
    validate_frames(dict(tables))
    files: dict[str, bytes] = {f"{name}.csv": _csv(frame) for name, frame in tables.items()}
    files["history.toml"] = history_toml(settings, stages).encode("utf-8")
    return write_files(out, files, last="history.toml")


Convert = Callable[[Path], tuple[dict[str, object], dict[str, pd.DataFrame]]]


def converter_main(description: str, convert: Convert, stages: list[dict[str, object]]) -> Callable[[list[str] | None], int]:
    """The ``main`` of a converter: ``OUT [--source DIR]``, convert the source, write the history folder."""

    def main(argv: list[str] | None = None) -> int:
        args = parse(argv, description)
        settings, tables = convert(Path(args.source))
        write_history(args.out, settings, stages, tables)
        print(f"wrote {args.out}")
        return 0

    return main
