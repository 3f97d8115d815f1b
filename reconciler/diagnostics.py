"""Diagnostics: problems found in the input, each with its rule id and, where known, a position.

Every stage collects diagnostics instead of raising at the first problem, so one run
reports everything (Terraform's tfdiags, octoDNS's collected validation reasons).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Position:
    """A place in a file; line and column are 1-based, as editors show them."""

    file: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Diagnostic:
    """A problem or remark, found in the input or by a rule: its severity, the rule id (RULES.md), the
    message and, where known, the file, line and column, the customer and the PBX it speaks of."""

    # The one diagnostic model: the loader, the rules and the plan document (reconciler.plan.model.Plan,
    # which pydantic validates and dumps as this dataclass) all carry this class.

    severity: Severity
    rule: str
    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    customer: str | None = None
    pbx: str | None = None

    @classmethod
    def at(cls, pos: Position | None, severity: Severity, rule: str, message: str, **where) -> Diagnostic:
        if pos is None:
            return cls(severity, rule, message, **where)
        return cls(severity, rule, message, file=pos.file, line=pos.line, column=pos.column, **where)

    def sort_key(self) -> tuple:
        return (self.file or "", self.line or 0, self.column or 0, self.rule, self.message)

    def format(self) -> str:
        """`file:line:column: severity[rule]: message`, the form compilers and editors read."""
        from reconciler.render.escape import visible  # a newline in a file name must not forge a line

        place = ""
        if self.file:
            place = visible(self.file)
            if self.line is not None:
                place += f":{self.line}"
                if self.column is not None:
                    place += f":{self.column}"
            place += ": "
        return f"{place}{self.severity.value}[{self.rule}]: {visible(self.message)}"

    def row(self) -> tuple:
        """Plain data for another process or the cache (JSON, marshal): the severity's value, then each field."""
        return (self.severity.value, self.rule, self.message, self.file, self.line, self.column, self.customer,
                self.pbx)

    @classmethod
    def from_row(cls, row) -> Diagnostic:
        """The diagnostic `row()` gave; ValueError (or TypeError) for anything else."""
        severity, rule, message, file, line, column, customer, pbx = row
        return cls(Severity(severity), rule, message, file, line, column, customer, pbx)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["severity"] = self.severity.value
        return {key: value for key, value in data.items() if value is not None}


QUOTE_LIMIT = 40  # characters of an unexpected value a message quotes: enough to find it, never a whole file


def quoted(value, limit: int = QUOTE_LIMIT) -> str:
    """An unexpected value as a message quotes it: `'abc'`, or its first characters when it is long.

    A message must identify the value, not echo it: a 5 MB string, or a line of a file that was
    never meant to be read, is cut to a short prefix and its length.
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text):,} characters)"


def error(pos: Position | None, rule: str, message: str, **where) -> Diagnostic:
    return Diagnostic.at(pos, Severity.ERROR, rule, message, **where)


def has_errors(diagnostics) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)


def sorted_diagnostics(diagnostics) -> list[Diagnostic]:
    return sorted(diagnostics, key=Diagnostic.sort_key)


class ReconcilerError(Exception):
    """A failure the user can act on; the CLI prints it and exits 1, never a traceback."""

    def __init__(self, message: str, diagnostics: list[Diagnostic] | None = None):
        super().__init__(message)
        self.diagnostics = diagnostics or []
