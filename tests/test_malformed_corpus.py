"""Golden cases of broken input: each gets clear, positioned messages and exit 1, never a traceback.

`tests/data/malformed/NAME.yaml` is a customer file aimed at one problem. `NAME.expected` holds
the exact diagnostic lines `reconciler validate NAME.yaml` prints (stderr, less the closing
"N files checked" summary), with the file's path written as `{file}`. An empty `.expected`
means the file is valid. `config/reconciler-*.yaml` are repo configurations, read with
`reconciler.repo.load_config`, with goldens of the same form.

A `NAME.xfail` file beside a case names a bug in reconciler/ that the case shows; its
`.expected` then says what should be printed, and the case is a strict xfail until fixed.

After a deliberate change of messages, rewrite the goldens of the cases without `.xfail`:

    .venv/bin/python -m tests.test_malformed_corpus

and read every changed `.expected` (is the message clear? does the position point at the
offending key or value?) before committing it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.diagnostics import sorted_diagnostics
from reconciler.repo import load_config
from reconciler.validate import validate_paths

DATA = Path(__file__).resolve().parent / "data" / "malformed"
CONFIG_DATA = DATA / "config"
PLACEHOLDER = "{file}"
SUMMARY = re.compile(r"^\d+ files? checked[,:] ")
SLOW = 10.0  # seconds; no case may come near this (an alias bomb or quadratic parse would)


def customer_cases() -> list[Path]:
    return sorted(DATA.glob("*.yaml"))


def config_cases() -> list[Path]:
    return sorted(CONFIG_DATA.glob("reconciler-*.yaml"))


def expected_lines(case: Path) -> list[str]:
    return case.with_suffix(".expected").read_text(encoding="utf-8").splitlines()


def params(cases: list[Path]) -> list:
    """One pytest param per case, a strict xfail where a NAME.xfail names a known bug."""
    found = []
    for case in cases:
        bug = case.with_suffix(".xfail")
        marks = [pytest.mark.xfail(strict=True, reason=bug.read_text(encoding="utf-8").strip())] if bug.exists() else []
        found.append(pytest.param(case, id=case.stem, marks=marks))
    return found


def run_validate(path: Path, capsys) -> tuple[int, list[str], str]:
    """(exit code, diagnostic lines with {file}, everything printed)."""
    code = main(["validate", str(path)])
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines and SUMMARY.match(lines[-1]), f"no summary line at the end of stderr:\n{err}"
    return code, [line.replace(str(path), PLACEHOLDER) for line in lines[:-1]], out + err


def config_lines(path: Path) -> list[str]:
    _, diagnostics = load_config(path)
    return [d.format().replace(str(path), PLACEHOLDER) for d in sorted_diagnostics(diagnostics)]


# --- the corpus itself -------------------------------------------------------------------------

def test_the_corpus_is_complete():
    cases = customer_cases()
    assert len(cases) >= 35
    assert len(config_cases()) >= 4
    for case in cases + config_cases():
        assert case.with_suffix(".expected").exists(), f"{case.name} has no .expected golden"
    strays = {p.stem for p in DATA.rglob("*.expected")} - {p.stem for p in cases + config_cases()}
    assert not strays, f"goldens without a case: {sorted(strays)}"


@pytest.mark.parametrize("case", params(customer_cases()))
def test_validate_prints_the_golden_diagnostics(case, capsys):
    expected = expected_lines(case)
    code, lines, printed = run_validate(case, capsys)
    assert "Traceback" not in printed
    assert lines == expected
    assert code == (1 if expected else 0)


@pytest.mark.parametrize("case", params(config_cases()))
def test_load_config_gives_the_golden_diagnostics(case):
    assert config_lines(case) == expected_lines(case)


@pytest.mark.parametrize("case", params(config_cases()))
def test_validate_reports_a_bad_config_file(case, tmp_path, capsys):
    """The same configuration, under its real name, through the command line."""
    config = tmp_path / "reconciler.yaml"
    shutil.copyfile(case, config)
    expected = expected_lines(case)
    code, lines, printed = run_validate(config, capsys)
    assert "Traceback" not in printed
    assert lines == expected
    assert code == (1 if expected else 0)


# --- robustness: no exception, no hang, no traceback --------------------------------------------

@pytest.mark.parametrize("case", customer_cases() + config_cases(), ids=lambda p: p.stem)
def test_every_case_is_handled_without_raising(case):
    started = time.perf_counter()
    try:
        if case.parent == CONFIG_DATA:
            _, diagnostics = load_config(case)
        else:
            diagnostics = validate_paths([str(case)]).diagnostics
    except Exception as exc:  # noqa: BLE001 - any exception at all is the failure this test looks for
        pytest.fail(f"{case.name} raised {type(exc).__name__}: {exc}")
    assert time.perf_counter() - started < SLOW
    assert all(d.file == str(case) and d.message for d in diagnostics)


def test_the_alias_bomb_is_refused_in_well_under_a_second():
    started = time.perf_counter()
    result = validate_paths([str(DATA / "alias-bomb.yaml")])
    assert time.perf_counter() - started < 1.0
    assert [d.rule for d in result.diagnostics] == ["schema"]
    assert "aliases" in result.diagnostics[0].message


@pytest.mark.parametrize("name", ["alias-bomb", "binary-nul", "non-utf8-latin1"])
def test_python_m_reconciler_fails_cleanly(name):
    path = DATA / f"{name}.yaml"
    done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=DATA)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    for line in expected_lines(path):
        assert line.replace(PLACEHOLDER, str(path)) in done.stderr.splitlines()


# --- regeneration ------------------------------------------------------------------------------

def regenerate() -> list[Path]:
    """Rewrite the goldens of the cases that have no .xfail; returns the files that changed."""
    import contextlib
    import io

    changed = []
    for case in customer_cases() + config_cases():
        if case.with_suffix(".xfail").exists():
            continue
        if case.parent == CONFIG_DATA:
            lines = config_lines(case)
        else:
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                main(["validate", str(case)])
            lines = [line.replace(str(case), PLACEHOLDER) for line in err.getvalue().splitlines()[:-1]]
        golden = case.with_suffix(".expected")
        text = "".join(line + "\n" for line in lines)
        if not golden.exists() or golden.read_text(encoding="utf-8") != text:
            golden.write_text(text, encoding="utf-8")
            changed.append(golden)
    return changed


if __name__ == "__main__":
    os.chdir(DATA)
    for path in regenerate():
        print(f"rewrote {path.relative_to(DATA)}")
