"""The apply journal: one durable JSON line per event; an unfinished run, and a torn last line, are found."""

from __future__ import annotations

import json

from reconciler.apply.journal import Journal, read_journal, unfinished_run
from tests.test_apply_support import run_python

CRASH_MID_RUN = """
import os
from reconciler.apply.journal import Journal
journal = Journal({path!r})
journal.run_start("r1", "sha256:abc", "plan-abc", 3)
journal.step_start("r1", 1, "plan-abc:1", "add-licenses", "acme/acme")
journal.step_done("r1", 1, "plan-abc:1")
journal.step_start("r1", 2, "plan-abc:2", "change-term", "acme/acme")
os._exit(137)  # no close, no flush at exit: only what append made durable remains
"""


def test_records_are_json_lines_with_a_type_and_a_time(tmp_path):
    path = tmp_path / "sandbox.db.journal"
    journal = Journal(path)
    journal.run_start("r1", "interactive", "tok", 2)
    journal.step_start("r1", 1, "tok:1", "add-licenses", "acme/acme")
    journal.step_failed("r1", 1, "tok:1", "the portal refused")
    journal.run_end("r1", "failed")
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["type"] for r in records] == ["run-start", "step-start", "step-failed", "run-end"]
    assert records[0] == {"type": "run-start", "run": "r1", "plan": "interactive", "token": "tok", "steps": 2,
                          "at": records[0]["at"]}
    assert records[1] == {"type": "step-start", "run": "r1", "step": 1, "token": "tok:1", "action": "add-licenses",
                          "address": "acme/acme", "at": records[1]["at"]}
    assert records[2]["error"] == "the portal refused" and records[3]["outcome"] == "failed"
    assert all(r["at"].endswith("Z") for r in records)
    assert unfinished_run(path) is None


def test_records_survive_a_crash_and_the_run_is_unfinished(tmp_path):
    path = tmp_path / "sandbox.db.journal"
    crashed = run_python(CRASH_MID_RUN.format(path=str(path)))
    assert crashed.returncode == 137
    assert [r["type"] for r in read_journal(path).records] == ["run-start", "step-start", "step-done", "step-start"]
    run = unfinished_run(path)
    assert (run.run, run.plan, run.token, run.steps, run.done, run.failed) == ("r1", "sha256:abc", "plan-abc", 3,
                                                                                  [1], [])
    assert [r["step"] for r in run.in_doubt] == [2]
    assert not run.torn_tail
    assert run.message().startswith("the last apply (run r1, plan sha256:abc, started ")
    assert "steps done: 1; started but not confirmed: step 2 (change-term acme/acme)." in run.message()


def test_a_torn_last_line_is_tolerated_and_reported(tmp_path):
    path = tmp_path / "j"
    run_python(CRASH_MID_RUN.format(path=str(path)))
    with open(path, "ab") as handle:
        handle.write(b'{"type": "step-do')  # the crash hit mid-write
    contents = read_journal(path)
    assert (len(contents.records), contents.damaged, contents.torn_tail) == (4, [5], True)
    run = unfinished_run(path)
    assert run.torn_tail and [r["step"] for r in run.in_doubt] == [2]
    assert "its last journal line was cut off mid-write" in run.message()

    Journal(path).run_start("r2", "interactive", "t2", 0)  # the next run starts on a fresh line
    contents = read_journal(path)
    assert (contents.records[-1]["run"], contents.damaged, contents.torn_tail) == ("r2", [5], False)


def test_only_the_last_run_counts(tmp_path):
    path = tmp_path / "j"
    run_python(CRASH_MID_RUN.format(path=str(path)))
    journal = Journal(path)
    journal.run_start("r2", "sha256:abc", "plan-abc", 3)
    journal.step_start("r2", 2, "plan-abc:2", "change-term", "acme/acme")
    journal.step_done("r2", 2, "plan-abc:2")
    assert unfinished_run(path).run == "r2" and unfinished_run(path).done == [2]
    journal.run_end("r2", "complete")
    assert unfinished_run(path) is None


def test_a_missing_or_empty_journal_has_no_unfinished_run(tmp_path):
    assert unfinished_run(tmp_path / "none") is None
    (tmp_path / "empty").write_text("")
    assert unfinished_run(tmp_path / "empty") is None


def test_records_of_the_wrong_shape_are_reported_with_file_and_line_and_skipped(tmp_path):
    path = tmp_path / "sandbox.db.journal"
    with Journal(path) as journal:
        journal.run_start("r1", "interactive", "t", 3)
        journal.step_start("r1", 1, "t:1", "add-licenses", "acme/acme")
    with open(path, "ab") as handle:
        handle.write(b'{"type": "step-done", "run": "r1", "step": [1]}\n')  # JSON, not a record
        handle.write(b'{"type": "step-start", "run": {"r": 1}, "step": 2}\n')
        handle.write(b'["run-end"]\n' + bytes(range(11, 256)) + b"\n")
    run = unfinished_run(path)
    assert run.damaged == [3, 4, 5, 6] and [r["step"] for r in run.in_doubt] == [1]
    assert f"journal lines 3, 4, 5, 6 of {path} are not records (skipped)" in run.message()
    with Journal(path) as journal:  # and nothing blocks the next run
        journal.run_start("r2", "interactive", "u", 0)
        journal.run_end("r2", "complete")
    assert unfinished_run(path) is None


def test_a_100_mb_journal_is_read_from_its_end_and_rotated(tmp_path):
    import time

    path = tmp_path / "sandbox.db.journal"
    run = b"".join(json.dumps(r, sort_keys=True).encode() + b"\n" for r in [
        {"type": "run-start", "run": "old", "plan": "interactive", "token": "t", "steps": 1, "at": "x"},
        {"type": "step-start", "run": "old", "step": 1, "token": "t:1", "action": "add-licenses",
         "address": "acme/acme", "at": "x"},
        {"type": "step-done", "run": "old", "step": 1, "token": "t:1", "at": "x"},
        {"type": "run-end", "run": "old", "outcome": "complete", "at": "x"}])
    block = run * ((1 << 20) // len(run) + 1)
    with open(path, "wb") as handle:
        for _ in range(100):
            handle.write(block)
        handle.write(b"garbage\n" + b"\n".join(run.split(b"\n")[:3]) + b"\n")  # the last run has no run-end
    assert path.stat().st_size > 100 << 20
    started = time.monotonic()
    left = unfinished_run(path)
    assert time.monotonic() - started < 0.5
    assert left is not None and left.done == [1]
    with Journal(path) as journal:  # an unfinished run is kept where it is
        journal.run_end("old", "complete")
    with Journal(path) as journal:
        started = time.monotonic()
        journal.run_start("new", "interactive", "n", 0)
        assert time.monotonic() - started < 1
    assert path.stat().st_size < 1000 and (tmp_path / "sandbox.db.journal.1").stat().st_size > 100 << 20
