"""The plan as a pull-request comment: within GitHub's size limit, and in the job's step summary."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from reconciler.cli import COMMENT_LIMIT, main
from reconciler.config import Policy
from reconciler.plan.planner import plan
from reconciler.render.markdown import render, size
from tests.test_plan_support import CURRENT_PBX, DESIRED_PBX, customer_file, merged, snapshot

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
LAST_DAY = dt.date(2026, 11, 30)  # license decreases are blocked today: those customers need attention


@pytest.fixture(scope="module")
def five_thousand() -> dict:
    """A real plan of 5,000 changed customers: most add licenses; every 50th removes some, which is blocked today."""
    desired, current = [], {}
    for n in range(5000):
        name = f"customer-{n:04}"
        essential = 20 if n % 50 == 0 else 31 + n % 7
        desired.append(customer_file(name, pbxes={name: merged(DESIRED_PBX, licenses={**CURRENT_PBX["licenses"], "essential": essential})}))
        current[name] = {name: merged(CURRENT_PBX, serial=f"SW-{n:08}")}
    return plan(desired, snapshot(current, as_of=LAST_DAY.isoformat()), LAST_DAY, Policy()).model_dump(mode="json")


def test_five_thousand_customers_fit_a_comment_keeping_those_that_need_attention(five_thousand):
    full = render(five_thousand)
    assert size(full) > 10 * COMMENT_LIMIT  # the whole plan would not fit: the limit has work to do

    comment = render(five_thousand, limit=COMMENT_LIMIT)
    assert size(comment) <= COMMENT_LIMIT
    summary = comment[:comment.index("<details")]
    assert "| 5000 | 5000 | 4900 | 100 | 0 | 0 |" in summary  # customers, steps, ready, blocked, manual, errors
    kept = re.findall(r"<summary><b>(customer-\d+)</b>", comment)
    blocked = [f"customer-{n:04}" for n in range(0, 5000, 50)]
    assert set(blocked) <= set(kept)  # every customer with a blocked step is shown
    assert kept == sorted(kept)  # in the plan's order
    left_out = re.search(r"\*\*(\d+) customers \((\d+) steps\) left out\*\*", comment)
    assert left_out and int(left_out[1]) == 5000 - len(kept) and int(left_out[2]) == 5000 - len(kept)
    assert "The full plan is in the JSON plan" in comment


def test_attention_comes_first_even_when_it_alone_overflows(five_thousand):
    comment = render(five_thousand, limit=20_000)
    assert size(comment) <= 20_000
    kept = re.findall(r"<summary><b>(customer-\d+)</b>", comment)
    assert kept and all(int(name[-4:]) % 50 == 0 for name in kept)  # only blocked ones: no room for the rest


def test_a_plan_within_the_limit_is_left_whole(five_thousand):
    steps = five_thousand["steps"][:3]
    names = {step["customer"] for step in steps}
    doc = {**five_thousand, "steps": steps,
           "diagnostics": [d for d in five_thousand["diagnostics"] if d["customer"] in names]}
    assert render(doc, limit=COMMENT_LIMIT) == render(doc)
    assert "left out" not in render(doc, limit=COMMENT_LIMIT)


def test_size_counts_as_github_does():
    assert size("abc") == 3 and size("⚠️") == 2 and size("✂️") == 2 and size("🗓️") == 3


def test_plan_appends_its_markdown_to_the_github_step_summary(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hwaas-orders-returns", repo)
    summary = tmp_path / "summary.md"
    summary.write_text("## an earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo)
    assert main(["plan", "--today", "2026-11-22", "--format", "json"]) == 0
    out = capsys.readouterr().out
    text = summary.read_text()
    assert text.startswith("## an earlier step\n<!-- reconciler-plan:. -->\n## reconciler plan for 2026-11-22 (UTC)")
    assert "<b>stark</b>: 4 steps (2 ready, 1 blocked, 1 manual)" in text
    assert out.startswith("{")  # stdout is still the JSON plan asked for

    assert main(["plan", "--today", "2026-11-22", "--format", "markdown"]) == 0
    assert summary.read_text().count("## reconciler plan for") == 2  # appended, never overwritten


def test_no_step_summary_without_the_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.chdir(EXAMPLES / "hwaas-orders-returns")
    assert main(["plan", "--today", "2026-11-22"]) == 0
    assert list(tmp_path.iterdir()) == []


def test_comment_limit_flag_trims_the_markdown_on_stdout(capsys, monkeypatch):
    monkeypatch.chdir(EXAMPLES / "costs")
    assert main(["plan", "--format", "markdown", "--comment-limit", "1500"]) == 0
    trimmed = capsys.readouterr().out
    assert size(trimmed) <= 1500 and "left out** to keep this comment within 1,500 characters" in trimmed
    assert main(["plan", "--format", "markdown", "--comment-limit", "0"]) == 0
    assert "left out" not in capsys.readouterr().out
    assert main(["plan", "--format", "markdown", "--comment-limit", "-1"]) == 1


def test_an_invalid_repo_still_gets_a_comment_and_a_summary_saying_why(tmp_path, capsys, monkeypatch):
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "hwaas-orders-returns", repo)
    stark = next((repo / "customers").glob("*.yaml"))
    stark.write_text(stark.read_text().replace("term:", "trem:", 1))
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    monkeypatch.chdir(repo)
    assert main(["plan", "--format", "markdown"]) == 1
    out, err = capsys.readouterr()
    assert out.startswith("<!-- reconciler-plan:. -->\n## reconciler plan: nothing was planned")
    assert f"<code>customers/{stark.name}:" in out and "did you mean 'term'?" in out
    assert summary.read_text() == out + "\n"
    assert "error: the desired state is not valid" in err  # the log says it too
