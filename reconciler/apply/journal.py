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
    {"type": "run-end",     "run", "outcome" ("complete" | "failed" | "interrupted"), "at"}
    {"type": "sandbox-load" | "sandbox-reset", "at"}   (the portal was replaced: earlier runs are moot)

A step-done with `"skipped": true` is a step whose token the portal had already carried
out (a resumed run's step done before the crash): nothing happened this time.
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
REPLACED = ("sandbox-load", "sandbox-reset")
TAIL_CHUNK = 1 << 16
ROTATE_BYTES = 4 << 20  # a journal past this, its last run finished, moves to `<journal>.1` at the next run


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

    def _rotate(self) -> None:
        """Past ROTATE_BYTES, and with its last run finished, the journal moves to `<journal>.1` (one kept)."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return
        if size < ROTATE_BYTES or unfinished_run(self.path) is not None:
            return
        self.close()
        os.replace(self.path, f"{self.path}.1")

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_start(self, run: str, plan: str, token: str, steps: int) -> dict:
        self._rotate()
        return self.append({"type": RUN_START, "run": run, "plan": plan, "token": token, "steps": steps})

    def step_start(self, run: str, step: int, token: str, action: str, address: str) -> dict:
        return self.append({"type": STEP_START, "run": run, "step": step, "token": token, "action": action,
                            "address": address})

    def step_done(self, run: str, step: int, token: str, skipped: bool = False) -> dict:
        return self.append({"type": STEP_DONE, "run": run, "step": step, "token": token,
                            **({"skipped": True} if skipped else {})})

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


def _parse(line: bytes) -> dict | None:
    """The record on `line`, or None when it is not one (not JSON, or JSON of the wrong shape)."""
    try:
        record = json.loads(line.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("type"), str):
        return None
    if record["type"] in (RUN_START, STEP_START, STEP_DONE, STEP_FAILED, RUN_END) and \
            not isinstance(record.get("run"), str):
        return None
    if record["type"] in (STEP_START, STEP_DONE, STEP_FAILED) and \
            (not isinstance(record.get("step"), int) or isinstance(record.get("step"), bool)):
        return None
    return record


def _contents(lines: list[bytes], first_number: int = 1) -> JournalContents:
    records, damaged = [], []
    for number, line in enumerate(lines, first_number):
        if not line.strip():
            continue
        record = _parse(line)
        if record is not None:
            records.append(record)
        else:
            damaged.append(number)
    last = first_number + len(lines) - 1
    return JournalContents(records, damaged, bool(damaged) and damaged[-1] == last)


def read_journal(path: str | os.PathLike) -> JournalContents:
    """Every readable record in order; damaged lines are skipped and reported, never fatal."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return JournalContents([])
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return _contents(lines)


def read_last_run(path: str | os.PathLike) -> JournalContents:
    """The records from the journal's last run-start (or load/reset) to its end, read from the end.

    A journal grows by a few lines per step for as long as a repo lives; reading it
    backwards in chunks until the last run's start keeps apply's start-up time flat.
    Damaged lines are numbered as in the whole file (counted only when there are some).
    """
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return JournalContents([])
    with handle:
        position = handle.seek(0, os.SEEK_END)
        kept: list[bytes] = []  # the tail's whole lines, last first
        pending = b""  # the start of a line whose beginning is in a chunk not read yet
        found = False
        while position > 0 and not found:
            size = min(TAIL_CHUNK, position)
            position -= size
            handle.seek(position)
            lines = (handle.read(size) + pending).split(b"\n")
            pending = lines.pop(0) if position > 0 else b""
            for line in reversed(lines):
                kept.append(line)
                if _starts_run(line):
                    found = True
                    break
        if pending and not found:
            kept.append(pending)
        lines = kept[::-1]
        if lines and lines[-1] == b"":
            lines.pop()
        contents = _contents(lines)
        if not contents.damaged:
            return contents
        tail_bytes = sum(len(line) + 1 for line in kept)
        handle.seek(0)
        before, left = 0, max(handle.seek(0, os.SEEK_END) - tail_bytes + 1, 0)  # the bytes before the tail
        handle.seek(0)
        while left > 0:
            chunk = handle.read(min(TAIL_CHUNK, left))
            before, left = before + chunk.count(b"\n"), left - len(chunk)
        return JournalContents(contents.records, [n + before for n in contents.damaged], contents.torn_tail)


def _starts_run(line: bytes) -> bool:
    if b"run-start" not in line and b"sandbox-" not in line:  # most lines: no JSON parse
        return False
    record = _parse(line)
    return record is not None and record["type"] in (RUN_START, *REPLACED)


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
    path: str = "the journal"

    def message(self) -> str:
        """What to tell the user before the next apply."""
        text = (f"the last apply (run {self.run}, plan {self.plan}, started {self.started_at}) did not finish; "
                f"steps done: {_ids(self.done)}")
        if self.in_doubt:
            text += "; started but not confirmed: " + ", ".join(
                f"step {r.get('step')} ({r.get('action')} {r.get('address')})" for r in self.in_doubt)
        if self.torn_tail:
            text += "; its last journal line was cut off mid-write"
        if self.damaged:
            many = len(self.damaged) > 1
            text += (f"; journal line{'s' if many else ''} {_ids(self.damaged)} of {self.path} "
                     f"{'are' if many else 'is'} not {'records' if many else 'a record'} (skipped)")
        return text + (". Check the portal, then plan again: a new plan starts from what the portal holds now "
                       "(a saved plan of that run applies again only if the portal still reads as it expects)")


def _ids(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids) or "none"


def unfinished_run(path: str | os.PathLike) -> UnfinishedRun | None:
    """The journal's last run if it has no run-end, with what it started and did not finish."""
    contents = read_last_run(path)
    starts = [i for i, r in enumerate(contents.records) if r["type"] == RUN_START]
    if not starts:
        return None
    head = contents.records[starts[-1]]
    run = head.get("run")
    records = [r for r in contents.records[starts[-1]:] if r.get("run") == run]
    if any(r["type"] == RUN_END for r in records):
        return None
    if any(r["type"] in REPLACED for r in contents.records[starts[-1]:]):
        return None  # the portal was loaded or reset since: what that run did is gone
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
                         damaged=contents.damaged, torn_tail=contents.torn_tail, path=os.fspath(path))
