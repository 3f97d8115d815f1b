"""`validate` on two cores says exactly what it says in one process.

With `workers` above 1 a repo's customer files are split by size between this process and
a forked child (reconciler.validate). Whatever the split, the text, GitHub and JSON output
are the same byte for byte: every example repo, the malformed corpus gathered into a repo,
and a generated repo with errors planted in both parts, ids and PBX names duplicated across
them (the message names the same first holder). A child that fails changes nothing, and no
child outlives the run.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import reconciler.forked
import reconciler.loader
import reconciler.validate
from reconciler.cli import main
from reconciler.config import Config
from reconciler.repo import discover
from reconciler.validate import split, validate_paths

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted(path for path in (ROOT / "examples").iterdir() if (path / "customers").is_dir())
MALFORMED = ROOT / "tests" / "data" / "malformed"
FORMATS = ("text", "github", "json")


def run(capsys, monkeypatch, cores: int, *args: str) -> tuple[int, str, str]:
    """`reconciler validate ARGS` as the command line runs it on `cores` processors: (exit code, stdout, stderr)."""
    monkeypatch.setattr(reconciler.forked, "cores", lambda: cores)
    capsys.readouterr()
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def same_on_two_cores(capsys, monkeypatch, *paths: str) -> None:
    for form in FORMATS:
        one = run(capsys, monkeypatch, 1, *paths, "--format", form)
        two = run(capsys, monkeypatch, 2, *paths, "--format", form)
        assert two == one, form
    assert_no_child_left()


def assert_no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@pytest.fixture
def forks(monkeypatch) -> list[int]:
    """The number of files each child was given, the children really forked."""
    given: list[int] = []
    real = reconciler.validate.Child

    def counted(work):
        given.append(len(work.args[1]))
        return real(work)

    monkeypatch.setattr(reconciler.validate, "Child", counted)
    return given


@pytest.fixture
def small_split(monkeypatch):
    """Split from two files on, so that the small repos of the tests are split too."""
    monkeypatch.setattr(reconciler.validate, "SPLIT_FROM", 2)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_every_example_validates_the_same_on_two_cores(example, capsys, monkeypatch, small_split, forks):
    monkeypatch.chdir(ROOT)
    same_on_two_cores(capsys, monkeypatch, str(example.relative_to(ROOT)))
    assert bool(forks) == (len(discover(example, Config())) >= 2) and all(forks)


def test_all_the_examples_at_once_validate_the_same_on_two_cores(capsys, monkeypatch, small_split, forks):
    monkeypatch.chdir(ROOT)
    paths = [str(e.relative_to(ROOT)) for e in EXAMPLES]
    same_on_two_cores(capsys, monkeypatch, *paths, paths[0], f"{paths[1]}/customers")  # overlaps checked once
    assert len(forks) >= len(EXAMPLES)


def test_the_malformed_corpus_as_one_repo_validates_the_same_on_two_cores(tmp_path, capsys, monkeypatch,
                                                                          small_split, forks):
    customers = tmp_path / "customers"
    customers.mkdir()
    for case in sorted(MALFORMED.glob("*.yaml")):
        shutil.copyfile(case, customers / case.name)
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, monkeypatch, 1, ".")
    assert code == 1 and err.count("error[") > 50
    same_on_two_cores(capsys, monkeypatch, ".")
    assert forks


@pytest.mark.parametrize("config", sorted((MALFORMED / "config").glob("reconciler-*.yaml")), ids=lambda p: p.stem)
def test_a_repo_with_each_broken_configuration_validates_the_same_on_two_cores(config, tmp_path, capsys,
                                                                              monkeypatch, small_split):
    shutil.copyfile(config, tmp_path / "reconciler.yaml")
    (tmp_path / "customers").mkdir()
    for name in ("acme", "globex", "initech"):  # a price book it names is absent: each file says its products
        example = ROOT / "examples" / "costs" / "customers"
        source = sorted(example.glob("*.yaml"))[len(name) % 2]
        shutil.copyfile(source, tmp_path / "customers" / f"{name}.yaml")
    monkeypatch.chdir(tmp_path)
    same_on_two_cores(capsys, monkeypatch, ".")


def generated(tmp_path: Path, n: int) -> Path:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    generate(n, tmp_path)
    return tmp_path


def plant(repo: Path, name: str, old: str, new: str) -> None:
    path = repo / "customers" / f"{name}.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_errors_in_both_parts_and_names_held_across_them_read_the_same_on_two_cores(tmp_path, capsys, monkeypatch,
                                                                                   forks):
    repo = generated(tmp_path / "repo", 300)
    plant(repo, "c00010", "customer: c00010", "customer: c00010\nbogus: 1")  # first part: an unknown key
    plant(repo, "c00041", "customer: c00041", "customer: c00040")  # a duplicate id within the first part
    plant(repo, "c00260", "customer: c00260", "customer: c00020")  # the id of a customer in the first part
    plant(repo, "c00270", "\n  c00270:", "\n  c00030:")  # the PBX name of a customer in the first part
    plant(repo, "c00280", "pbxes:", "pbxes: [")  # second part: a syntax error
    plant(repo, "c00290", "customer: c00290", "customer: C 290")  # second part: a bad id
    found = discover(repo, Config())
    first, rest = split(found)
    names = {Path(path).stem for path in first}
    assert {"c00010", "c00020", "c00030", "c00040", "c00041"} <= names
    assert not {"c00260", "c00270", "c00280", "c00290"} & names
    monkeypatch.chdir(repo)

    same_on_two_cores(capsys, monkeypatch, ".")
    code, _, err = run(capsys, monkeypatch, 2, ".")
    assert forks[-1] == len(first)
    assert code == 1
    assert "customer 'c00020' is already defined in customers/c00020.yaml:2" in err
    assert "customer 'c00040' is already defined in customers/c00040.yaml:2" in err
    assert "PBX name 'c00030' is already used by customer 'c00030' (customers/c00030.yaml:7)" in err
    assert "customers/c00010.yaml:3" in err and "customers/c00280.yaml" in err and "customers/c00290.yaml:2" in err
    assert "300 files checked: " in err


def test_a_child_that_fails_leaves_its_part_to_this_process_and_the_output_is_the_same(tmp_path, capsys,
                                                                                      monkeypatch, forks):
    repo = generated(tmp_path / "repo", 200)
    plant(repo, "c00150", "customer: c00150", "customer: c00005")
    monkeypatch.chdir(repo)
    expected = run(capsys, monkeypatch, 1, ".", "--format", "json")
    parent, real, here = os.getpid(), reconciler.validate._check_part, []

    def fails_in_the_child(target, files):
        if os.getpid() != parent:
            raise RuntimeError("the child's work fails")
        here.append(len(files))
        return real(target, files)

    monkeypatch.setattr(reconciler.validate, "_check_part", fails_in_the_child)
    assert run(capsys, monkeypatch, 2, ".", "--format", "json") == expected
    assert forks and here == forks  # the child's part, loaded here after all
    assert_no_child_left()


def test_an_error_in_this_process_stops_the_child_and_leaves_none_running(tmp_path, monkeypatch, forks):
    repo = generated(tmp_path / "repo", 200)
    parent, real_read = os.getpid(), reconciler.loader.read_customer

    def slow_child(target, files):
        time.sleep(60)
        return b""

    def fails_here(*args, **kwargs):
        if os.getpid() == parent:
            raise KeyboardInterrupt
        return real_read(*args, **kwargs)

    monkeypatch.setattr(reconciler.validate, "_check_part", slow_child)
    monkeypatch.setattr(reconciler.loader, "read_customer", fails_here)
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        validate_paths([str(repo)], workers=2)
    assert forks and time.monotonic() - started < 30
    assert_no_child_left()


def test_a_small_repo_or_one_process_does_not_fork(tmp_path, monkeypatch, forks):
    repo = generated(tmp_path / "repo", reconciler.validate.SPLIT_FROM)
    single = generated(tmp_path / "one", 1)
    assert validate_paths([str(single)], workers=2).files == 1
    assert validate_paths([str(repo)], workers=1).files == reconciler.validate.SPLIT_FROM
    assert forks == []
    assert validate_paths([str(repo)], workers=2).files == reconciler.validate.SPLIT_FROM
    assert len(forks) == 1


def test_the_split_is_by_size_and_leaves_each_part_a_file(tmp_path):
    sizes = [10, 10, 10, 10, 160, 10]
    files = []
    for number, size in enumerate(sizes):
        files.append(tmp_path / f"{number}.yaml")
        files[-1].write_bytes(b"#" * size)
    assert split(files) == (files[:5], files[5:])  # the big file is in the first half of the bytes
    assert split(files[:2]) == (files[:1], files[1:2])
    assert split(files[3:]) == (files[3:5], files[5:])
    assert split(files[4:]) == (files[4:5], files[5:])  # the last file is left to this process all the same
    absent = tmp_path / "absent.yaml"
    assert split([absent, *files[:1]]) == ([absent], files[:1])
