"""User data cannot change what a reviewer sees: names are escaped for the terminal and for a GitHub comment.

A pull request writes company names, contact names and file names. Rendered through a
CommonMark renderer with GitHub's tables (markdown-it-py), the comment shows each name
exactly as written and every step of the plan; in a terminal no control character,
C1 control or bidi override of user data arrives raw.
"""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser

import pytest
from hypothesis import example, given, settings, strategies as st
from markdown_it import MarkdownIt

from reconciler.cli import main
from reconciler.diagnostics import Diagnostic, Severity
from reconciler.render import RENDERERS
from reconciler.render.escape import escaped, markdown, visible, visible_document
from tests.conftest import EXAMPLES, examples

TODAY = "2026-11-22"
HOSTILE_COMPANIES = {  # a customer the plan creates: its company is in the plan's first step
    "initech": "Initech <!-- hide what follows </details></summary><details><summary>*Intl* & `code` "
               "@octocat [x](https://evil.example) ~~gone~~ $x$ | _under_ \\*",
}
HOSTILE_CONTACT = "Eve \x1b[2J\x1b[31mRED\u202egnp.exe\x9b"


class _Text(HTMLParser):
    """The text a browser shows of some HTML, comments left out (as a browser leaves them out)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.comments: list[str] = []

    def handle_data(self, data):
        self.parts.append(data)

    def handle_comment(self, data):
        self.comments.append(data)


def shown(html: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(html)
    parser.close()
    return "".join(parser.parts).replace("\u200b", ""), parser.comments


def gfm(text: str) -> str:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(text)


@pytest.fixture
def hostile_repo(tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "new-cloud-customer", repo)
    for customer, company in HOSTILE_COMPANIES.items():
        path = repo / "customers" / f"{customer}.yaml"
        text = path.read_text(encoding="utf-8")
        start = text.index("company:")
        end = text.index("\n", start)
        text = text[:start] + f"company: {json.dumps(company)}" + text[end:]
        text = text.replace("name: Marco Bianchi", f"name: {json.dumps(HOSTILE_CONTACT)}")
        path.write_text(text, encoding="utf-8")
    return repo


def _plan(capsys, repo, fmt):
    code = main(["plan", str(repo), "--today", TODAY, "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_the_comment_shows_every_name_exactly_and_every_step(hostile_repo, capsys):
    document = json.loads(_plan(capsys, hostile_repo, "json"))
    assert len(document["steps"]) >= 4
    comment = _plan(capsys, hostile_repo, "markdown")
    html = gfm(comment)
    text, comments = shown(html)
    assert comments == [f" reconciler-plan:{hostile_repo} "]  # the marker only: no `<!--` of a name hides steps
    for company in HOSTILE_COMPANIES.values():
        assert company in text
    assert visible(HOSTILE_CONTACT) in text
    assert "<em>" not in html and "<del>" not in html and "<a " not in html and "<code>code</code>" not in html
    rows = html.count("<tr>") - html.count("<thead>") * 1
    assert rows == len(document["steps"]) + 1  # each step's row, and the summary table's one row
    assert html.count("<details") == html.count("</details>") == 1  # the renderer's own section only
    for step in document["steps"]:
        assert f'<td style="text-align:right">{step["id"]}</td>' in html


def test_the_terminal_gets_no_raw_control_character(hostile_repo, capsys):
    out = _plan(capsys, hostile_repo, "text")
    assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
    assert "Eve \\x1b[2J\\x1b[31mRED\\u202egnp.exe\\x9b" in out


@pytest.mark.parametrize("raw, seen", [
    ("a\nb", "a\\nb"), ("\x1b[31m", "\\x1b[31m"), ("\x85", "\\x85"), ("x\u202ey", "x\\u202ey"),
    ("zero\u200bwidth", "zero\\u200bwidth"), ("caf\u00e9 ok", "caf\u00e9 ok"),
])
def test_visible(raw, seen):
    assert visible(raw) == seen


def test_markdown_escapes_markup_but_reads_as_itself():
    for raw in ("<!--", "</details>", "*Intl*", "`x`", "a | b", "@team", "1 & 2", "[a](b)", "~~s~~", "$x$"):
        html = gfm(f"| a |\n| --- |\n| {markdown(raw)} |\n\n- {markdown(raw)}\n")
        text, comments = shown(html)
        assert comments == [] and text.count(raw) == 2, (raw, html)
        assert "<em>" not in html and "<a " not in html and "<code>" not in html and "<del>" not in html


def test_a_newline_in_a_file_name_cannot_forge_a_diagnostic_line():
    forged = "x.yaml\nother.yaml:1:1: error[schema]: forged"
    line = Diagnostic(Severity.ERROR, "schema", "bad \x1b[2K value", file=forged, line=2, column=3).format()
    assert "\n" not in line and "\x1b" not in line
    assert line == "x.yaml\\nother.yaml:1:1: error[schema]: forged:2:3: error[schema]: bad \\x1b[2K value"


def test_the_failure_comment_escapes_file_names_and_messages():
    from reconciler.render.markdown import render_failure

    comment = render_failure("nothing <!-- planned", [{"severity": "error", "rule": "schema",
                                                       "message": "bad `x` </details>", "file": "a_*b*_.yaml",
                                                       "line": 1, "column": 2}])
    text, comments = shown(gfm(comment))
    assert comments == []
    assert "nothing <!-- planned" in text and "a_*b*_.yaml:1:2 bad `x` </details>" in text


def test_json_keeps_the_data_as_it_is(hostile_repo, capsys):
    document = json.loads(_plan(capsys, hostile_repo, "json"))
    companies = {s["changes"]["company"] for s in document["steps"] if s["action"] == "create-customer"}
    assert companies <= set(HOSTILE_COMPANIES.values()) and companies


def test_the_due_view_gets_no_raw_control_character():
    from reconciler.render.due import render as render_due

    step = {"id": 1, "customer": "acme", "pbx": None, "action": "create-customer", "status": "blocked",
            "changes": {"company": [None, "Acme \x1b[2J\u202eGmbH"]}, "not_before": "2026-12-01", "rules": []}
    out = render_due({"today": TODAY, "timezone": "UTC", "steps": [step]})
    assert "\x1b" not in out and "\u202e" not in out
    assert "Acme \\x1b[2J\\u202eGmbH" in out


_names = st.text(st.characters(exclude_categories=("Cs",)), max_size=8)  # any character user data can hold
_documents = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | _names,
                          lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4),
                          max_leaves=20).map(lambda value: {"steps": value})


@settings(max_examples=examples(300))
@given(_documents)
@example({"steps": [{"company": "Eve \x1b[2J", "line": "a\u2028b", "c1": "\x9b", "bom": "\ufeff", "del": "\x7f"}]})
@example({"steps": [{"quote": 'say "hi"', "slash": "C:\\path"}]})  # a backslash in JSON: the walk decides
@example({"steps": {"big": 2**70}})  # not what orjson writes: the walk
def test_the_terminal_view_of_a_document_is_the_walk_that_escapes_every_string(doc):
    assert visible_document(doc) == escaped(doc, visible)


def test_a_document_with_nothing_to_escape_is_not_copied():
    doc = {"steps": [{"company": "Acme Wholesale", "licenses": {"premium": 3}, "note": "é ü 中"}]}
    assert visible_document(doc) is doc
