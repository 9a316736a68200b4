"""Pydantic's validation errors as one-line problems, for every TOML format and a District's attributes.

:func:`key_problems` is the one translation of the errors of a pydantic model -- of ``district.toml``, a scenario file,
``history.toml`` or a District's attributes -- into :class:`~capacity.errors.Problem` s naming the key as written
(``projects.add[0].places``), what was expected and what was found. Union tags (``Tag("@normal")``) and ``[key]`` are
parts of an error's location, not of a key. Importing this module is cheap (no pandera).
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from capacity.errors import Problem

__all__ = ["EXPECTED", "TEMPLATES", "fmt", "key_problems"]

#: What an error of each pydantic type expected, in words (``{ge}``, ``{expected}`` ...: from the error's context). The models
#: are strict: a number is never parsed from a text, nor an integer taken from a float.
EXPECTED = {
    "missing": "a value (required)", "bool_type": "true or false", "string_type": "a text string",
    "string_pattern_mismatch": "a non-empty text", "float_type": "a number", "finite_number": "a finite number",
    "int_type": "a whole number", "dict_type": "a table", "model_type": "a table", "list_type": "a list",
    "too_short": "a non-empty list", "literal_error": "one of {expected}", "greater_than_equal": "a number >= {ge}",
    "greater_than": "a number > {gt}", "less_than_equal": "a number <= {le}", "less_than": "a number < {lt}",
}
#: How a problem reads, by error type (else ``default``): ``unquoted`` is a text given for a number, ``found`` a validator's
#: words that already say what was found. A format may word some of them its own way (``key_problems(templates=...)``).
TEMPLATES = {
    "default": "expected {expected}, found {found}", "missing": "expected {expected}, found no such key",
    "extra_forbidden": "expected one of the keys {keys}, found {found}", "unquoted": "expected {expected} (unquoted), found {found}",
    "found": "expected {expected}",
}
_NUMBERS = ("int_type", "float_type")

def fmt(value: float) -> str:
    """A number as written in messages: ``3``, not ``3.0``."""
    return f"{value:.15g}"


def key_problems(errors: Iterable[ErrorDetails], file: str, model: type[BaseModel], noun: str = "key",
                 templates: Mapping[str, str] | None = None) -> list[Problem]:
    """One problem per pydantic error, in the errors' order: ``file, key fertility.multiplier: expected ..., found ...``.

    Parameters
    ----------
    errors : iterable of pydantic_core.ErrorDetails
        ``ValidationError.errors()`` of ``model``.
    file : str
        The file (or ``"District"``) named in problems.
    model : type of pydantic.BaseModel
        The model validated. The table at an error's location gives the keys it allows; a field's ``description``, if it
        has one, says what was expected instead of the words of the error's type (:data:`EXPECTED`).
    noun : str
        What the document's names are: ``"key"`` (TOML) or ``"attribute"``.
    templates : mapping of str to str, optional
        A format's own wording of some problems, over :data:`TEMPLATES`.
    """
    words = TEMPLATES | dict(templates or {})
    problems = []
    for error in errors:
        loc, kind, value = tuple(error["loc"]), error["type"], error.get("input")
        ctx = {k: fmt(v) if isinstance(v, int | float) else v for k, v in error.get("ctx", {}).items()}
        models = _models(_node(model, loc[:-1]))
        field = next((m.model_fields[str(loc[-1])] for m in models if loc and loc[-1] in m.model_fields), None)
        if kind == "value_error":
            expected = str(ctx["error"])
        elif field is not None and field.description:
            expected = field.description
        else:
            expected = EXPECTED[kind].format(**ctx) if kind in EXPECTED else error["msg"][:1].lower() + error["msg"][1:]
        form = "found" if kind == "value_error" and ", found " in expected else "unquoted" if isinstance(value, str) and kind in _NUMBERS else kind
        text = words.get(form, words["default"]).format(expected=expected, keys=", ".join(models[0].model_fields) if models else "",
                                                        found=_shown(loc[-1] if kind == "extra_forbidden" else value))
        problems.append(Problem(file, f"{noun} {_key(loc)}", "", re.sub(r"\s+", " ", text)))
    return problems


def _key(loc: tuple[int | str, ...]) -> str:
    """``("projects", "add", 0, "places")`` -> ``projects.add[0].places``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]" and not part.startswith("@"):
            out += f".{part}" if out else part
    return out


def _shown(value: Any) -> str:
    if isinstance(value, dict | list):
        return "a table" if isinstance(value, dict) else "a list"
    return "an empty string" if isinstance(value, str) and not value.strip() else repr(value)


def _leaves(annotation: Any, tag: str | None = None) -> Iterator[tuple[str | None, Any]]:
    """The alternatives of a type, through ``Annotated`` and unions, each with its union tag (or None)."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        yield from _leaves(base, next((m.tag for m in meta if isinstance(m, Tag)), tag))
    elif typing.get_origin(annotation) in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _leaves(arg, tag)
    else:
        yield tag, annotation


def _models(annotation: Any) -> list[type[BaseModel]]:
    return [t for _, t in _leaves(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _node(model: type[BaseModel], loc: tuple[int | str, ...]) -> Any:
    """The type at ``loc`` in ``model``: through a table's fields, a list's items, a table's values and union tags."""
    node: Any = model
    for part in loc:
        holder = next((m for m in _models(node) if part in m.model_fields), None)
        if holder is not None:
            node = holder.model_fields[str(part)].annotation
        elif isinstance(part, str) and part.startswith("@"):
            node = next((t for tag, t in _leaves(node) if tag == part), None)
        else:
            container = list if isinstance(part, int) else dict
            node = next((typing.get_args(t)[-1] for _, t in _leaves(node) if typing.get_origin(t) is container), None)
    return node
