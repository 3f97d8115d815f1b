"""The desired fingerprint is made from the bytes the loader read: no file is read twice, and plan and apply agree."""

from __future__ import annotations

from reconciler.fingerprint import desired_paths, fingerprint_inputs, fingerprint_paths
from reconciler.loader import load
from tests.test_loader import repo  # noqa: F401  (the fixture: a repo with a price book, two customers)


def test_the_fingerprint_is_of_the_bytes_planned_even_if_a_file_changes_after_loading(repo):  # noqa: F811
    names = ["customers/acme.yaml", "customers/beta.yaml", "reconciler.yaml"]
    before = fingerprint_paths(names, repo)
    inputs = load(["."])
    (repo / "customers/beta.yaml").write_text((repo / "customers/beta.yaml").read_text() + "# edited\n")
    assert desired_paths(inputs) == names
    assert fingerprint_inputs(inputs) == before  # what was planned, from the loader's own hashes
    assert fingerprint_paths(names, repo) != before  # apply, reading the files again, sees the edit


def test_the_fingerprint_does_not_depend_on_how_the_repo_is_named(repo, tmp_path_factory):  # noqa: F811
    link = tmp_path_factory.mktemp("elsewhere") / "link"
    link.symlink_to(repo, target_is_directory=True)
    prints = {fingerprint_inputs(load([where], settings_root=None)) for where in [".", str(repo), str(link)]}
    assert prints == {fingerprint_paths(["customers/acme.yaml", "customers/beta.yaml", "reconciler.yaml"], repo)}


def test_a_partial_plans_files_and_fingerprint_are_those_apply_reads_again(repo):  # noqa: F811
    inputs = load(["customers/acme.yaml"])
    assert desired_paths(inputs) == ["customers/acme.yaml", "reconciler.yaml"]
    assert fingerprint_inputs(inputs) == fingerprint_paths(desired_paths(inputs), repo)


def test_a_file_that_is_gone_changes_the_fingerprint(repo):  # noqa: F811
    names = ["customers/acme.yaml", "reconciler.yaml"]
    before = fingerprint_paths(names, repo)
    (repo / "customers/acme.yaml").unlink()
    assert fingerprint_paths(names, repo) != before
