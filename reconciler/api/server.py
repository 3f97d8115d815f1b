"""The sandbox served over HTTP: the portal API (reconciler.api.contract) as a FastAPI app.

FastAPI on uvicorn: the field's standard ASGI pair; FastAPI validates every request
with the contract's pydantic models and publishes the OpenAPI 3.1 document from them.
Reads never change the portal beyond what reading the sandbox on a date does; a step
is carried out by the sandbox, exactly once per Idempotency-Key. The state of one date
is read once and kept while the sandbox file is unchanged, so the pages of one read
are slices of one state and the next reader of the same state pays nothing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from reconciler.api.auth import allows, scope_of
from reconciler.api.contract import (IDEMPOTENCY_HEADER, PAGE_DEFAULT, PAGE_MAX, PREFIX, PROBLEM_TYPE, Health,
                                     LeaseGranted, LeaseRenewal, LeaseRequest, Lease, Problem, StatePage,
                                     StepRequest, StepResult, problem_type)
from reconciler.api.leases import LeaseConflict, LeaseGone, Records
from reconciler.diagnostics import ReconcilerError
from reconciler.fingerprint import canonical, pieced_fingerprint
from reconciler.providers import StepRefused
from reconciler.providers.sandbox import SandboxProvider
from reconciler.sandbox.portal import received

PROBLEMS = {status: {"model": Problem, "content": {PROBLEM_TYPE: {}}, "description": text} for status, text in (
    (401, "No valid bearer token."), (403, "The token's scope does not allow this."),
    (409, "A live lease covers one of the customers, or the Idempotency-Key was used for another request."),
    (412, "The state moved since the first page was read."), (422, "The portal refused the step (its rule id "
                                                                    "is in `rule`), or the request is invalid."))}


class ProblemError(Exception):
    def __init__(self, status: int, name: str, title: str, detail: str | None = None, **extra):
        super().__init__(detail or title)
        self.problem = Problem(type=problem_type(name), title=title, status=status, detail=detail, **extra)


def _refusal(exc: StepRefused, customer: str | None, pbx: str | None) -> ProblemError:
    """A step the portal refused: 422 with the rule id of its first reason."""
    first = exc.diagnostics[0] if exc.diagnostics else None
    return ProblemError(422, "step-refused", "The portal refused the step", str(exc),
                        rule=first.rule if first else None, customer=customer, pbx=pbx)


@dataclass(frozen=True)
class View:
    """The state of one date, as the pages are cut from it: every customer serialized once, ids in order."""

    stamp: tuple
    head: dict
    customers: dict[str, str]  # id -> the customer's JSON (keys sorted)
    version: str
    ids: list[str]


class States:
    """The sandbox's state per date, kept while the file is unchanged (size and time of its last write)."""

    def __init__(self, sandbox: SandboxProvider):
        self.sandbox, self._views, self._lock = sandbox, {}, threading.Lock()

    def _stamp(self) -> tuple:
        files = [self.sandbox.path, Path(f"{self.sandbox.path}-wal")]
        return tuple((s.st_mtime_ns, s.st_size) for s in (f.stat() for f in files if f.exists()))

    def on(self, today: dt.date) -> View:
        with self._lock:
            view = self._views.get(today)
            if view is not None and view.stamp == self._stamp():
                return view
            head = self.sandbox.read(today).model_dump(mode="json")
            everyone = head.pop("customers")
            ids = sorted(everyone)
            customers = {i: canonical(everyone[i]) for i in ids}
            # The version is the state's fingerprint (reconciler.fingerprint.fingerprint_state), made from the
            # pieces the pages are cut from: no second serialization of the state.
            view = View(self._stamp(), head, customers, pieced_fingerprint(head, ((i, customers[i]) for i in ids)),
                        ids)
            self._views = {today: view}
            return view


def create_app(sandbox: SandboxProvider, tokens: dict[str, str]) -> FastAPI:
    records = Records(Path(f"{sandbox.path}.portal"))
    states = States(sandbox)
    app = FastAPI(title="reconciler portal API", version="1.0.0",
                  description="The partner portal's state, steps and leases, as the reconciler's `http` provider "
                              "reaches them. Every endpoint but health needs `Authorization: Bearer TOKEN`; "
                              "errors are RFC 9457 problem documents.")

    def scope(needed: str):
        def check(authorization: Annotated[str | None, Header()] = None) -> None:
            found = scope_of(authorization, tokens)
            if found is None:
                raise ProblemError(401, "unauthorized", "Unauthorized", "a valid bearer token is needed",
                                   )
            if not allows(found, needed):
                raise ProblemError(403, "forbidden", "Forbidden", f"this token may only {found}: "
                                   f"this request needs a {needed} token")
        return Depends(check)

    @app.exception_handler(ProblemError)
    async def on_problem(request: Request, exc: ProblemError):
        headers = {"WWW-Authenticate": "Bearer"} if exc.problem.status == 401 else None
        return _problem_response(exc.problem, headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError):
        body = exc.body if isinstance(exc.body, dict) else {}
        if any(tuple(e["loc"][:2]) == ("body", "step") for e in exc.errors()) and "step" in body:
            try:  # the step itself is malformed: the portal refuses it as `schema`, as it refuses a bad form
                received(body["step"])
            except StepRefused as refused:
                where = refused.diagnostics[0]
                return _problem_response(_refusal(refused, where.customer, where.pbx).problem)
        detail = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _problem_response(Problem(type=problem_type("invalid-request"), title="Invalid request",
                                         status=422, detail=detail))

    @app.exception_handler(HTTPException)
    async def on_http(request: Request, exc: HTTPException):
        return _problem_response(Problem(title=str(exc.detail), status=exc.status_code))

    @app.get(f"{PREFIX}/health", response_model=Health)
    def health() -> Health:
        return Health(portal="sandbox")

    @app.get(f"{PREFIX}/state", response_model=StatePage, responses=PROBLEMS, dependencies=[scope("read")])
    def state(date: dt.date, cursor: str | None = None, version: str | None = None,
              limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = PAGE_DEFAULT):
        try:
            view = states.on(date)
        except ReconcilerError as exc:
            raise ProblemError(500, "portal-unreadable", "The portal cannot be read", str(exc)) from None
        if version is not None and version != view.version:
            raise ProblemError(412, "state-moved", "The state moved", "the portal changed since the first page: "
                               "read it again from the first page")
        start = bisect.bisect_right(view.ids, cursor) if cursor else 0
        ids = view.ids[start:start + limit]
        page = {**view.head, "version": view.version, "total": len(view.ids),
                "next_cursor": ids[-1] if start + limit < len(view.ids) else None}
        customers = ",".join(f"{json.dumps(i)}:{view.customers[i]}" for i in ids)
        body = canonical(page)[:-1] + ',"customers":{' + customers + "}}"
        return Response(body, media_type="application/json", headers={"ETag": f'"{view.version}"'})

    @app.post(f"{PREFIX}/steps", response_model=StepResult, responses=PROBLEMS, dependencies=[scope("write")])
    def carry_out(body: StepRequest,
                  key: Annotated[str, Header(alias=IDEMPOTENCY_HEADER, min_length=1, max_length=200)]) -> StepResult:
        digest = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
        recorded = records.answer(key)
        if recorded is not None:
            if recorded[0] != digest:
                raise ProblemError(409, "idempotency-key-reused", "Idempotency-Key reused",
                                   f"the key {key} was used for another request: nothing was done")
            return StepResult(key=key, replayed=True)
        try:
            carried_out = sandbox.execute(body.step, body.today, key)  # False: the sandbox had this key already
        except StepRefused as exc:
            raise _refusal(exc, body.step.customer, body.step.pbx) from None
        result = StepResult(key=key, replayed=carried_out is False)
        records.record(key, digest, result.model_dump_json())
        return result

    @app.post(f"{PREFIX}/leases", response_model=LeaseGranted, status_code=201, responses=PROBLEMS,
              dependencies=[scope("write")])
    def take(body: LeaseRequest) -> LeaseGranted:
        try:
            return records.take(body)
        except LeaseConflict as exc:
            raise ProblemError(409, "lease-held", "A live lease covers these customers",
                               f"customers {', '.join(exc.lease.customers)} are leased by {exc.lease.owner} "
                               f"({exc.lease.operation}) until {exc.lease.expires.isoformat()}",
                               lease=exc.lease) from None

    @app.put(f"{PREFIX}/leases/{{lease_id}}", response_model=Lease, responses=PROBLEMS,
             dependencies=[scope("write")])
    def renew(lease_id: str, body: LeaseRenewal) -> Lease:
        try:
            return records.renew(lease_id, body.ttl_seconds)
        except LeaseGone:
            raise ProblemError(410, "lease-gone", "The lease is gone",
                               f"lease {lease_id} was released or has expired") from None

    @app.delete(f"{PREFIX}/leases/{{lease_id}}", status_code=204, responses=PROBLEMS,
                dependencies=[scope("write")])
    def release(lease_id: str) -> Response:
        try:
            records.release(lease_id)
        except LeaseGone:
            raise ProblemError(404, "lease-unknown", "No such lease", f"there is no lease {lease_id}") from None
        return Response(status_code=204)

    return app


def _problem_response(problem: Problem, headers: dict | None = None) -> JSONResponse:
    return JSONResponse(problem.model_dump(mode="json", exclude_none=True), status_code=problem.status,
                        media_type=PROBLEM_TYPE, headers=headers)


def serve(sandbox_path: Path, tokens: dict[str, str], host: str, port: int, *, latency_ms: float = 0.0,
          faults: dict[str, int] | None = None, fault_delay: float = 10.0, tls: tuple[str, str] | None = None) -> None:
    """Serve the sandbox until interrupted (Ctrl-C, SIGTERM)."""
    import uvicorn

    from reconciler.api.faults import Faults

    app = Faults(create_app(SandboxProvider(sandbox_path), tokens), latency_ms, faults, fault_delay)
    certificate, key = tls or (None, None)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, ssl_certfile=certificate,
                ssl_keyfile=key)
