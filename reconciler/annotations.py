"""GitHub workflow annotations (`validate --format github`): each problem shown on its file's line in the PR.

GitHub Actions reads workflow commands from a step's output:
`::error file=F,line=L,col=C,title=T::message`. reconciler's severities map to GitHub's
levels (error, warning; info becomes `notice`), the rule id is the title, and values are
escaped as the Actions toolkit does (`%`, CR and LF in the message; `:` and `,` as well in
a property), so a message with a newline or a colon stays one annotation.
"""

from __future__ import annotations

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def _message(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _message(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: dict) -> str:
    """One diagnostic (its `to_dict()` form) as one workflow command line."""
    fields = [("file", diagnostic.get("file")), ("line", diagnostic.get("line")), ("col", diagnostic.get("column")),
              ("title", diagnostic.get("rule"))]
    properties = ",".join(f"{key}={_property(str(value))}" for key, value in fields if value is not None)
    level = LEVELS[diagnostic["severity"]]
    return f"::{level}{' ' + properties if properties else ''}::{_message(diagnostic['message'])}"
