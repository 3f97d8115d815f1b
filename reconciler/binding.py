"""Bind a parsed YAML document to a pydantic model, turning every error into a positioned diagnostic.

pydantic reports errors by location (`("pbxes", "acme", "licenses", "premuim")`); the
document's `Positions` turn that into file, line and column. Messages speak YAML, not
Python ("must be a whole number", not "int_type"), and unknown keys or values get a
"did you mean" hint from the names the model accepts at that place.
"""

from __future__ import annotations

import types
from typing import Annotated, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from reconciler.diagnostics import Diagnostic, error, quoted
from reconciler.yamlio import Document, dotted

M = TypeVar("M", bound=BaseModel)

ID_HINT = "use lowercase letters, digits and '-', starting with a letter or digit"
PATTERN_HINTS = {
    "email": "is not an e-mail address",
    "customer": f"is not a valid customer id: {ID_HINT}",
}


def bind(document: Document, model: type[M]) -> tuple[M | None, list[Diagnostic]]:
    """Validate the document's data against the model; (instance, []) or (None, diagnostics)."""
    try:
        return model.model_validate(document.data), []
    except ValidationError as exc:
        errors = _without_echoes(exc.errors(include_url=False))
        return None, [_translate(err, document, model) for err in errors]


def _without_echoes(errors: list[dict]) -> list[dict]:
    """Drop "missing 'company'" when the same mapping has an unknown key 'compnay': one mistake, one message."""
    import difflib  # errors only: a valid file does not pay for it

    unknown = {(tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden"}

    def echoed(e: dict) -> bool:
        if e["type"] != "missing":
            return False
        parent, name = tuple(e["loc"][:-1]), str(e["loc"][-1])
        return any(p == parent and difflib.get_close_matches(name, [key], n=1, cutoff=0.6) for p, key in unknown)

    return [e for e in errors if not echoed(e)]


def _translate(err: dict, document: Document, model: type[BaseModel]) -> Diagnostic:
    positions = document.positions
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")

    if loc and loc[-1] == "[key]":  # a bad key of a dict, e.g. a PBX name
        path = loc[:-1]
        key = path[-1] if path else ""
        return error(positions.key(path), "schema", _bad_key_message(key, path, err))

    name = dotted(loc)
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return error(positions.key(loc), "schema", f"unknown key {quoted(loc[-1])}{_hint(str(loc[-1]), allowed)}")
    if kind == "missing":
        parent = loc[:-1]
        where = positions.key(parent) if parent else positions.value(())
        inside = f" in '{dotted(parent)}'" if parent else ""
        return error(where, "schema", f"missing required key '{loc[-1]}'{inside}")

    # An empty value (`company:`) has no place of its own: the parser marks the next token. Point at the key.
    where = positions.key(loc) if value is None and loc else positions.value(loc)
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        if not loc:
            return error(where, "schema", f"the top level must be a mapping of settings (key: value), not {_describe(value)}")
        return error(where, "schema", f"'{name}' must be a mapping (key: value), not {_describe(value)}")
    if kind == "list_type":
        return error(where, "schema", f"'{name}' must be a list, not {_describe(value)}")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return error(where, "schema", f"'{name}' must be a whole number, not {_describe(value)}")
    if kind == "greater_than_equal":
        return error(where, "schema", f"'{name}' must be {err['ctx']['ge']} or more, not {value}")
    if kind == "less_than_equal":
        return error(where, "schema", f"'{name}' is {value}: more than the maximum of {err['ctx']['le']}")
    if kind in ("bool_type", "bool_parsing"):
        return error(where, "schema", f"'{name}' must be true or false, not {_describe(value)}")
    if kind in ("string_type",):
        quote = "" if value is None else " (quote it)"
        return error(where, "schema", f"'{name}' must be text, not {_describe(value)}{quote}")
    if kind in ("date_type", "date_parsing", "date_from_datetime_inexact"):
        return error(where, "schema", f"'{name}' must be a date (YYYY-MM-DD), not {_describe(value)}")
    if kind == "literal_error":
        allowed = _literal_values(model, loc)
        shown = ", ".join(repr(choice) for choice in allowed)
        close = _hint(str(value), [str(a) for a in allowed], list_all=False)
        return error(where, "schema", f"'{name}' must be one of {shown}, not {_describe(value)}{close}")
    if kind == "string_pattern_mismatch":
        field = str(loc[-1]) if loc else ""
        what = PATTERN_HINTS.get(field, f"has an invalid format: {ID_HINT}")
        return error(where, "schema", f"'{name}': {quoted(value)} {what}")
    if kind == "string_too_short":
        return error(where, "schema", f"'{name}' must not be empty")
    if kind == "string_too_long":
        return error(where, "schema", f"'{name}' is too long (at most {err['ctx']['max_length']} characters)")
    return error(where, "schema", f"'{name}': {err['msg']}")


# What the keys of a mapping are, by the mapping's name: (what a key is, how to write one).
KEY_KINDS = {
    "pinned": ("a valid serial", "use letters, digits and '-', starting with a letter or digit"),
    "hwaas": ("a product name", "it must not be empty"),
    "stock": ("a product name", "it must not be empty"),
}


def _bad_key_message(key, path, err) -> str:
    parent = dotted(path[:-1])
    owner = next((part for part in reversed(path[:-1]) if isinstance(part, str)), "")
    what, how = KEY_KINDS.get(owner, ("a valid name", ID_HINT))
    if err["type"] == "string_too_long":
        return f"{quoted(key)} in '{parent}' is too long (at most {err['ctx']['max_length']} characters)"
    return f"{quoted(key)} in '{parent}' is not {what}: {how}"


def _describe(value) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {quoted(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _hint(word: str, allowed: list[str], list_all: bool = True) -> str:
    """`: did you mean 'premium'?`, else the accepted names (unless the message lists them already)."""
    if not allowed:
        return ""
    import difflib

    # Short codes such as terms are too close to each other: '12m' is 1y, not '1m'.
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6) if len(word) >= 4 else []
    if close:
        return f": did you mean '{close[0]}'?"
    return f" (expected one of: {', '.join(allowed)})" if list_all else ""


def _unwrap(tp):
    """Strip Annotated and Optional: Annotated[int, ...] -> int, X | None -> X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(tp) if arg is not type(None)]
            if len(members) != 1:
                return tp
            tp = members[0]
        else:
            return tp


def _type_at(model: type[BaseModel], loc: tuple):
    """The annotation the model expects at a location, following fields, dict values and list items."""
    tp = model
    for part in loc:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = tp.model_fields.get(str(part))
            if field is None:
                return None
            tp = field.annotation
        elif get_origin(tp) is dict:
            tp = get_args(tp)[1]
        elif get_origin(tp) is list:
            tp = get_args(tp)[0]
        else:
            return None
    return _unwrap(tp)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    tp = _type_at(model, loc)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return list(tp.model_fields)
    return []


def _literal_values(model: type[BaseModel], loc: tuple) -> list:
    tp = _type_at(model, loc)
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    return []

