"""The apply journal: what apply set out to do and what it got done, durable before it moves on.

A portal call cannot be rolled back, and a process can die between two steps (or in the
middle of one). So apply appends a record to `<target>.journal` before and after every
step, each flushed and fsync'd before the next portal call: after a crash the journal
says which run was cut short and which step is in doubt (started, never confirmed).
The journal is a log for people and for `unfinished_run`; it never decides what to do:
re-running is safe because steps are idempotent by token and the plan is proven
against the observed state (level-based, as in controller-runtime).

One JSON object per line, `type` first among equals:

    {"type": "run-start",   "run", "plan" (checksum or "interactive"), "token", "steps", "at"}
    {"type": "step-start",  "run", "step", "token", "action", "address", "at"}
    {"type": "step-done",   "run", "step", "token", "at"}
    {"type": "step-failed", "run", "step", "token", "error", "at"}
    {"type": "run-end",     "run", "outcome" ("complete" | "failed"), "at"}
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.apply.lock import now_iso

RUN_START, STEP_START, STEP_DONE = "run-start", "step-start", "step-done"
STEP_FAILED, RUN_END = "step-failed", "run-end"


def journal_path(target: str | os.PathLike) -> Path:
    return Path(f"{os.fspath(target)}.journal")


class Journal:
    """Appends records to one journal file; every `append` is on disk when it returns.

    The file stays open between appends (a run appends two records per step); `close()`
    when done, or use the journal as a context manager.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._handle = None
        self._lock = threading.Lock()  # parallel steps append from several threads, one whole line at a time

    def _open(self):
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "ab")
        # A crash mid-write leaves a torn last line: start ours on a fresh line.
        if not created and handle.tell() > 0 and not _ends_with_newline(self.path):
            handle.write(b"\n")
        if created:
            _sync(handle)
            _fsync_dir(self.path.parent)
        return handle

    def append(self, record: dict) -> dict:
        record = {**record, "at": record.get("at") or now_iso()}
        line = json.dumps(record, sort_keys=True, ensure_ascii=False) + "\n"
        with self._lock:
            if self._handle is None or self._handle.closed:
                self._handle = self._open()
            self._handle.write(line.encode("utf-8"))
            _sync(self._handle)
        return record

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_start(self, run: str, plan: str, token: str, steps: int) -> dict:
        return self.append({"type": RUN_START, "run": run, "plan": plan, "token": token, "steps": steps})

    def step_start(self, run: str, step: int, token: str, action: str, address: str) -> dict:
        return self.append({"type": STEP_START, "run": run, "step": step, "token": token, "action": action,
                            "address": address})

    def step_done(self, run: str, step: int, token: str) -> dict:
        return self.append({"type": STEP_DONE, "run": run, "step": step, "token": token})

    def step_failed(self, run: str, step: int, token: str, error: str) -> dict:
        return self.append({"type": STEP_FAILED, "run": run, "step": step, "token": token, "error": error})

    def run_end(self, run: str, outcome: str) -> dict:
        return self.append({"type": RUN_END, "run": run, "outcome": outcome})


def _sync(handle) -> None:
    """Flush `handle` to the disk: its data and the size that makes it readable (fdatasync where there is one)."""
    handle.flush()
    getattr(os, "fdatasync", os.fsync)(handle.fileno())


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def _fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable too (POSIX; a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True)
class JournalContents:
    records: list[dict]
    damaged: list[int] = field(default_factory=list)  # 1-based numbers of lines that are not a record
    torn_tail: bool = False  # the last line is damaged: a crash while it was being written


def read_journal(path: str | os.PathLike) -> JournalContents:
    """Every readable record in order; damaged lines are skipped and reported, never fatal."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return JournalContents([])
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    records, damaged = [], []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            record = None
        if isinstance(record, dict) and isinstance(record.get("type"), str):
            records.append(record)
        else:
            damaged.append(number)
    return JournalContents(records, damaged, bool(damaged) and damaged[-1] == len(lines))


@dataclass(frozen=True)
class UnfinishedRun:
    """The last run of a journal, when it has no run-end: apply stopped in the middle."""

    run: str
    plan: str | None
    token: str | None
    started_at: str | None
    steps: int | None
    done: list[int]
    failed: list[int]
    in_doubt: list[dict]  # step-start records with no step-done/step-failed: the portal may or may not have it
    damaged: list[int] = field(default_factory=list)
    torn_tail: bool = False

    def message(self) -> str:
        """What to tell the user before the next apply."""
        text = (f"the last apply (run {self.run}, plan {self.plan}, started {self.started_at}) did not finish; "
                f"steps done: {_ids(self.done)}")
        if self.in_doubt:
            text += "; started but not confirmed: " + ", ".join(
                f"step {r.get('step')} ({r.get('action')} {r.get('address')})" for r in self.in_doubt)
        if self.torn_tail:
            text += "; its last journal line was cut off mid-write"
        return text + ". Check the portal, then plan again (or re-run the same saved plan: done steps are skipped)."


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids) or "none"


def unfinished_run(path: str | os.PathLike) -> UnfinishedRun | None:
    """The journal's last run if it has no run-end, with what it started and did not finish."""
    contents = read_journal(path)
    starts = [i for i, r in enumerate(contents.records) if r["type"] == RUN_START]
    if not starts:
        return None
    head = contents.records[starts[-1]]
    run = head.get("run")
    records = [r for r in contents.records[starts[-1]:] if r.get("run") == run]
    if any(r["type"] == RUN_END for r in records):
        return None
    started: dict[int, dict] = {}
    done: list[int] = []
    failed: list[int] = []
    for record in records:
        step = record.get("step")
        if record["type"] == STEP_START:
            started[step] = record
        elif record["type"] == STEP_DONE:
            started.pop(step, None)
            done.append(step)
        elif record["type"] == STEP_FAILED:
            started.pop(step, None)
            failed.append(step)
    return UnfinishedRun(run=run, plan=head.get("plan"), token=head.get("token"), started_at=head.get("at"),
                         steps=head.get("steps"), done=done, failed=failed, in_doubt=list(started.values()),
                         damaged=contents.damaged, torn_tail=contents.torn_tail)
