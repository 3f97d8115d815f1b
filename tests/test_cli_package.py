"""reconciler/cli/ stays a package of small modules with one entry point and no import cycle.

The console script and `python -m reconciler` both reach `reconciler.cli:main`; each module
of the package is under 400 lines and says why it exists; the command modules never import
the package itself, and each imports first in a fresh interpreter (a cycle among them would
stop one of those imports half-way).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "reconciler" / "cli"
MODULES = sorted(PACKAGE.glob("*.py"))


def test_the_console_script_is_reconciler_cli_run():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["scripts"] == {"reconciler": "reconciler.cli:run"}
    assert not (ROOT / "reconciler" / "cli.py").exists()  # the package, not a module beside it


@pytest.mark.parametrize("module", MODULES, ids=[m.name for m in MODULES])
def test_every_module_is_under_400_lines_with_a_docstring(module):
    text = module.read_text(encoding="utf-8")
    assert len(text.splitlines()) < 400
    assert ast.get_docstring(ast.parse(text)), f"{module.name} says nowhere why it exists"


@pytest.mark.parametrize("module", [m for m in MODULES if m.name != "__init__.py"], ids=lambda m: m.name)
def test_each_module_imports_alone_and_never_imports_the_package_itself(module):
    tree = ast.parse(module.read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "reconciler.cli" not in imported
    name = f"reconciler.cli.{module.stem}"
    done = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_python_dash_m_reconciler_is_the_same_entry_point():
    done = subprocess.run([sys.executable, "-m", "reconciler", "--version"], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("reconciler ")
    usage = subprocess.run([sys.executable, "-m", "reconciler", "no-such-command"], capture_output=True,
                           text=True, cwd=ROOT, timeout=60)
    assert usage.returncode == 1 and "invalid choice" in usage.stderr  # main's exit code for a usage error
