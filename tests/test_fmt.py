"""`reconciler fmt`: one canonical form, the comments kept; `--check` for pre-commit and CI."""

from __future__ import annotations

import pytest

from reconciler.cli import main
from reconciler.fmt import format_text
from reconciler.desired import CustomerFile
from reconciler.repo import load_customer
from scripts.render_examples import examples
from tests.conftest import EXAMPLES

SCRAMBLED = """\
# yaml-language-server: $schema=../schemas/customer.schema.json
# Acme: the main office
pbxes:
  acme:
    term: 1y                 # renewed in May
    licenses: {premium: 5, basic: 10}   # basic for the door phones
    region: eu-central
    model: cloud
    hwaas:
      WorkForce: 4
contacts: [{email: jane@acme.example, name: Jane Doe}]   # the IT lead
company: "Acme GmbH"
customer: acme
"""

CANONICAL = """\
# yaml-language-server: $schema=../schemas/customer.schema.json
# Acme: the main office
customer: acme
company: "Acme GmbH"
contacts:                                                # the IT lead
  - name: Jane Doe
    email: jane@acme.example
pbxes:
  acme:
    model: cloud
    region: eu-central
    term: 1y                 # renewed in May
    licenses:                           # basic for the door phones
      basic: 10
      premium: 5
    hwaas:
      WorkForce: 4
"""


def test_a_file_with_comments_is_formatted_with_its_comments_kept(tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text(SCRAMBLED, encoding="utf-8")
    assert main(["fmt", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}\n"
    assert path.read_text(encoding="utf-8") == CANONICAL
    for comment in ("# Acme: the main office", "# renewed in May", "# basic for the door phones", "# the IT lead"):
        assert comment in path.read_text(encoding="utf-8")
    before = tmp_path / "before.yaml"
    before.write_text(SCRAMBLED, encoding="utf-8")
    assert load_customer(path)[0].model == load_customer(before)[0].model  # the same customer, reformatted


def test_the_canonical_form_is_a_fixed_point():
    assert format_text(CANONICAL, CustomerFile) == CANONICAL


def test_check_names_the_files_that_would_change_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "customers").mkdir()
    scrambled, canonical = tmp_path / "customers" / "acme.yaml", tmp_path / "customers" / "globex.yaml"
    scrambled.write_text(SCRAMBLED, encoding="utf-8")
    canonical.write_text(CANONICAL.replace("acme", "globex"), encoding="utf-8")
    (tmp_path / "reconciler.yaml").write_text("timezone: Europe/Rome\nprovider: {kind: sandbox}\n")
    assert main(["fmt", "--check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [str(tmp_path / "reconciler.yaml"), str(scrambled)]
    assert "2 file(s) not in the canonical form" in captured.err
    assert scrambled.read_text(encoding="utf-8") == SCRAMBLED
    assert (tmp_path / "reconciler.yaml").read_text() == "timezone: Europe/Rome\nprovider: {kind: sandbox}\n"
    assert main(["fmt", str(tmp_path)]) == 0
    assert (tmp_path / "reconciler.yaml").read_text() == "provider:\n  kind: sandbox\ntimezone: Europe/Rome\n"
    capsys.readouterr()
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_diff_shows_the_change(tmp_path, capsys):
    path = tmp_path / "acme.yaml"
    path.write_text(SCRAMBLED, encoding="utf-8")
    assert main(["fmt", "--check", "--diff", str(path)]) == 1
    out = capsys.readouterr().out
    assert "+customer: acme\n" in out and "-customer: acme\n" in out
    assert path.read_text(encoding="utf-8") == SCRAMBLED


def test_every_example_is_in_the_canonical_form(capsys):
    assert main(["fmt", "--check", *[str(p) for p in sorted(EXAMPLES.iterdir()) if p.is_dir()]]) == 0
    assert capsys.readouterr().out == ""


def test_a_file_that_is_not_yaml_is_reported_and_left_alone(tmp_path, capsys):
    path = tmp_path / "broken.yaml"
    text = "customer: acme\ncompany: [Acme\n"
    path.write_text(text, encoding="utf-8")
    assert main(["fmt", str(path)]) == 1
    assert f"{path}:" in capsys.readouterr().err
    assert path.read_text(encoding="utf-8") == text


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
def test_export_writes_the_canonical_form(example, tmp_path, capsys):
    assert main(["export", "--state", str(example / "state.yaml"), "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["fmt", "--check", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""


def test_the_pre_commit_hook_fails_a_repo_with_a_file_out_of_form(tmp_path, capsys, monkeypatch):
    import re
    import shlex

    from ruamel.yaml import YAML

    from tests.conftest import ROOT

    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    (hook,) = [h for h in hooks if h["id"] == "reconciler-fmt"]
    command = shlex.split(hook["entry"])
    assert command[0] == "reconciler" and hook["pass_filenames"] is False
    assert re.search(hook["files"], "customers/acme.yaml") and re.search(hook["files"], "reconciler.yaml")
    (tmp_path / "customers").mkdir()
    (tmp_path / "customers" / "acme.yaml").write_text(CANONICAL, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(command[1:]) == 0
    (tmp_path / "customers" / "acme.yaml").write_text(SCRAMBLED, encoding="utf-8")
    assert main(command[1:]) == 1
    assert capsys.readouterr().out.strip() == "customers/acme.yaml"
