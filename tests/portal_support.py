"""A real `reconciler sandbox serve` process on a free port of 127.0.0.1, and repos that reach it.

Tests start it, stop it (SIGTERM, then SIGKILL) and may kill it -9 and start it again on
the same port; every wait is bounded.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reconciler.export import dump
from reconciler.providers.sandbox import SandboxProvider
from reconciler.providers.snapshot import SnapshotProvider

from tests.test_apply_e2e import EXAMPLES, reconciler
from scripts.render_examples import as_of

READ_TOKEN = "read-token-" + "r" * 24
WRITE_TOKEN = "write-token-" + "w" * 24
TOKENS = f"read:{READ_TOKEN} write:{WRITE_TOKEN}"
START_SECONDS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`reconciler sandbox serve` over the sandbox in `home` (its .reconciler/sandbox.db)."""

    def __init__(self, home: Path, *options: str, ca: Path | None = None):
        self.home, self.options, self.port, self.ca = home, options, free_port(), ca  # ca: serve HTTPS
        self.process: subprocess.Popen | None = None
        self.log = home / "server.log"

    @property
    def url(self) -> str:
        return f"{'https' if self.ca else 'http'}://127.0.0.1:{self.port}/v1"

    def start(self, *options: str) -> Server:
        env = {**os.environ, "RECONCILER_SERVE_TOKENS": TOKENS}
        env.pop("RECONCILER_PORTAL_TOKEN", None)
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "reconciler", "sandbox", "serve", "--port",
                                             str(self.port), *(options or self.options)], cwd=self.home, env=env,
                                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                verify = ssl.create_default_context(cafile=str(self.ca)) if self.ca else True
                if httpx.get(f"{self.url}/health", timeout=1, verify=verify).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the server did not start within {START_SECONDS} s: {self.log.read_text()}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def served_example(tmp_path: Path, name: str, *options: str, **settings) -> tuple[Server, Path, str]:
    """The example's state loaded into a sandbox, a server started on it, and a copy of the repo that uses it."""
    home = tmp_path / "portal"
    load_sandbox(home, EXAMPLES[name] / "state.yaml")
    server = Server(home, *options).start()
    repo = http_repo(tmp_path / "repo", name, server.url, **settings)
    return server, repo, as_of(EXAMPLES[name])


def http_repo(repo: Path, name: str, url: str, **settings) -> Path:
    shutil.copytree(EXAMPLES[name] / "customers", repo / "customers")
    lines = ["provider:", "  kind: http", f"  url: {url}", *(f"  {k}: {v}" for k, v in settings.items())]
    (repo / "reconciler.yaml").write_text("\n".join(lines) + "\n")
    return repo


def as_writer(token: str = WRITE_TOKEN) -> dict:
    return {"RECONCILER_PORTAL_TOKEN": token}


def sandbox_file(home: Path) -> SandboxProvider:
    return SandboxProvider(home / ".reconciler" / "sandbox.db")


def load_sandbox(home: Path, state: Path) -> None:
    """What `reconciler sandbox load STATE` does in `home`, in this process (the tests start enough processes)."""
    home.mkdir(parents=True, exist_ok=True)
    sandbox_file(home).load(SnapshotProvider(state).read())


def exported(home: Path, today: str) -> str:
    """The portal's state as the sandbox file holds it (read directly, not over HTTP), as `sandbox show` prints it."""
    return dump(sandbox_file(home).read(dt.date.fromisoformat(today)).model_dump(mode="python"))


_REFERENCE: dict[str, str] = {}


def uninterrupted(tmp_path: Path, name: str) -> str:
    """The state the example reaches when applied on the sandbox file, with nothing going wrong (made once)."""
    from tests.test_apply_e2e import sandbox_repo

    if name not in _REFERENCE:
        repo, today = sandbox_repo(tmp_path / "reference", name)
        reconciler(repo, "apply", "--today", today, "--auto-approve", check=True)
        _REFERENCE[name] = exported(repo, today)
    return _REFERENCE[name]
