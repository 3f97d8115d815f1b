"""The YAML 1.2 core schema: what a plain scalar means (`yes` is a string, `0o17` is 15, `2026-01-31` a date).

libyaml gives every scalar as text; this module resolves a plain scalar's tag as ruamel.yaml
resolves it under YAML 1.2 (the same patterns, in the same order) and builds its value.
"""

from __future__ import annotations

import datetime
import re
from functools import lru_cache
from typing import Callable

TAG = "tag:yaml.org,2002:"
STR, INT, FLOAT, BOOL, NULL, TIMESTAMP, MAP, SEQ, MERGE = (
    TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq", "merge"))

# For a plain scalar's first
# character, the tags it may have, each with the text it must match, in order.
_RESOLVERS = [
    (BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (FLOAT, r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
            r"|[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)", "-+0123456789."),
    (INT, r"[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+", "-+0123456789"),
    (MERGE, r"<<", "<"),
    (NULL, r"~|null|Null|NULL|", "~nN"),
    (TIMESTAMP, r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
                r"(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?"
                r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?", "0123456789"),
    (TAG + "value", r"=", "="),
]
_BY_FIRST: dict[str, list[tuple[str, re.Pattern]]] = {}
for _tag, _pattern, _firsts in _RESOLVERS:
    for _first in _firsts:
        _BY_FIRST.setdefault(_first, []).append((_tag, re.compile(_pattern)))
RESOLVABLE = frozenset(_BY_FIRST) | {""}  # a plain scalar starting otherwise is a string: no pattern to try
_TIMESTAMP = re.compile(r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})(?:(?:[Tt]|[ \t]+)"
                        r"(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]*))?"
                        r"(?:[ \t]*(?P<tz>Z|(?P<sign>[-+])(?P<tz_hour>[0-9]{1,2})(?::(?P<tz_minute>[0-9]{2}))?))?)?")
_BOOLS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False, "on": True, "off": False}


@lru_cache(maxsize=4096)  # a repo repeats its terms, models, dates and counts
def resolve(value: str) -> str:
    """The tag of a plain scalar in the YAML 1.2 core schema."""
    if not value:
        return NULL
    for tag, pattern in _BY_FIRST.get(value[0], ()):
        if pattern.fullmatch(value):
            return tag
    return STR


def _int(text: str) -> int:
    text = text.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    text = text[1:] if text[0] in "+-" else text
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text)


def _float(text: str) -> float:
    text = text.replace("_", "").lower()
    sign = -1 if text[0] == "-" else 1
    text = text[1:] if text[0] in "+-" else text
    if text == ".inf":
        return sign * float("inf")
    if text == ".nan":
        return float("nan")
    return sign * float(text)


def _timestamp(text: str) -> datetime.date:
    found = _TIMESTAMP.fullmatch(text)
    if found is None:
        raise ValueError(f"failed to construct timestamp from {text!r}")
    part = found.groupdict()
    year, month, day = int(part["year"]), int(part["month"]), int(part["day"])
    if part["hour"] is None:
        return datetime.date(year, month, day)
    digits = part["fraction"] or ""
    fraction = int(digits[:6].ljust(6, "0")) + (len(digits) > 6 and digits[6] > "4")  # rounded, as ruamel.yaml does
    carry, fraction = divmod(fraction, 1_000_000)
    zone = None
    if part["sign"]:
        offset = datetime.timedelta(hours=int(part["tz_hour"]), minutes=int(part["tz_minute"] or 0))
        zone = datetime.timezone(-offset if part["sign"] == "-" else offset, name=part["tz"])
    elif part["tz"] == "Z":
        zone = datetime.timezone(datetime.timedelta(0), name="Z")
    return datetime.datetime(year, month, day, int(part["hour"]), int(part["minute"]), int(part["second"]),
                             fraction, zone) + datetime.timedelta(seconds=carry)


CONSTRUCT: dict[str, Callable[[str], object]] = {
    NULL: lambda text: None, BOOL: lambda text: _BOOLS[text.lower()], INT: _int, FLOAT: _float,
    TIMESTAMP: _timestamp,
}


UNREADABLE = object()  # what `plain` gives for a scalar whose tag has no value here: the reader words why

MAX_NUMBER_CHARS = 20  # an integer longer than this is a typo or an attack, not a count


@lru_cache(maxsize=8192)  # a repo repeats its counts, dates and flags; each value is immutable: one serves all
def plain(text: str):
    """The value of a plain scalar: `text` itself for a string, else what its tag makes of it, or UNREADABLE
    (a number too long, a date that does not exist, a tag this reader has no value for)."""
    tag = resolve(text)
    if tag == STR:
        return text
    if (tag == INT or tag == FLOAT) and len(text.replace("_", "")) > MAX_NUMBER_CHARS:
        return UNREADABLE
    try:
        return CONSTRUCT[tag](text)
    except (ValueError, OverflowError, KeyError, IndexError):
        return UNREADABLE
