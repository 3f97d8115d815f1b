"""Added latency and injected failures, for rehearsals and the fault-injection tests.

`sandbox serve --latency-ms 100` makes every request (but health) take 100 ms longer, as
a portal across the internet does. `--fault KIND:COUNT` makes the next COUNT step requests
(`POST /v1/steps`, where a failure costs most) fail in one way the network fails in production:

- `503`, `429`: answered at once with that status (429 with `Retry-After: 1`); nothing done;
- `drop-after-commit`: a step is carried out and committed, then the connection drops
  before the client has read the answer;
- `timeout-after-commit`: a step is committed, then the answer waits `--fault-delay`
  seconds (longer than the client's read timeout).

It is an ASGI middleware around the application, so the application never knows.
"""

from __future__ import annotations

import asyncio
import json
import threading

from reconciler.api.contract import PREFIX, PROBLEM_TYPE, problem_type
from reconciler.diagnostics import ReconcilerError

KINDS = ("503", "429", "drop-after-commit", "timeout-after-commit")
STEP_KINDS = ("drop-after-commit", "timeout-after-commit")


class ConnectionDropped(Exception):
    """Raised after a partial answer: the ASGI server closes the connection."""


def parse_faults(specs: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for spec in specs:
        kind, _, count = spec.partition(":")
        if kind not in KINDS or not (count or "1").isdigit():
            raise ReconcilerError(f"--fault {spec}: expected KIND[:COUNT] with KIND one of {', '.join(KINDS)}")
        counts[kind] = counts.get(kind, 0) + int(count or "1")
    return counts


class Faults:
    def __init__(self, app, latency_ms: float = 0.0, counts: dict[str, int] | None = None, delay: float = 10.0):
        self.app, self.latency, self.delay = app, latency_ms / 1000.0, delay
        self.counts = dict(counts or {})
        self._lock = threading.Lock()

    def _take(self, kind: str) -> bool:
        with self._lock:
            if self.counts.get(kind, 0) > 0:
                self.counts[kind] -= 1
                return True
            return False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] == f"{PREFIX}/health":
            return await self.app(scope, receive, send)
        if self.latency:
            await asyncio.sleep(self.latency)
        if scope["method"] != "POST" or scope["path"] != f"{PREFIX}/steps":
            return await self.app(scope, receive, send)
        for status in (503, 429):
            if self._take(str(status)):
                return await _problem(send, status)
        kind = next((k for k in STEP_KINDS if self._take(k)), None)
        if kind is None:
            return await self.app(scope, receive, send)
        messages = []

        async def keep(message):
            messages.append(message)

        await self.app(scope, receive, keep)  # the step is carried out and committed
        if kind == "timeout-after-commit":
            await asyncio.sleep(self.delay)
            for message in messages:
                await send(message)
            return
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        await send(start)
        await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
        raise ConnectionDropped("injected fault: the connection drops after the step was committed")


async def _problem(send, status: int) -> None:
    title = {503: "Service Unavailable", 429: "Too Many Requests"}[status]
    body = json.dumps({"type": problem_type("injected-fault"), "title": title, "status": status,
                       "detail": "an injected fault (sandbox serve --fault)"}).encode()
    headers = [(b"content-type", PROBLEM_TYPE.encode()), (b"content-length", str(len(body)).encode()),
               (b"retry-after", b"1" if status == 429 else b"0")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
