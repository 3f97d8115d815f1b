"""The one loader: every way of naming desired state reads it alike, once, into frozen inputs."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.loader import load
from tests.test_pricing_book import HEADER
from tests.test_validate_cli import SNAPSHOT, customer, write

EXTRA = "    licenses: {basic: 1}\n    hwaas: {WorkFroce: 2}\n"
TYPO = "error[known-product]: product 'WorkFroce' is not in the catalog: did you mean 'WorkForce'?"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    write(tmp_path, {"reconciler.yaml": "provider: {kind: snapshot, path: state.yaml}\nprice_book: book.csv\n",
                     "book.csv": HEADER + "WorkForce,phones,1y,60.00,EUR\n",
                     "state.yaml": SNAPSHOT,
                     "customers/acme.yaml": customer("acme", extra=EXTRA),
                     "customers/beta.yaml": customer("beta")})
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("paths", [["."], ["customers/acme.yaml"], ["customers/acme.yaml", "customers/beta.yaml"]])
def test_planning_files_checks_products_against_the_catalog_as_a_whole_repo_plan_does(repo, capsys, paths):
    assert main(["plan", *paths, "--today", "2026-11-30"]) == 1
    err = capsys.readouterr().err  # at the product itself, before anything is planned, as for the whole repo
    assert f"customers/acme.yaml:11:13: {TYPO}" in err and "nothing was planned" in err


def test_inputs_are_frozen_and_hash_the_bytes_read(repo):
    inputs = load(["."])
    assert inputs.complete and [s.model.customer for s in inputs.customers] == ["acme", "beta"]
    assert inputs.read == ("reconciler.yaml", "book.csv", "customers/acme.yaml", "customers/beta.yaml")
    assert inputs.hashes["customers/acme.yaml"] == "sha256:" + hashlib.sha256(
        (repo / "customers/acme.yaml").read_bytes()).hexdigest()
    assert set(inputs.hashes) == {"reconciler.yaml", "customers/acme.yaml", "customers/beta.yaml"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        inputs.customers = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        inputs.hashes["x"] = "y"  # type: ignore[index]


def test_only_reads_the_files_it_names_and_the_plan_is_partial(repo):
    inputs = load(["."], only=lambda path: Path(path).name == "beta.yaml")
    assert not inputs.complete and [s.model.customer for s in inputs.customers] == ["beta"]
    assert inputs.read == ("reconciler.yaml", "book.csv", "customers/beta.yaml")
    assert inputs.loaded == {(repo / name).resolve() for name in ("reconciler.yaml", "book.csv", "customers/beta.yaml")}
