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
    words = name.split()[1:]  # each example runs this very command (`show` is not `sandbox show`)
    assert all(_command_words(line, len(words)) == words for line in examples)


def _command_words(example: str, count: int) -> list[str]:
    words = example.split()[1:]
    if words[:1] == ["-C"]:
        words = words[2:]
    return words[:count]


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


def _planned(tmp_path, monkeypatch, out: str):
    """A sandbox copy of last-day-decrease, planned with --out OUT from its root; returns the repo."""
    monkeypatch.chdir(tmp_path)
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "last-day-decrease", repo)
    (repo / "reconciler.yaml").write_text("provider:\n  kind: sandbox\n")
    assert main(["-C", str(repo), "sandbox", "load", "state.yaml"]) == 0
    assert main(["-C", str(repo), "plan", "--today", "2026-11-30", "--out", out]) == 0
    return repo


def test_apply_from_another_directory_finds_the_repo_the_saved_plan_names(tmp_path, monkeypatch, capsys):
    repo = _planned(tmp_path, monkeypatch, "plans/today.json")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["apply", str(repo / "plans" / "today.json"), "--today", "2026-11-30"]) == 0
    captured = capsys.readouterr()
    assert f"the plan belongs to the repo at {repo}: applying there" in captured.err
    assert "add-licenses umbrella/umbrella: done" in captured.out


def test_apply_of_a_plan_whose_repo_is_not_there_says_how_to_get_there(tmp_path, monkeypatch, capsys):
    repo = _planned(tmp_path, monkeypatch, "today.json")
    moved = tmp_path / "downloads"
    moved.mkdir()
    shutil.move(repo / "today.json", moved / "today.json")  # e.g. a CI artifact, downloaded elsewhere
    (moved / "notes.yaml").write_text("not: a customer\n")
    monkeypatch.chdir(moved)
    capsys.readouterr()
    assert main(["apply", "today.json", "--today", "2026-11-30"]) == 1
    err = capsys.readouterr().err
    assert "is not the repo of today.json: run from the repo root or pass -C DIR" in err
    assert "notes.yaml" not in err  # no scan of the current directory's unrelated files
