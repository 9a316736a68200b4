"""A small TOML writer for scenario documents (strings, numbers, booleans, lists, tables).

Top-level values first, then one ``[table]`` per top-level table; deeper tables are
inline (``{ k = v }``), lists of tables are written as ``[[table.key]]`` arrays of tables
when they sit directly in a top-level table. The output reads back with :mod:`tomllib`
to the same document.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["dumps"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters (with DEL) escaped."""
    body = json.dumps(text, ensure_ascii=False)[1:-1]
    return '"' + body.replace("\x7f", "\\u007f") + '"'


def _key(key: str) -> str:
    return key if _BARE.match(key) else _string(key)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"TOML has no value for {v!r}")
        text = repr(v)
        return text if any(ch in text for ch in ".en") else text + ".0"
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def _is_tables(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def dumps(doc: dict[str, Any], header: str = "") -> str:
    """The document as TOML text, after an optional comment ``header`` (one ``#`` line each)."""
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    tables = {k: v for k, v in doc.items() if isinstance(v, dict)}
    lines += [f"{_key(k)} = {_value(v)}" for k, v in doc.items() if k not in tables]
    for name, table in tables.items():
        lines += ["", f"[{_key(name)}]"]
        arrays = {k: v for k, v in table.items() if _is_tables(v)}
        lines += [f"{_key(str(k))} = {_value(v)}" for k, v in table.items() if k not in arrays]
        for key, items in arrays.items():
            for item in items:
                lines += ["", f"[[{_key(name)}.{_key(str(key))}]]"]
                lines += [f"{_key(str(k))} = {_value(x)}" for k, x in item.items()]
    return "\n".join(lines) + "\n"
