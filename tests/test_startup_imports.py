"""A one-customer `plan --state` imports only what planning needs: start-up is most of its time.

Checked with `python -X importtime` on a real run: none of apply, the backends' stores, the HTTP API
and client, PostgreSQL, the HTML report's templates, ruamel.yaml, deepdiff or difflib is imported.
Beside imports, the two other cuts of start-up are pinned here: pydantic's scan of every installed
distribution for plugins is skipped, and the parser builds the flags of the chosen command only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys

import pytest
from pydantic import BaseModel

from reconciler.cli import build_parser
from tests.conftest import example_dirs

NOT_ON_THE_PLAN_PATH = ("reconciler.apply", "reconciler.backends.local", "reconciler.backends.postgres",
                        "reconciler.backends.history", "reconciler.api", "reconciler.render.html",
                        "httpx", "psycopg", "jinja2", "ruamel", "deepdiff", "fastapi", "starlette", "uvicorn",
                        "difflib")  # "did you mean" hints: only a file with an unknown key or product needs them


def test_plan_from_a_snapshot_imports_nothing_it_does_not_need():
    example = next(p for p in example_dirs() if p.name == "new-cloud-customer")
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "reconciler", "plan", str(example),
                          "--state", str(example / "state.yaml"), "--today", "2026-11-30"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode in (0, 2), run.stderr
    imported = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", run.stderr, re.MULTILINE)
    assert "reconciler.plan.planner" in imported  # the measurement saw the run
    unwanted = sorted(m for m in imported if m.startswith(NOT_ON_THE_PLAN_PATH))
    assert unwanted == []


PLUGIN = '''
import pathlib, os
pathlib.Path(os.environ["PLUGIN_MARKER"]).write_text("loaded")


class Plugin:
    def new_schema_validator(self, *args, **kwargs):
        return None, None, None


plugin = Plugin()
'''


def _plan_with_a_pydantic_plugin_installed(tmp_path, **env) -> bool:
    """Plan one example with a pydantic plugin on the path (an entry point in the `pydantic` group); was it loaded?"""
    site = tmp_path / "site"
    (site / "marker_plugin-1.0.dist-info").mkdir(parents=True)
    (site / "marker_plugin-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: marker-plugin\n"
                                                                   "Version: 1.0\n")
    (site / "marker_plugin-1.0.dist-info" / "entry_points.txt").write_text("[pydantic]\nmarker = marker_plugin:plugin\n")
    (site / "marker_plugin.py").write_text(PLUGIN)
    marker = tmp_path / "loaded"
    example = next(p for p in example_dirs() if p.name == "new-cloud-customer")
    environment = {k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"}
    environment.update(PYTHONPATH=str(site), PLUGIN_MARKER=str(marker), **env)
    run = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(example), "--state",
                          str(example / "state.yaml"), "--today", "2026-11-30"],
                         capture_output=True, text=True, timeout=120, env=environment)
    assert run.returncode in (0, 2), run.stderr
    assert "create-customer" in run.stdout  # the plan was made
    return marker.exists()


def test_plan_skips_pydantic_plugins_entry_point_scan(tmp_path):
    assert not _plan_with_a_pydantic_plugin_installed(tmp_path)


def test_a_user_who_sets_the_switch_empty_gets_pydantic_plugins_back(tmp_path):
    assert _plan_with_a_pydantic_plugin_installed(tmp_path, PYDANTIC_DISABLE_PLUGINS="")


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_a_run_builds_only_the_chosen_commands_flags():
    parser = build_parser(lazy=True)
    args = parser.parse_args(["plan", "repo", "--state", "repo/state.yaml", "--today", "2026-11-30"])
    assert (args.paths, args.state, args.today, args.format) == (["repo"], "repo/state.yaml", "2026-11-30", "text")
    built = [name for name, command in _commands(parser).choices.items() if command is not None]
    assert built == ["plan"]
    assert len(_commands(parser).choices) == 11  # every command is named, made or not


@pytest.mark.parametrize("words", [[], ["plan"], ["show"], ["sandbox"], ["sandbox", "serve"], ["completion"]])
def test_the_chosen_commands_help_is_the_whole_parsers(words, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    helps = []
    for parser in (build_parser(), build_parser(lazy=True)):
        with pytest.raises(SystemExit):
            parser.parse_args([*words, "--help"])
        helps.append(capsys.readouterr().out)
    assert helps[0] == helps[1]
    assert "usage: reconciler" in helps[0]


@pytest.mark.parametrize("words", [["plna"], [], ["plan", "--sate", "x"], ["sandbox"]])
def test_a_mistyped_command_reads_as_with_the_whole_parser(words, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    errors = []
    for parser in (build_parser(), build_parser(lazy=True)):
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(words)
        errors.append((exit_.value.code, capsys.readouterr().err))
    assert errors[0] == errors[1]
    assert errors[0][0] == 1 and "error:" in errors[0][1]


def _models_of(*modules):
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, BaseModel) and value.__module__ == module.__name__:
                yield value


def test_no_model_a_plan_builds_reads_the_text_signature_of_list():
    # pydantic reads each default factory's signature as it builds a model; the builtin `list`'s is parsed
    # from its text (the first time also compiling the tokenizer): 30 ms of a one-customer plan's start-up.
    from reconciler import config, desired, domain, snapshot
    from reconciler.plan import changes, model

    builtin = [f"{kind.__name__}.{name}" for kind in _models_of(config, desired, domain, snapshot, changes, model)
               for name, field in kind.model_fields.items() if field.default_factory is list]
    assert builtin == []


BUILT = '''
import contextlib, io, json, sys
from reconciler.cli import main
from reconciler.plan import changes, model
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["plan", sys.argv[1], "--state", sys.argv[2], "--today", "2026-11-30", "--format", "json"])
print(json.dumps({"actions": sorted({step["action"] for step in json.loads(out.getvalue())["steps"]}),
                  "classes": model.step_type.cache_info().currsize,
                  "built": sorted(name for name, kind in changes.FORMS.items() if kind.__pydantic_complete__)}))
'''


@pytest.mark.parametrize("name", ["new-cloud-customer", "last-day-decrease"])
def test_a_plan_defines_the_step_models_of_its_own_actions_only(name):
    # Eleven step classes and twelve changes models are most of what defining the plan's models costs;
    # a plan defines the ones of the actions it has (none at all for a plan without changes).
    example = next(p for p in example_dirs() if p.name == name)
    run = subprocess.run([sys.executable, "-c", BUILT, str(example), str(example / "state.yaml")],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    seen = json.loads(run.stdout.splitlines()[-1])
    assert seen["actions"]  # the example plans changes
    assert seen["classes"] == len(seen["actions"])
    assert set(seen["built"]) <= set(seen["actions"])


def test_a_plan_without_changes_defines_no_step_class(tmp_path):
    example = next(p for p in example_dirs() if p.name == "new-cloud-customer")
    repo = tmp_path / "repo"
    (repo / "customers").mkdir(parents=True)
    state = tmp_path / "state.yaml"
    state.write_text((example / "state.yaml").read_text())
    run = subprocess.run([sys.executable, "-c", BUILT, str(repo), str(state)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[-1]) == {"actions": [], "classes": 0, "built": []}
