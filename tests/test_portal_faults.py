"""Faults on the network path, injected into a real served sandbox: after each, the portal converges.

The connection dropped after the portal committed a step, 503s, an answer slower than
the client waits, the server killed -9 mid-apply and started again, two applies at
once, and a lease holder killed -9. Each ends with the portal holding exactly what an
uninterrupted apply leaves (nothing lost, nothing done twice).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import httpx

import pytest

from tests.portal_support import READ_TOKEN, WRITE_TOKEN, http_repo, served_example
from tests.test_apply_e2e import killed, reconciler
from tests.test_portal_http import NAME, apply_over_http, assert_converged

WAIT_SECONDS = 60


@pytest.mark.parametrize(("options", "settings"), [
    (("--fault", "drop-after-commit:2"), {}),
    (("--fault", "503:3", "--fault", "429:1"), {}),
    (("--fault", "timeout-after-commit:1", "--fault-delay", "4"), {"timeout_seconds": 1}),
], ids=["dropped-after-commit", "503-then-success", "timeout"])
def test_a_step_the_network_failed_is_done_once(tmp_path, options, settings):
    server, repo, today = served_example(tmp_path, NAME, *options, **settings)
    try:
        saved = ()
        if "503:3" in options:  # a plan saved with a read token (as on a pull request), applied with a write token
            reconciler(repo, "plan", "--today", today, "--out", "plan.json", env={"RECONCILER_PORTAL_TOKEN": READ_TOKEN},
                       check=True)
            saved = ("plan.json",)
        result = apply_over_http(repo, today, *saved)
        assert result.returncode == 0 and "Apply complete: 4 done." in result.stdout, result.stdout + result.stderr
        if "drop-after-commit:2" in options:
            assert server.log.read_text().count("ConnectionDropped: injected fault") == 2
        assert_converged(tmp_path, server, repo, today)
    finally:
        server.stop()


def _background_apply(repo, today, *extra) -> subprocess.Popen:
    env = {**os.environ, "NO_COLOR": "1", "RECONCILER_PORTAL_TOKEN": WRITE_TOKEN}
    return subprocess.Popen([sys.executable, "-m", "reconciler", "apply", "--today", today, "--auto-approve", *extra],
                            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.05)


def _steps_done(repo) -> int:
    journals = list((repo / ".reconciler").glob("portal-*.journal")) if (repo / ".reconciler").exists() else []
    return sum(journal.read_text().count('"step-done"') for journal in journals)


def test_the_server_killed_mid_apply_and_started_again(tmp_path):
    server, repo, today = served_example(tmp_path, NAME, "--latency-ms", "300")
    try:
        running = _background_apply(repo, today)
        _wait_for(lambda: _steps_done(repo) >= 1, "a first step")
        server.kill()
        server.start()
        out, err = running.communicate(timeout=WAIT_SECONDS)
        assert "Traceback" not in err
        assert running.returncode == 0 or "the portal at http://127.0.0.1" in out + err, out + err
        again = apply_over_http(repo, today)
        assert again.returncode == 0, again.stdout + again.stderr
        assert_converged(tmp_path, server, repo, today)
    finally:
        server.stop()


def test_two_applies_at_once_one_holds_the_lease_the_other_waits(tmp_path):
    server, repo, today = served_example(tmp_path, NAME, "--latency-ms", "200")
    other = http_repo(tmp_path / "other", NAME, server.url)  # another runner, another checkout
    try:
        runs = [_background_apply(checkout, today, "--lock-timeout", str(WAIT_SECONDS)) for checkout in (repo, other)]
        outputs = [run.communicate(timeout=WAIT_SECONDS * 2) for run in runs]
        assert [run.returncode for run in runs] == [0, 0], outputs
        assert _steps_done(repo) + _steps_done(other) == 4  # one run did every step, the other none
        assert_converged(tmp_path, server, repo, today)
    finally:
        server.stop()


def test_an_apply_stops_clearly_or_waits_while_another_run_holds_the_lease(tmp_path):
    server, repo, today = served_example(tmp_path, NAME)
    try:
        holder = httpx.post(f"{server.url}/leases", headers={"Authorization": f"Bearer {WRITE_TOKEN}"},
                            json={"owner": "ci job 7", "operation": "apply", "customers": ["initech", "globex"],
                                  "ttl_seconds": 600}).json()["lease"]
        stopped = apply_over_http(repo, today)
        assert stopped.returncode == 1
        assert f"the portal at {server.url} has a live lease on globex, initech by ci job 7 (apply)" in stopped.stderr
        assert "--lock-timeout" in stopped.stderr
        release = threading.Timer(2.0, lambda: httpx.delete(f"{server.url}/leases/{holder['id']}",
                                                             headers={"Authorization": f"Bearer {WRITE_TOKEN}"}))
        release.start()
        waited = apply_over_http(repo, today, "--lock-timeout", str(WAIT_SECONDS))
        release.join()
        assert waited.returncode == 0 and "Apply complete: 4 done." in waited.stdout, waited.stdout + waited.stderr
        assert_converged(tmp_path, server, repo, today)
    finally:
        server.stop()


def test_a_lease_holder_killed_leaves_a_lease_that_expires_and_is_reported(tmp_path):
    server, repo, today = served_example(tmp_path, NAME, lease_seconds=2)
    try:
        died = killed(repo, "after", 2, today, env={"RECONCILER_PORTAL_TOKEN": WRITE_TOKEN})  # a real kill -9
        assert died.returncode == 137
        again = apply_over_http(repo, today, "--lock-timeout", str(WAIT_SECONDS))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "expired without being released: that run may have stopped mid-apply" in again.stderr
        assert "did not finish" in again.stderr  # this runner's journal says which run and where
        assert_converged(tmp_path, server, repo, today)
    finally:
        server.stop()
