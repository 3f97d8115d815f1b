"""YAML text before any parsing: the bytes of a file decoded, and what is refused without a parser.

A file is read only when it is a regular file under the size limit; UTF-16, binary content
and invalid UTF-8 are said as such, at the byte that fails. Control characters, absurd flow
nesting (`[[[[...`, which slows parsers down) and documents that certainly hold more values
than allowed are refused here, in a fraction of a second, before the parser builds anything.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from pathlib import Path

from reconciler.diagnostics import Diagnostic, Position, error

# Desired-state files are small; these bounds only stop hostile or broken input.
MAX_NODES = 100_000  # values after alias expansion (an "alias bomb" expands to billions)
MAX_DEPTH = 50
MAX_FILE_BYTES = 10 * 1024 * 1024

CONTROL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def read_text(path: Path, display: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[str | None, list[Diagnostic]]:
    """The file's text, or the diagnostics that say why it cannot be read as YAML text."""
    text, _, diagnostics = read_file(path, display, max_bytes)
    return text, diagnostics


def read_file(path: str | Path, display: str, max_bytes: int = MAX_FILE_BYTES
              ) -> tuple[str | None, str | None, list[Diagnostic]]:
    """(the file's text or None, the content hash of the bytes read or None, the diagnostics of reading it).

    The hash ("sha256:HEX") is of the very bytes decoded: a file is read once, for both.
    """
    raw, diagnostics = read_bytes(path, display, max_bytes)
    if raw is None:
        return None, None, diagnostics
    text, diagnostics = decode(raw, display)
    return text, content_hash(raw), diagnostics


def content_hash(raw: bytes) -> str:
    """The content hash of a file's bytes, "sha256:HEX"."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def read_bytes(path: str | Path, display: str, max_bytes: int = MAX_FILE_BYTES) -> tuple[bytes | None, list[Diagnostic]]:
    """The bytes of a regular file under the size limit, or the diagnostics that say why they are not read.

    One open, one fstat and, for a file that did not grow since, one read of its size and a byte
    (a warm re-plan reads thousands of files only to hash them: no buffered file object, no
    buffer of the limit's size).
    """
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO opens without waiting, refused below
    except OSError as exc:
        return None, [_unopened(path, display, exc)]
    try:
        found = os.fstat(handle)
        if not stat.S_ISREG(found.st_mode):  # a FIFO or /dev/zero would hang the tool or never end
            return None, [_special(display)]
        if found.st_size > max_bytes:
            return None, [_too_large(display, max_bytes)]
        raw = os.read(handle, found.st_size + 1)
        if len(raw) > found.st_size:  # it grew: read on, never more than the limit and one byte
            chunks, total = [raw], len(raw)
            while total <= max_bytes and (more := os.read(handle, max_bytes + 1 - total)):
                chunks.append(more)
                total += len(more)
            raw = b"".join(chunks)
    except OSError as exc:
        return None, [_unreadable(display, exc)]
    finally:
        os.close(handle)
    if len(raw) > max_bytes:
        return None, [_too_large(display, max_bytes)]
    return raw, []


def decode(raw: bytes, display: str) -> tuple[str | None, list[Diagnostic]]:
    """A file's bytes as text, or why they are not UTF-8 text (UTF-16, NUL bytes, the first byte that fails)."""
    where = Position(display)
    if raw[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"\x00" in raw[:4] and len(raw) >= 4 and (
            raw[1:4:2] == b"\x00\x00" or raw[0:4:2] == b"\x00\x00")):
        return None, [error(where, "schema", "not UTF-8 text: the file is UTF-16 (save the file as UTF-8)")]
    if b"\x00" in raw:
        return None, [error(where, "schema", "binary file (it contains NUL bytes), not YAML text")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError as exc:
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        line = raw.count(b"\n", 0, exc.start) + 1
        column = len(raw[line_start:exc.start].decode("utf-8", errors="replace")) + 1
        return None, [
            error(Position(display, line, column), "schema",
                  f"not UTF-8 text: byte 0x{raw[exc.start]:02x} cannot be decoded (save the file as UTF-8)")
        ]


def _unopened(path: str | Path, display: str, exc: OSError) -> Diagnostic:
    """Why a file did not open: a special file that refuses it (a socket) is said as such."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return _special(display)
    except OSError:
        pass
    return _unreadable(display, exc)


def _unreadable(display: str, exc: OSError) -> Diagnostic:
    return error(Position(display), "schema", f"cannot read file: {exc.strerror or exc}")


def _special(display: str) -> Diagnostic:
    return error(Position(display), "schema", "not a regular file (a directory, a FIFO or a device): not read")


def _too_large(display: str, max_bytes: int) -> Diagnostic:
    limit = f"{max_bytes // (1024 * 1024)} MiB" if max_bytes >= 1024 * 1024 else f"{max_bytes} bytes"
    return error(Position(display), "schema", f"file is larger than {limit}")


def is_blank(text: str) -> bool:
    """Nothing but white space and comments."""
    return all(not line.strip() or line.lstrip().startswith("#") for line in text.splitlines())


def too_many_values(max_nodes: int) -> str:
    return f"too many values: the document has more than {max_nodes} (a desired-state file has far fewer): " \
           "refusing to read it"


def _too_many_values(text: str, display: str, max_nodes: int) -> Diagnostic | None:
    """Refuse, in a fraction of a second, a document that certainly holds more than `max_nodes` values.

    libyaml counts the document's events without building anything. Each value is one event,
    a mapping or a list one more (its end), an alias one, plus four for the stream and the
    document: so the values are at least half of what remains once the aliases (at most one per
    `*`) are taken away. Anything the count cannot say is left to the exact path.
    """
    if len(text) <= 2 * max_nodes:  # a value takes two characters or more: it cannot hold more
        return None
    try:
        from yaml.cyaml import CParser

        events = CParser(text).raw_parse()
    except Exception:  # no libyaml, or a syntax error: the exact path says it in a partner's words
        return None
    if (events - 4 - text.count("*")) / 2 > max_nodes:
        return error(Position(display), "schema", too_many_values(max_nodes))
    return None


def _control_character(text: str, display: str) -> Diagnostic | None:
    found = CONTROL.search(text)
    if not found:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    return error(Position(display, line, column), "schema",
                 f"invalid YAML: control character U+{ord(found.group()):04X} is not allowed in YAML text")


HIDDEN_START = re.compile(r"['\"#]")
FLOW = re.compile(r"[\[\]{}]")
NOT_FLOW = bytes(range(256)).translate(None, b"[]{}")  # every byte but the flow indicators, to delete
CLOSE_AS_OPEN = bytes.maketrans(b"{}", b"[]")


def _flow_nesting_problem(text: str, display: str) -> Diagnostic | None:
    """Refuse absurd `[[[[...` nesting before the parser does: it slows down quadratically on it."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return None
    index = _too_deep_at(text)
    if index is None:
        return None
    line, column = text.count("\n", 0, index) + 1, index - text.rfind("\n", 0, index)
    return error(Position(display, line, column), "schema", f"nesting is too deep (more than {MAX_DEPTH} levels)")


def _too_deep_at(text: str) -> int | None:
    """Where flow nesting first goes past MAX_DEPTH, outside quotes and comments; None if it never does.

    A bound first, in C-speed string operations (`_depth_bound`): a big snapshot has tens of
    thousands of brackets and is never near the limit. Only a text the bound cannot clear is
    walked bracket by bracket, for the place to name.
    """
    segments = _visible(text)
    if _depth_bound(segments) <= MAX_DEPTH:
        return None
    depth = 0
    for offset, segment in segments:
        for found in FLOW.finditer(segment):
            if found.group() in "[{":
                depth += 1
                if depth > MAX_DEPTH:
                    return offset + found.start()
            else:
                depth = max(0, depth - 1)
    return None


def _visible(text: str) -> list[tuple[int, str]]:
    """The text outside its quoted strings and comments, as (offset, segment) pairs.

    A quote opens a string only after a space, a line start or a flow indicator, and `#` a
    comment only after a space or a line start; a string or comment left open runs to the end.
    """
    if "'" not in text and '"' not in text and "#" not in text:
        return [(0, text)]
    segments, search, start, position = [], HIDDEN_START.search, 0, 0
    while (found := search(text, position)) is not None:
        index = found.start()
        char, previous = text[index], text[index - 1] if index else "\n"
        if previous not in (" \t\n" if char == "#" else " \t\n[{,:"):
            position = index + 1
            continue
        segments.append((start, text[start:index]))
        end = text.find("\n" if char == "#" else char, index + 1)
        if end < 0:
            return segments
        start = position = end + 1
    segments.append((start, text[start:]))
    return segments


def _depth_bound(segments: list[tuple[int, str]]) -> int:
    """A depth the flow nesting of these segments, read in turn, never goes past (a closer at depth 0 does nothing).

    Only the brackets are kept (`]` and `}` alike close, as `[` and `{` open); each pass takes
    out every `[]` next to each other, the innermost level, until none is left. The depth is at
    most the passes made plus the openers never closed.
    """
    brackets = b"".join(segment.encode("utf-8", "surrogatepass").translate(CLOSE_AS_OPEN, NOT_FLOW)
                        for _, segment in segments)
    passes = 0
    while passes <= MAX_DEPTH:
        shorter = brackets.replace(b"[]", b"")
        if len(shorter) == len(brackets):
            break
        brackets, passes = shorter, passes + 1
    return passes + brackets.count(b"[")


def precheck(text: str, display: str, max_nodes: int | None) -> Diagnostic | None:
    """What is refused before parsing: an empty file, control characters, absurd nesting, too many values."""
    if is_blank(text):
        return error(Position(display), "schema", "file is empty: expected a mapping of settings")
    return (_control_character(text, display) or _flow_nesting_problem(text, display)
            or (max_nodes is not None and _too_many_values(text, display, max_nodes)) or None)
