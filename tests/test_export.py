"""`reconciler export`: onboarding writes files that plan to no steps against the same portal."""

from __future__ import annotations

import pytest

from reconciler.cli import main
from reconciler.providers.snapshot import SnapshotProvider
from scripts.render_examples import as_of, examples


LEGACY = "cloud-decommission"  # wayne holds licenses on two PBXs, as the portal allowed before 2022-04-19


@pytest.mark.parametrize("example", [e for e in examples() if e.name != LEGACY], ids=lambda e: e.name)
def test_exported_files_plan_to_no_steps(example, tmp_path, capsys):
    state = example / "state.yaml"
    out = tmp_path / "onboarded"
    assert main(["export", "--state", str(state), "--out", str(out), "--today", as_of(example)]) == 0
    assert main(["validate", str(out)]) == 0
    capsys.readouterr()
    code = main(["plan", str(out), "--state", str(out / "state.yaml"), "--today", as_of(example),
                 "--detailed-exitcode"])
    assert code == 0, capsys.readouterr().out
    assert "No changes. The portal matches the desired state." in capsys.readouterr().out


@pytest.mark.parametrize("example", examples(), ids=lambda e: e.name)
def test_the_exported_snapshot_reads_back_the_same(example, tmp_path):
    assert main(["export", "--state", str(example / "state.yaml"), "--out", str(tmp_path)]) == 0
    assert SnapshotProvider(tmp_path / "state.yaml").read() == SnapshotProvider(example / "state.yaml").read()


def test_what_the_portal_holds_but_a_repo_may_not_is_written_and_said(tmp_path, capsys):
    legacy = next(e for e in examples() if e.name == LEGACY)
    assert main(["export", "--state", str(legacy / "state.yaml"), "--out", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert (f"{tmp_path}/customers/wayne.yaml: error[one-licensed-pbx-per-customer]: PBX 'wayne-lab' has licenses, "
            "and so does 'wayne'") in err
    assert "choose the fix before planning" in err
    assert "wayne-lab:" in (tmp_path / "customers" / "wayne.yaml").read_text()


def test_export_again_is_harmless_but_never_overwrites_a_different_file(tmp_path, capsys):
    state = str(examples()[0] / "state.yaml")
    assert main(["export", "--state", state, "--out", str(tmp_path)]) == 0
    assert main(["export", "--state", state, "--out", str(tmp_path)]) == 0
    edited = sorted((tmp_path / "customers").glob("*.yaml"))[0]
    edited.write_text(edited.read_text() + "# a partner's note\n")
    capsys.readouterr()
    assert main(["export", "--state", state, "--out", str(tmp_path)]) == 1
    assert f"export would overwrite 1 file(s) that differ: {edited}" in capsys.readouterr().err
    assert edited.read_text().endswith("# a partner's note\n")


def test_the_schema_line_helps_editors(tmp_path):
    state = str(examples()[0] / "state.yaml")
    assert main(["export", "--state", state, "--out", str(tmp_path), "--schema", "../schemas/customer.schema.json"]) == 0
    first = sorted((tmp_path / "customers").glob("*.yaml"))[0].read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../schemas/customer.schema.json"


def test_the_exported_repo_plans_on_its_own_against_the_same_portal(tmp_path, capsys, monkeypatch):
    """reconciler.yaml comes along: the same sandbox, the same timezone, no steps from inside the new repo."""
    example = next(e for e in examples() if e.name == "new-cloud-customer")
    repo, out = tmp_path / "partner", tmp_path / "onboarded"
    repo.mkdir()
    (repo / "reconciler.yaml").write_text("provider:\n  kind: sandbox\n  path: portal/sandbox.db\n"
                                          "timezone: Europe/Rome\n")
    assert main(["sandbox", "load", str(example / "state.yaml"), "--repo", str(repo)]) == 0
    assert main(["export", str(repo), "--out", str(out), "--today", as_of(example)]) == 0
    assert (out / "reconciler.yaml").read_text().splitlines()[1:] == [
        "provider:", "  kind: sandbox", "  path: ../partner/portal/sandbox.db", "timezone: Europe/Rome"]
    # the sandbox stays in the partner's repo, outside the new one: export says so, and planning there needs
    # the user's own permission (a pull request cannot give it: reconciler.paths)
    assert "provider.path (../partner/portal/sandbox.db) leads outside the repo" in capsys.readouterr().err
    monkeypatch.chdir(out)
    assert main(["plan", "--today", as_of(example), "--detailed-exitcode"]) == 1
    assert "error[path-outside-repo]: 'provider.path'" in capsys.readouterr().err
    monkeypatch.setenv("RECONCILER_ALLOW_OUTSIDE_REPO", "1")
    assert main(["plan", "--today", as_of(example), "--detailed-exitcode"]) == 0
    assert "No changes. The portal matches the desired state." in capsys.readouterr().out


def test_an_export_from_a_snapshot_points_the_new_repo_at_it(tmp_path, capsys, monkeypatch):
    example = examples()[0]
    assert main(["export", "--state", str(example / "state.yaml"), "--out", str(tmp_path)]) == 0
    assert "kind: snapshot\n  path: state.yaml\n" in (tmp_path / "reconciler.yaml").read_text()
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(["plan", "--today", as_of(example), "--detailed-exitcode"]) == 0


def test_an_export_into_the_repo_itself_keeps_its_reconciler_yaml(tmp_path, capsys, monkeypatch):
    example = examples()[0]
    config = "# ours\ntimezone: Europe/Rome\n"
    (tmp_path / "reconciler.yaml").write_text(config)
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--state", str(example / "state.yaml")]) == 0
    assert (tmp_path / "reconciler.yaml").read_text() == config
