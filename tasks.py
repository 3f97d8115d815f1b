#!/usr/bin/env python3
"""The project's tasks, runnable on a fresh machine with only Python 3.11+.

    python3 tasks.py demo      the main job: plan and apply an example on the sandbox, then over HTTP
    python3 tasks.py test      the test suite
    python3 tasks.py schemas   regenerate schemas/ from the models
    python3 tasks.py plans     regenerate plans/: the rendered plans of the examples

Each task creates the virtual environment `.venv` when it is missing (or when
pyproject.toml changed since it was made) and installs the project into it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".installed"


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"reconciler needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print("creating .venv", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("installing reconciler and its test dependencies into .venv", file=sys.stderr)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[test]")
    STAMP.write_text(wanted)


def run(*command, cwd: Path = ROOT) -> None:
    sys.stdout.flush()
    result = subprocess.run([str(part) for part in command], cwd=cwd)
    if result.returncode != 0:
        sys.exit(result.returncode)


DEMO_EXAMPLE, DEMO_TODAY = "new-cloud-customer", "2026-11-22"


def demo() -> None:
    """The whole story on a fresh sandbox: validate, load the portal's state, plan, apply, plan again."""
    import shutil

    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").iterdir() if (p / "state.yaml").is_file())
    say("reconciler validate examples/*")
    run(BIN / "reconciler", "validate", *examples)

    example = ROOT / "examples" / DEMO_EXAMPLE
    repo = ROOT / ".reconciler" / "demo"  # a scratch repo on the default provider: the sandbox
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(example / "customers", repo / "customers")
    today = ("--today", DEMO_TODAY)
    say(f"cd .reconciler/demo   # customers/ of examples/{DEMO_EXAMPLE}, no reconciler.yaml: the sandbox")
    say(f"reconciler sandbox load examples/{DEMO_EXAMPLE}/state.yaml")
    run(BIN / "reconciler", "sandbox", "load", example / "state.yaml", cwd=repo)
    for command in (("plan", *today), ("apply", *today, "--auto-approve"), ("plan", *today)):
        say("reconciler " + " ".join(command))
        run(BIN / "reconciler", *command, cwd=repo)
    served_demo(example, today)


def served_demo(example: Path, today: tuple[str, str]) -> None:
    """The same story over the network: the sandbox served over HTTP, a repo with `provider: {kind: http}`."""
    import secrets
    import shutil
    import socket
    import time
    import urllib.request

    home, repo = ROOT / ".reconciler" / "demo-portal", ROOT / ".reconciler" / "demo-http"
    for folder in (home, repo):
        shutil.rmtree(folder, ignore_errors=True)
    home.mkdir(parents=True)
    shutil.copytree(example / "customers", repo / "customers")
    with socket.socket() as probe:  # a free port, so the demo runs beside anything else on the machine
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    (repo / "reconciler.yaml").write_text(f"provider:\n  kind: http\n  url: {url}\n", encoding="utf-8")
    read, write = secrets.token_hex(24), secrets.token_hex(24)
    say(f"cd .reconciler/demo-portal; reconciler sandbox load examples/{DEMO_EXAMPLE}/state.yaml")
    run(BIN / "reconciler", "sandbox", "load", example / "state.yaml", cwd=home)
    say(f"RECONCILER_SERVE_TOKENS='read:... write:...' reconciler sandbox serve --port {port} &")
    server = subprocess.Popen([str(BIN / "reconciler"), "sandbox", "serve", "--port", str(port)], cwd=home,
                              env={**os.environ, "RECONCILER_SERVE_TOKENS": f"read:{read} write:{write}"})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/health", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the served sandbox did not start on port {port}")
                time.sleep(0.2)
        say(f"cd .reconciler/demo-http   # customers/ of examples/{DEMO_EXAMPLE}, provider: {{kind: http, url: {url}}}")
        for token, command in ((read, ("plan", *today)), (write, ("apply", *today, "--auto-approve")),
                               (read, ("plan", *today))):
            scope = "read" if token == read else "write"
            say(f"RECONCILER_PORTAL_TOKEN=<{scope} token> reconciler " + " ".join(command))
            os.environ["RECONCILER_PORTAL_TOKEN"] = token
            run(BIN / "reconciler", *command, cwd=repo)
    finally:
        os.environ.pop("RECONCILER_PORTAL_TOKEN", None)
        server.terminate()
        server.wait(timeout=30)


def say(command: str) -> None:
    print(f"\n$ {command}", file=sys.stderr, flush=True)


def test() -> None:
    run(BIN / "python", "-m", "pytest", *sys.argv[2:])


def schemas() -> None:
    run(BIN / "reconciler", "schema", "--out", ROOT / "schemas")


def plans() -> None:
    run(BIN / "python", ROOT / "scripts" / "render_examples.py")


TASKS = {"demo": demo, "test": test, "schemas": schemas, "plans": plans}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TASKS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(TASKS)}}}")
    ensure_venv()
    TASKS[sys.argv[1]]()


if __name__ == "__main__":
    main()
