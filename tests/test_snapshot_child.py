"""A plan given a second process reads a big snapshot file in a forked child: the same plan, diagnostics and cache.

The child (reconciler.current.Reading) is an optimisation only: whatever it does, the plan
document, its text and JSON renderings, the diagnostics of a bad snapshot and the cache entry
written are those of a plan in one process, and no child outlives the plan.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from reconciler import current, forked
from reconciler.cache import Cache
from reconciler.providers.snapshot import SnapshotProvider
from reconciler.render import RENDERERS
from reconciler.workflow import PlanFailed, PlanRequest, make_plan
from tests.conftest import example_dirs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"
TODAY = "2026-11-30"


@pytest.fixture
def children(monkeypatch):
    """The pids of the children the plan starts; and the snapshot reads done in this process, not a child."""
    started: list[int] = []
    reads: list[str] = []
    parent = os.getpid()

    class Recorded(forked.Child):
        def __init__(self, work):
            super().__init__(work)
            if os.getpid() == parent and self.pid:
                started.append(self.pid)

    real_read = SnapshotProvider.read

    def read(self, today=None):
        if os.getpid() == parent:
            reads.append(str(self.path))
        return real_read(self, today)

    monkeypatch.setattr(forked, "Child", Recorded)
    monkeypatch.setattr(SnapshotProvider, "read", read)
    return started, reads


@pytest.fixture
def any_size(monkeypatch):
    """Every snapshot file counts as big: the examples' small ones go to a child too."""
    monkeypatch.setattr(current, "CHILD_BYTES", 0)


def no_child_left() -> bool:
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False


def copied(source: Path, into: Path) -> Path:
    shutil.copytree(source, into, ignore=shutil.ignore_patterns(".reconciler"))
    return into


def renderings(repo: Path, workers: int, state: str | None = None) -> tuple[str, str]:
    shutil.rmtree(repo / ".reconciler", ignore_errors=True)  # a cold plan: the cache holds no snapshot
    document = make_plan(PlanRequest(paths=[str(repo)], state=state, today=TODAY, workers=workers)).document
    return RENDERERS["json"](document), RENDERERS["text"](document)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(BENCHMARKS))
    repo = tmp_path_factory.mktemp("generated")
    generate(300, repo)
    return repo


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_every_example_plans_the_same_with_its_snapshot_read_by_a_child(example, tmp_path, children, any_size):
    repo = copied(example, tmp_path / example.name)
    alone = renderings(repo, workers=1)
    started, reads = children
    assert len(reads) == 1 and not started
    reads.clear()
    assert renderings(repo, workers=2) == alone
    assert len(started) == 1 and reads == []  # the child read the snapshot, this process did not
    assert no_child_left()


def test_a_generated_repo_plans_the_same_with_its_snapshot_read_by_a_child(generated, children):
    state = str(generated / "state.yaml")
    alone = renderings(generated, workers=1, state=state)
    started, reads = children
    reads.clear()
    assert renderings(generated, workers=2, state=state) == alone  # 300 customers: big enough on its own
    assert len(started) == 1 and reads == []
    assert no_child_left()


def test_the_cache_entry_a_child_read_is_the_one_a_plan_alone_writes(generated, children):
    state = str(generated / "state.yaml")
    key = current._key(Path(state))
    renderings(generated, workers=1, state=state)
    alone = Cache(generated).get(current.KIND, key)
    renderings(generated, workers=2, state=state)
    assert children[0] and Cache(generated).get(current.KIND, key) == alone is not None


def test_a_cache_hit_and_a_one_customer_plan_start_no_child(generated, tmp_path, children):
    state = str(generated / "state.yaml")
    renderings(generated, workers=1, state=state)
    make_plan(PlanRequest(paths=[str(generated)], state=state, today=TODAY, workers=2))  # the cache holds it
    small = copied(next(p for p in example_dirs() if p.name == "new-cloud-customer"), tmp_path / "small")
    renderings(small, workers=2)
    started, _ = children
    assert started == []


def test_a_child_that_fails_gives_the_same_plan(generated, children, monkeypatch):
    state = str(generated / "state.yaml")
    alone = renderings(generated, workers=1, state=state)

    def broken(provider, key):
        raise RuntimeError("the child's work fails")

    monkeypatch.setattr(current, "_read_for_cache", broken)
    started, reads = children
    reads.clear()
    assert renderings(generated, workers=2, state=state) == alone
    assert len(started) == 1 and reads == [state]  # this process read it after all
    assert no_child_left()


def test_a_snapshot_with_an_error_gives_the_diagnostics_of_a_plan_alone(tmp_path, children, any_size):
    repo = copied(next(p for p in example_dirs() if p.name == "hardware-pbx"), tmp_path / "repo")
    state = repo / "state.yaml"
    state.write_text(state.read_text(encoding="utf-8").replace("model:", "model: [", 1), encoding="utf-8")
    failures = []
    for workers in (1, 2):
        with pytest.raises(PlanFailed) as failed:
            make_plan(PlanRequest(paths=[str(repo)], today=TODAY, workers=workers))
        failures.append((str(failed.value), failed.value.document))
    assert failures[0] == failures[1]
    assert failures[0][1]["diagnostics"][0]["file"].endswith("state.yaml")
    assert len(children[0]) == 1 and no_child_left()


@pytest.mark.parametrize("mistake", [("status: active", "stauts: active"), ("model:", "model: [")],
                         ids=["typo", "syntax"])
def test_a_snapshot_with_an_error_is_read_once_by_the_child(generated, tmp_path, children, mistake):
    """The child's error comes back whole (message, diagnostics): this process does not read the file again."""
    repo = copied(generated, tmp_path / "repo")
    state = repo / "state.yaml"
    state.write_text(state.read_text(encoding="utf-8").replace(*mistake, 1), encoding="utf-8")
    started, reads = children
    failures = []
    for workers in (1, 2):
        reads.clear()
        with pytest.raises(PlanFailed) as failed:
            make_plan(PlanRequest(paths=[str(repo)], state=str(state), today=TODAY, workers=workers))
        failures.append((str(failed.value), failed.value.document))
    assert failures[0] == failures[1]
    assert failures[0][1]["diagnostics"][0]["file"].endswith("state.yaml")
    assert len(started) == 1 and reads == [] and no_child_left()


def test_no_child_is_left_after_an_error_or_ctrl_c(generated, tmp_path, children, monkeypatch):
    import reconciler.workflow as workflow

    repo = copied(generated, tmp_path / "repo")
    bad = sorted((repo / "customers").glob("*.yaml"))[0]
    bad.write_text(bad.read_text(encoding="utf-8") + "\nnot a key: [\n", encoding="utf-8")
    with pytest.raises(PlanFailed):
        make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY, workers=2))
    assert len(children[0]) == 1 and no_child_left()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflow, "load_desired", interrupted)
    shutil.rmtree(generated / ".reconciler", ignore_errors=True)
    with pytest.raises(KeyboardInterrupt):
        make_plan(PlanRequest(paths=[str(generated)], state=str(generated / "state.yaml"), today=TODAY, workers=2))
    assert len(children[0]) == 2 and no_child_left()


def test_a_partial_plan_of_customer_files_plans_the_same_with_its_snapshot_read_by_a_child(generated, children):
    files = [str(path) for path in sorted((generated / "customers").glob("*.yaml"))[:3]]
    documents = []
    for workers in (1, 2):
        request = PlanRequest(paths=files, state=str(generated / "state.yaml"), today=TODAY,
                              settings_root=str(generated), workers=workers)
        documents.append(RENDERERS["json"](make_plan(request).document))
    assert documents[0] == documents[1]
    assert len(children[0]) == 1 and children[1] == [str(generated / "state.yaml")]  # read here by the first only
    assert no_child_left()
