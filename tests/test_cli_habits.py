"""The command line behaves as its peers do: -C DIR, --no-color and FORCE_COLOR, examples in --help, completion."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess

import pytest

from reconciler.cli import build_parser, main
from reconciler.providers.snapshot import SnapshotProvider
from tests.conftest import EXAMPLES

COSTS = EXAMPLES / "costs"
ESC = "\x1b["


def leaf_parsers(parser: argparse.ArgumentParser, name: str = "reconciler"):
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        yield name, parser
        return
    for child_name, child in nested[0].choices.items():
        yield from leaf_parsers(child, f"{name} {child_name}")


LEAVES = dict(leaf_parsers(build_parser()))


def test_chdir_runs_the_command_in_that_directory(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # an unrelated directory, as in a CI job's workspace
    assert main(["-C", str(COSTS), "plan", "--today", "2020-08-14", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["steps"]  # the costs example's steps, read through its reconciler.yaml (a relative state path)
    assert main(["--chdir", str(COSTS), "validate", "customers/acme.yaml"]) == 0


def test_chdir_to_a_missing_directory_is_an_error_not_a_traceback(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["-C", "nowhere", "validate"]) == 1
    assert "error: -C nowhere: No such file or directory" in capsys.readouterr().err


@pytest.mark.parametrize("name", sorted(LEAVES))
def test_every_command_takes_no_color_and_ends_its_help_with_examples(name):
    parser = LEAVES[name]
    assert "--no-color" in parser._option_string_actions
    examples = parser.format_help().split("examples:\n")[1].splitlines()
    assert 1 <= len(examples) <= 3
    assert all(line.startswith("  reconciler ") for line in examples)


def _plan(capsys, *extra):
    main(["plan", str(COSTS), "--today", "2020-08-14", *extra])
    return capsys.readouterr().out


def test_force_color_colors_a_plan_that_goes_to_a_file_and_no_color_wins(monkeypatch, capsys):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    assert ESC not in _plan(capsys)  # captured: no terminal, no colors
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert ESC in _plan(capsys)
    assert ESC not in _plan(capsys, "--no-color")
    monkeypatch.setenv("FORCE_COLOR", "0")
    assert ESC not in _plan(capsys)


def test_bash_completion_completes_commands_and_options(capsys, tmp_path):
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "reconciler.bash"
    script.write_text(capsys.readouterr().out)
    probe = (f"source {script}; COMP_WORDS=(reconciler pl); COMP_CWORD=1; _shtab_reconciler; echo \"${{COMPREPLY[@]}}\";"
             " COMP_WORDS=(reconciler sandbox show --fo); COMP_CWORD=3; _shtab_reconciler; echo \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30)
    assert done.stdout.splitlines() == ["plan", "--format"], done.stderr


@pytest.mark.parametrize(("shell", "marker"), [("zsh", "#compdef reconciler"), ("fish", "complete -c reconciler")])
def test_zsh_and_fish_completion_scripts_name_the_commands(shell, marker, capsys):
    assert main(["completion", shell]) == 0
    script = capsys.readouterr().out
    assert marker in script
    for command in ("validate", "plan", "apply", "fmt", "export"):
        assert command in script
    if shutil.which(shell):
        assert subprocess.run([shell, "-n"], input=script, text=True, timeout=30).returncode == 0


def test_sandbox_show_prints_json_for_scripts(tmp_path, capsys):
    state = EXAMPLES / "new-cloud-customer" / "state.yaml"
    assert main(["sandbox", "load", str(state), "--repo", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["sandbox", "show", "--format", "json", "--today", "2026-11-22", "--repo", str(tmp_path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["customers"].keys() == SnapshotProvider(state).read().model_dump(mode="json")["customers"].keys()
    assert shown["as_of"] == "2026-11-22"
