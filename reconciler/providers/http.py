"""The `http` provider: any portal that speaks the portal API (reconciler.api.contract), over httpx.

The network is where apply's hard failures live, so every request here is bounded
(connect and read timeouts) and retried with exponential backoff and jitter (stamina,
over tenacity) on connection errors, timeouts, 429 (after its Retry-After), 502, 503
and 504. A step is retried only with its own Idempotency-Key, the apply token, so a
step the portal committed before the answer was lost is not done twice. Other writes
(leases) are retried only when the portal cannot have acted: the connection was never
made, or it answered 429 or 503.

The token comes from an environment variable and goes only into the Authorization
header: no message, journal or plan carries it. Every failure ends in one
ReconcilerError naming the URL and what to do.
"""

from __future__ import annotations

import datetime as dt
import getpass
import os
import socket
import ssl
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import stamina

from reconciler.api.contract import (IDEMPOTENCY_HEADER, PAGE_MAX, PREFIX, Lease, LeaseGranted, StatePage,
                                     StepRequest, StepResult)
from reconciler.apply.lock import LockHeld
from reconciler.diagnostics import Diagnostic, ReconcilerError, Severity
from reconciler.plan.model import Step
from reconciler.providers import StepRefused
from reconciler.snapshot import Snapshot

RETRY_STATUSES = {429, 502, 503, 504}
NOT_DONE_STATUSES = {429, 503}  # the portal did nothing: safe to send any request again
CONNECT_TIMEOUT = 5.0
RETRY_ATTEMPTS, RETRY_SECONDS, MAX_RETRY_AFTER = 8, 30.0, 30.0
LEASE_POLL_SECONDS = 0.5


class _Transient(Exception):
    """An answer worth retrying (429, 502, 503, 504); carries the response for the last message."""

    def __init__(self, response: httpx.Response):
        super().__init__(response.status_code)
        self.response = response
        self.retry_after = _retry_after(response)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        return None


def base_url(url: str) -> str:
    """The API's base: the configured URL, with its /v1 added when missing."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ReconcilerError(f"provider url {url!r} must be an http:// or https:// URL")
    if parts.username or parts.password:
        raise ReconcilerError("provider url must not hold credentials: the token goes in the environment "
                              "variable named by token_env")
    url = url.rstrip("/")
    return url if url.endswith(PREFIX) else url + PREFIX


@dataclass
class LeaseHandle:
    """A lease held on the portal, renewed in the background until released."""

    lease: Lease
    expired: list[Lease]
    lost: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def customers(self) -> list[str]:
        return self.lease.customers


class HttpProvider:
    name = "http"
    concurrent = True  # steps may be sent at once (apply --parallelism); the portal serializes what it must

    def __init__(self, url: str, *, token_env: str = "RECONCILER_PORTAL_TOKEN", ca_file: Path | None = None,
                 timeout: float = 30.0, lease_seconds: float = 60.0, retry_seconds: float = RETRY_SECONDS,
                 root: Path | None = None):
        self.url = base_url(url)
        self.token_env, self.timeout, self.lease_seconds = token_env, timeout, lease_seconds
        self.ca_file, self.retry_seconds, self.page_size = ca_file, retry_seconds, PAGE_MAX
        self.root = root or Path(".")
        self._client: httpx.Client | None = None
        self._client_lock = threading.Lock()
        self._held: LeaseHandle | None = None
        stamina.instrumentation.set_on_retry_hooks([])  # each retry is one readable note on stderr instead

    @property
    def target(self) -> str:
        """The local journal's stem for this portal (the portal itself is locked by a lease, not a file)."""
        parts = urlsplit(self.url)
        stem = f"{parts.hostname}-{parts.port or parts.scheme}{parts.path}".replace("/", "-").strip("-")
        return str((self.root / ".reconciler" / f"portal-{stem}").resolve())

    def client(self) -> httpx.Client:
        with self._client_lock:
            return self._client or self._connect()

    def _connect(self) -> httpx.Client:
        if self._client is None:
            token = os.environ.get(self.token_env)
            if not token:
                raise ReconcilerError(f"the portal at {self.url} needs a token: set the environment variable "
                                      f"{self.token_env} (a read token to plan, a write token to apply)")
            self._client = httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"},
                                        verify=self._verify(),
                                        timeout=httpx.Timeout(self.timeout, connect=CONNECT_TIMEOUT))
        return self._client

    def _verify(self):
        if self.ca_file is None:
            return True
        try:
            context = ssl.create_default_context()
            context.load_verify_locations(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ReconcilerError(f"provider ca_file {self.ca_file} cannot be used ({exc})") from None
        return context

    def read(self, today: dt.date) -> Snapshot:
        """The portal's state on `today`, page by page; restarted (twice at most) if it moves meanwhile."""
        for _ in range(3):
            pages, params = [], {"date": today.isoformat(), "limit": self.page_size}
            while True:
                response = self._send("GET", "/state", params=params, allow={412})
                if response.status_code == 412:
                    break
                page = StatePage.model_validate_json(response.content)
                pages.append(page)
                if page.next_cursor is None:
                    first = pages[0]
                    customers = {k: v for p in pages for k, v in p.customers.items()}
                    return Snapshot.model_construct(as_of=first.as_of, partner=first.partner, stock=first.stock,
                                                    catalog=first.catalog, customers=customers)
                params = {**params, "cursor": page.next_cursor, "version": pages[0].version}
        raise ReconcilerError(f"the portal at {self.url} kept changing while it was read: try again")

    def execute(self, step: Step, today: dt.date, token: str) -> bool:
        """Carry out `step` once per `token`; False when an earlier call had carried it out (nothing happened now)."""
        if self._held is not None and self._held.lost:
            raise ReconcilerError(f"the lease on the portal at {self.url} was lost ({self._held.lost}): "
                                  "stopped before this step; apply again")
        body = StepRequest(today=today, step=step).model_dump(mode="json")
        tries: list[int] = []
        response = self._send("POST", "/steps", json=body, key=token, tries=tries)
        replayed = StepResult.model_validate_json(response.content).replayed
        return not (replayed and len(tries) == 1)  # replaying the answer this call lost is this call's own work

    @contextmanager
    def lease(self, customers: list[str], operation: str, timeout: float = 0.0):
        """Hold the portal's lease over `customers` for the block; wait up to `timeout` s for a live one to go."""
        body = {"owner": _owner(), "operation": operation, "customers": sorted(set(customers)),
                "ttl_seconds": self.lease_seconds}
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            response = self._send("POST", "/leases", json=body, allow={409})
            if response.status_code != 409:
                break
            problem = response.json()
            if "lease" not in problem:
                raise self._refused(response)
            if time.monotonic() >= deadline:
                raise _held(self.url, Lease.model_validate(problem["lease"]), timeout)
            time.sleep(LEASE_POLL_SECONDS)
        granted = LeaseGranted.model_validate_json(response.content)
        handle = LeaseHandle(granted.lease, granted.expired)
        renewer = threading.Thread(target=self._renew, args=(handle,), daemon=True, name="lease-renewal")
        renewer.start()
        self._held = handle
        try:
            yield handle
        finally:
            handle.stop.set()
            renewer.join(timeout=self.timeout)
            self._held = None
            try:
                self._send("DELETE", f"/leases/{handle.lease.id}", allow={404, 410})
            except ReconcilerError:
                pass  # it expires on its own within lease_seconds

    def _renew(self, handle: LeaseHandle) -> None:
        while not handle.stop.wait(self.lease_seconds / 3):
            try:
                response = self._send("PUT", f"/leases/{handle.lease.id}", json={"ttl_seconds": self.lease_seconds},
                                      allow={410})
            except ReconcilerError as exc:
                handle.lost = str(exc)
                return
            if response.status_code == 410:
                handle.lost = "it expired before it was renewed"
                return

    def _send(self, method: str, path: str, *, json=None, params=None, key: str | None = None,
              allow: set[int] = frozenset(), tries: list[int] | None = None) -> httpx.Response:
        """One request, retried as the module says; any failure left is a ReconcilerError naming the URL.

        `tries`, when given, gets each attempt's number: how many times the request was sent.
        """
        client = self.client()
        headers = {IDEMPOTENCY_HEADER: key} if key else None
        safe = method == "GET" or key is not None
        url = f"{self.url}{path}"

        def retry(exc: Exception):
            decision = _should_retry(exc, safe)
            if decision is not False:
                what = f"{exc.response.status_code} {exc.response.reason_phrase}" if isinstance(exc, _Transient) \
                    else (str(exc) or type(exc).__name__)
                print(f"note: the portal at {url}: {what}; retrying", file=sys.stderr, flush=True)
            return decision

        try:
            for attempt in stamina.retry_context(on=retry, attempts=RETRY_ATTEMPTS if self.retry_seconds else 1,
                                                 timeout=self.retry_seconds or None,
                                                 wait_initial=0.2, wait_max=5.0, wait_jitter=0.5):
                with attempt:
                    if tries is not None:
                        tries.append(attempt.num)
                    response = client.request(method, path, json=json, params=params, headers=headers)
                    if response.status_code in RETRY_STATUSES:
                        raise _Transient(response)
        except _Transient as exc:
            raise ReconcilerError(f"the portal at {url} is not available ({exc.response.status_code} "
                                  f"{exc.response.reason_phrase}, after retrying): try again later") from None
        except httpx.TimeoutException:
            raise ReconcilerError(f"the portal at {url} did not answer within {self.timeout:g} s (after "
                                  "retrying): try again later, or raise provider.timeout_seconds") from None
        except httpx.TransportError as exc:
            if _tls_failure(exc):
                raise ReconcilerError(f"the portal at {url} has a TLS certificate that cannot be verified ({exc}): "
                                      "add its CA with provider.ca_file in reconciler.yaml") from None
            raise ReconcilerError(f"cannot reach the portal at {url} ({exc or type(exc).__name__}): check that "
                                  "it runs and that provider.url in reconciler.yaml is right; "
                                  "applying again is safe") from None
        if response.is_success or response.status_code in allow:
            return response
        raise self._refused(response)

    def _refused(self, response: httpx.Response) -> ReconcilerError:
        url = str(response.request.url).split("?")[0]
        problem = _problem(response)
        detail = problem.get("detail") or problem.get("title") or response.reason_phrase
        status = response.status_code
        if status == 401:
            return ReconcilerError(f"the portal at {url} refused the token in {self.token_env} (401): set it "
                                   "to a valid token")
        if status == 403:
            return ReconcilerError(f"the portal at {url} does not allow this with the token in {self.token_env} "
                                   f"(403: {detail}): apply needs a write token")
        if status == 422 and problem.get("rule"):
            diagnostic = Diagnostic(Severity.ERROR, problem["rule"], detail, customer=problem.get("customer"),
                                    pbx=problem.get("pbx"))
            return StepRefused(detail, [diagnostic])
        return ReconcilerError(f"the portal at {url} answered {status} {response.reason_phrase}: {detail}")


def _should_retry(exc: Exception, safe: bool) -> bool | float:
    """Whether (or after how long: a Retry-After) to send again; `safe`: the request may be sent twice."""
    if isinstance(exc, _Transient):
        if not safe and exc.response.status_code not in NOT_DONE_STATUSES:
            return False
        return exc.retry_after if exc.retry_after is not None else True
    if isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout)):
        return not _tls_failure(exc)
    return safe and isinstance(exc, httpx.TransportError)


def _problem(response: httpx.Response) -> dict:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _tls_failure(exc: Exception) -> bool:
    return "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(exc.__cause__ or exc.__context__, ssl.SSLError)


def _owner() -> str:
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()} pid {os.getpid()}"


def _held(url: str, lease: Lease, timeout: float) -> LockHeld:
    waited = f" (waited {timeout:g} s)" if timeout > 0 else ""
    return LockHeld(f"the portal at {url} has a live lease on {', '.join(lease.customers)} by {lease.owner} "
                    f"({lease.operation}) since {lease.created.isoformat(timespec='seconds')}, until "
                    f"{lease.expires.isoformat(timespec='seconds')}; lease ID {lease.id}{waited}. Wait for it "
                    "(--lock-timeout SECONDS) or let it expire if that run is gone", lease.model_dump(mode="json"))
