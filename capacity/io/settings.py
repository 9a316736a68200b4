"""The district settings file, ``district.toml``: read, and its keys checked.

The keys and what each must hold are ``[district.keys]`` of ``schema.toml``; a key is
described like a column (:class:`capacity.io.schema.KeySpec`).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from capacity.errors import Problem
from capacity.io.cells import read_text

if TYPE_CHECKING:
    from capacity.io.schema import KeySpec, Schema

__all__ = ["check_keys", "read_settings"]


def read_settings(path: Path, shown: str, schema: Schema, problems: list[Problem], hashes: dict[str, str]) -> dict[str, Any]:
    """Read ``district.toml`` and check its keys.

    Parameters
    ----------
    path : Path
        The settings file.
    shown : str
        File name to put in problems.
    schema : Schema
        The input schema (its ``keys`` and ``district_file``).
    problems : list of Problem
        Receives everything wrong with the file.
    hashes : dict of str to str
        Receives the SHA-256 of the file, under ``schema.district_file``.

    Returns
    -------
    dict
        The keys that are valid, with their values.
    """
    if not path.is_file():
        problems.append(Problem(shown, "", "", "expected the district settings file, found none"))
        return {}
    text, problem = read_text(path, shown, hashes, schema.district_file)
    if problem is not None:
        problems.append(Problem(shown, problem.where.replace("row", "line"), "", problem.expected))
        return {}
    assert text is not None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        where = ""
        if "(at line " in message:
            tail = message.rsplit("(at line ", 1)[1]
            where = "line " + tail.split(",")[0].rstrip(")")
            message = message.rsplit(" (at line ", 1)[0]
        problems.append(Problem(shown, where, "", f"expected valid TOML, found: {message}"))
        return {}
    found = check_keys(doc, schema.keys, shown)
    problems.extend(found)
    bad = {p.where.removeprefix("key ") for p in found}
    return {k: v for k, v in doc.items() if k in schema.keys and k not in bad}


def check_keys(doc: Mapping[str, Any], keys: Mapping[str, KeySpec], file: str) -> list[Problem]:
    """Check the keys of a parsed TOML settings file against their specs.

    Parameters
    ----------
    doc : mapping
        The parsed document.
    keys : mapping of str to KeySpec
        The allowed keys.
    file : str
        File name to put in problems.

    Returns
    -------
    list of Problem
        Missing keys, unknown keys, wrong types and values out of range, in key order.
    """
    problems: list[Problem] = []
    for name, spec in keys.items():
        if name not in doc:
            if spec.required:
                problems.append(Problem(file, f"key {name}", "", f"expected {spec.describe()}, found no such key"))
            continue
        value = doc[name]
        desc = spec.describe()
        found = _toml_repr(value)
        if spec.type == "text":
            if not isinstance(value, str):
                problems.append(Problem(file, f"key {name}", "", f"expected {desc} (a quoted string), found {found}"))
            elif not spec.empty and value.strip() == "":
                problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found an empty string"))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            what = f"the text {found}" if isinstance(value, str) else found
            problems.append(Problem(file, f"key {name}", "", f"expected {desc} (unquoted), found {what}"))
            continue
        if spec.type == "integer" and not isinstance(value, int):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
            continue
        if isinstance(value, float) and not math.isfinite(value):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
            continue
        if not spec.admits(value):
            problems.append(Problem(file, f"key {name}", "", f"expected {desc}, found {found}"))
    for name in doc:
        if name not in keys:
            allowed = ", ".join(keys)
            problems.append(Problem(file, f"key {name}", "", f"expected only the keys {allowed}, found unknown key '{name}'"))
    return problems


def _toml_repr(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"
