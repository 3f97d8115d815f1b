#!/usr/bin/env python3
"""The project's tasks, runnable on a fresh machine with only Python 3.11+.

    python3 tasks.py demo      the main job on the examples
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


def run(*command) -> None:
    result = subprocess.run([str(part) for part in command], cwd=ROOT)
    if result.returncode != 0:
        sys.exit(result.returncode)


def demo() -> None:
    examples = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").iterdir() if p.is_dir())
    print("$ reconciler validate examples/*", file=sys.stderr)
    run(BIN / "reconciler", "validate", *examples)
    for example, today in (("examples/last-day-decrease", "2026-11-30"), ("examples/term-change", "2026-11-22")):
        print(f"\n$ reconciler plan {example} --today {today}", file=sys.stderr)
        run(BIN / "reconciler", "plan", example, "--today", today)


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
