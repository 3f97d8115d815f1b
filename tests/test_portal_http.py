"""plan and apply over HTTP: `reconciler sandbox serve` as a real process, the `http` provider as a user runs it.

An apply through the served sandbox must leave exactly what an apply on the sandbox
file leaves: nothing lost, nothing done twice (the portal numbers the devices it
ships, so a doubled order shows as other serials). The read-only checks share one
server; each test that changes the portal has its own.
"""

from __future__ import annotations

import datetime as dt
import json

import httpx
import pytest

from tests.portal_support import (READ_TOKEN, WRITE_TOKEN, as_writer, exported, free_port, http_repo,
                                  served_example, uninterrupted)
from tests.test_apply_e2e import ready, reconciler

NAME = "new-cloud-customer"  # four steps, two of them orders the portal fills with serials it numbers


@pytest.fixture
def served(tmp_path):
    server, repo, today = served_example(tmp_path, NAME)
    yield server, repo, today
    server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server that no test changes: the transfer example, with two customers."""
    server, repo, today = served_example(tmp_path_factory.mktemp("shared"), "capex-conversion-and-transfer")
    yield server, repo, today
    server.stop()


def apply_over_http(repo, today, *extra, token=WRITE_TOKEN):
    return reconciler(repo, "apply", "--today", today, "--auto-approve", *extra, env=as_writer(token))


def planned_over_http(repo, today) -> dict:
    return json.loads(reconciler(repo, "plan", "--today", today, "--format", "json",
                                 env=as_writer(READ_TOKEN), check=True).stdout)


def assert_converged(tmp_path, server, repo, today, name=NAME):
    assert ready(planned_over_http(repo, today)) == []
    assert exported(server.home, today) == uninterrupted(tmp_path, name)


def test_plan_with_a_read_token_and_apply_with_a_write_token_converge(tmp_path, served):
    server, repo, today = served
    plan = reconciler(repo, "plan", "--today", today, env=as_writer(READ_TOKEN), check=True)
    assert "Plan: 4 ready" in plan.stdout
    result = apply_over_http(repo, today)
    assert result.returncode == 0 and "Apply complete: 4 done." in result.stdout, result.stdout + result.stderr
    assert_converged(tmp_path, server, repo, today)
    journal = next((repo / ".reconciler").glob("portal-*.journal")).read_text()
    for text in (plan.stdout, plan.stderr, result.stdout, result.stderr, journal):
        assert WRITE_TOKEN not in text and READ_TOKEN not in text
    # the same key twice does nothing more; the same key with another body is refused
    headers = {"Authorization": f"Bearer {WRITE_TOKEN}", "Idempotency-Key": "key-1"}
    body = {"today": today, "step": {"id": 1, "customer": "initech", "action": "order-hwaas",
                                     "pbx": "initech", "changes": {"product": "DuoLED", "quantity": 1}}}
    answers = [httpx.post(f"{server.url}/steps", json=body, headers=headers) for _ in range(2)]
    assert [a.json()["replayed"] for a in answers] == [False, True]
    once = exported(server.home, today)
    assert once.count("product: DuoLED") == uninterrupted(tmp_path, NAME).count("product: DuoLED") + 1
    other = httpx.post(f"{server.url}/steps", json={**body, "step": {**body["step"], "id": 2}}, headers=headers)
    assert other.status_code == 409 and other.json()["type"] == "urn:reconciler:problem:idempotency-key-reused"
    assert exported(server.home, today) == once


def test_a_read_token_cannot_apply_and_a_bad_token_cannot_read(shared):
    server, repo, today = shared
    before = exported(server.home, today)
    refused = apply_over_http(repo, today, token=READ_TOKEN)
    assert refused.returncode == 1
    assert f"the portal at {server.url}/leases does not allow this" in refused.stderr
    assert "apply needs a write token" in refused.stderr
    bad = reconciler(repo, "plan", "--today", today, env=as_writer("not-a-valid-token-at-all"))
    assert bad.returncode == 1 and "(401)" in bad.stderr and "not-a-valid-token" not in bad.stderr
    missing = reconciler(repo, "plan", "--today", today, env={"RECONCILER_PORTAL_TOKEN": ""})
    assert missing.returncode == 1 and "set the environment variable RECONCILER_PORTAL_TOKEN" in missing.stderr
    assert exported(server.home, today) == before
    anonymous = httpx.get(f"{server.url}/state", params={"date": today})
    assert anonymous.status_code == 401 and anonymous.headers["content-type"] == "application/problem+json"


def test_a_refused_step_is_a_problem_document_with_its_rule(shared):
    server, repo, today = shared
    step = {"id": 1, "customer": "nobody", "pbx": "nobody", "action": "add-licenses",
            "changes": {"licenses.basic": [0, 1]}}
    answer = httpx.post(f"{server.url}/steps", json={"today": today, "step": step},
                        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Idempotency-Key": "refused-1"})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["rule"] == "stale-plan" and problem["detail"].startswith("the portal refused")


def test_a_malformed_step_is_refused_as_schema_by_the_plans_step_models(shared):
    server, repo, today = shared
    step = {"id": 1, "customer": "acme", "pbx": "acme", "action": "order-hwaas", "changes": {"product": "WorkForce"}}
    answer = httpx.post(f"{server.url}/steps", json={"today": today, "step": step},
                        headers={"Authorization": f"Bearer {WRITE_TOKEN}", "Idempotency-Key": "malformed-1"})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert (problem["rule"], problem["customer"], problem["pbx"]) == ("schema", "acme", "acme")
    assert problem["detail"] == ("the portal refused order-hwaas on acme/acme: the step is not a valid order-hwaas "
                                 "step (changes.quantity: Field required) [schema]")
    late = httpx.post(f"{server.url}/steps", json={"today": "soon", "step": {**step, "changes": {
        "product": "WorkForce", "quantity": 1}}}, headers={"Authorization": f"Bearer {WRITE_TOKEN}",
                                                          "Idempotency-Key": "malformed-2"})
    assert late.status_code == 422 and late.json()["type"].endswith("invalid-request")  # the step is fine


def test_the_state_is_paged_under_one_version_that_a_saved_plan_records(shared):
    from reconciler.providers.http import HttpProvider
    from reconciler.providers.sandbox import SandboxProvider

    import os

    server, repo, today = shared
    headers = {"Authorization": f"Bearer {READ_TOKEN}"}
    pages, params = [], {"date": today, "limit": 1}
    while True:
        page = httpx.get(f"{server.url}/state", params=params, headers=headers).json()
        pages.append(page)
        if page["next_cursor"] is None:
            break
        params = {**params, "cursor": page["next_cursor"], "version": pages[0]["version"]}
    assert len(pages) == pages[0]["total"] > 1
    stale = httpx.get(f"{server.url}/state", params={**params, "version": "sha256:0"}, headers=headers)
    assert stale.status_code == 412
    reconciler(repo, "plan", "--today", today, "--out", "plan.json", env=as_writer(READ_TOKEN), check=True)
    assert json.loads((repo / "plan.json").read_text())["fingerprints"]["current"] == pages[0]["version"]
    # the client, one customer a page, reads what the sandbox file holds
    os.environ["RECONCILER_PORTAL_TOKEN"] = READ_TOKEN
    try:
        client = HttpProvider(server.url)
        client.page_size = 1
        day = dt.date.fromisoformat(today)
        assert client.read(day) == SandboxProvider(server.home / ".reconciler" / "sandbox.db").read(day)
    finally:
        del os.environ["RECONCILER_PORTAL_TOKEN"]


def test_a_token_in_the_configuration_is_refused(tmp_path):
    repo = http_repo(tmp_path / "repo", NAME, "http://127.0.0.1:9/v1", token="s3cret-s3cret-s3cret")
    result = reconciler(repo, "plan", "--today", "2026-11-22", env=as_writer())
    assert result.returncode == 1
    assert "a token is never written in reconciler.yaml" in result.stderr and "s3cret" not in result.stderr


def test_an_unreachable_portal_is_one_clear_message(tmp_path):
    url = f"http://127.0.0.1:{free_port()}/v1"
    repo = http_repo(tmp_path / "repo", NAME, url, retry_seconds=1)
    result = reconciler(repo, "plan", "--today", "2026-11-22", env=as_writer())
    assert result.returncode == 1
    assert f"cannot reach the portal at {url}/state" in result.stderr
    assert "provider.url in reconciler.yaml" in result.stderr


def test_tls_is_verified_and_ca_file_adds_a_ca(tmp_path):
    import trustme

    from tests.portal_support import Server

    authority = trustme.CA()
    issued = authority.issue_cert("127.0.0.1")
    certificate, key, ca = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    issued.cert_chain_pems[0].write_to_path(str(certificate))
    issued.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    home = tmp_path / "portal"
    home.mkdir()
    server = Server(home, "--tls-cert", str(certificate), "--tls-key", str(key), ca=ca).start()
    try:
        untrusted = http_repo(tmp_path / "untrusted", NAME, server.url)
        refused = reconciler(untrusted, "plan", "--today", "2026-11-22", env=as_writer(READ_TOKEN))
        assert refused.returncode == 1
        assert f"the portal at {server.url}/state has a TLS certificate that cannot be verified" in refused.stderr
        assert "add its CA with provider.ca_file" in refused.stderr
        trusted = http_repo(tmp_path / "trusted", NAME, server.url, ca_file=str(ca))
        assert "Plan: 7 ready" in reconciler(trusted, "plan", "--today", "2026-11-22", env=as_writer(READ_TOKEN),
                                             check=True).stdout
    finally:
        server.stop()


def test_serve_needs_tokens_and_refuses_short_ones(tmp_path, monkeypatch, capsys):
    from reconciler.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RECONCILER_SERVE_TOKENS", raising=False)
    assert main(["sandbox", "serve"]) == 1
    assert "the portal needs at least one token" in capsys.readouterr().err
    monkeypatch.setenv("RECONCILER_SERVE_TOKENS", "write:tiny-secret")
    assert main(["sandbox", "serve"]) == 1
    error = capsys.readouterr().err
    assert "the token of entry 1 is shorter than 16 characters" in error and "tiny-secret" not in error
    (tmp_path / "tokens").write_text("# the CI tokens\nread:" + "r" * 20 + "\nadmin:" + "a" * 20 + "\n")
    assert main(["sandbox", "serve", "--tokens", "tokens"]) == 1
    assert "tokens: entry 2 is not read:TOKEN or write:TOKEN" in capsys.readouterr().err


def test_a_step_carried_out_by_an_earlier_call_is_skipped_never_done_again(served, monkeypatch):
    # a resumed run sends a step it had carried out before it stopped: the portal answers "replayed", the
    # provider says nothing happened now (apply reports it skipped), even when the server restarted between
    from reconciler.plan.model import parse_step
    from reconciler.providers.http import HttpProvider

    server, repo, today = served
    assert apply_over_http(repo, today).returncode == 0  # the customer and its PBX exist
    monkeypatch.setenv("RECONCILER_PORTAL_TOKEN", WRITE_TOKEN)
    step = parse_step({"id": 1, "customer": "initech", "action": "order-hwaas", "pbx": "initech",
                       "changes": {"product": "DuoLED", "quantity": 1}})
    day = dt.date.fromisoformat(today)
    assert HttpProvider(server.url).execute(step, day, "run-1:1") is True
    once = exported(server.home, today)
    server.stop()
    server.start()  # the server's own record of answers is gone; the portal still knows the key
    assert HttpProvider(server.url).execute(step, day, "run-1:1") is False
    assert exported(server.home, today) == once
