"""A customer file whose stat is the one it had when it loaded clean is not read again (reconciler.unchanged), and
the plan is the one a cold run makes all the same: after an edit that keeps the file's size and puts its times
back, with a file written just before the run, and whatever happened to the stat pack."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import reconciler.repo
import reconciler.unchanged
from reconciler.render import RENDERERS
from reconciler.workflow import PlanFailed, PlanRequest, make_plan
from tests.test_cache import DAMAGE, STAT_PACK, TODAY, _rewrite, repo  # noqa: F401 (the fixture)


@pytest.fixture
def reads(monkeypatch) -> list:
    """The customer files each plan reads (opens and hashes); a file its stat vouches for is not among them."""
    seen: list = []
    real = reconciler.repo.read_bytes
    monkeypatch.setattr(reconciler.repo, "read_bytes", lambda path, *a, **k: seen.append(Path(path).name)
                        or real(path, *a, **k))
    return seen


@pytest.fixture
def settled(monkeypatch):
    """Files count as old enough to vouch for at once (else 2 s after they were written: `RACY_NS`)."""
    monkeypatch.setattr(reconciler.unchanged, "RACY_NS", 0)


def plan(repo: Path, reads: list | None = None) -> str:
    """The plan document as JSON, as `plan --format json` prints it; `reads` is emptied first."""
    if reads is not None:
        reads.clear()
    try:
        document = make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY)).document
    except PlanFailed as failed:
        document = failed.document
    return RENDERERS["json"](document)


def cold(repo: Path) -> str:
    kept = repo.parent / "kept-cache"
    shutil.move(repo / ".reconciler", kept)
    try:
        return plan(repo)
    finally:
        shutil.rmtree(repo / ".reconciler", ignore_errors=True)
        shutil.move(kept, repo / ".reconciler")


def test_a_file_that_did_not_change_is_not_read_again(repo, reads, settled):
    first = plan(repo, reads)
    assert len(reads) == 40
    assert plan(repo, reads) == first
    assert reads == []
    changed = repo / "customers" / "c00007.yaml"
    changed.write_text(changed.read_text().replace("company: ", "company: Renamed ", 1))
    renamed = plan(repo, reads)
    assert reads == ["c00007.yaml"]
    assert renamed == cold(repo) != first


def test_a_customer_id_and_a_pbx_name_twice_are_told_where_they_stand_warm_as_cold(repo, reads, settled):
    """Customer ids and PBX names are unique across the repo's files (`pbx-name-taken` within it): a copy of a file
    the stat vouches for repeats its id (a content hit: its claims come from the cache), another file names its
    PBX, and the errors name the same files and lines as a cold run."""
    plan(repo, reads)
    original = (repo / "customers" / "c00007.yaml").read_text()
    (repo / "customers" / "c00041.yaml").write_text(original)
    (repo / "customers" / "c00042.yaml").write_text(original.replace("customer: c00007", "customer: c00042"))
    warm = plan(repo, reads)
    assert reads == ["c00041.yaml", "c00042.yaml"]
    messages = [d["message"] for d in json.loads(warm)["diagnostics"]]
    assert any("customer 'c00007' is already defined in" in m for m in messages)
    assert any("is already used by customer 'c00007'" in m for m in messages)
    assert warm == cold(repo)


def test_an_edit_that_keeps_the_size_and_puts_the_times_back_is_read(repo, reads, settled):
    plan(repo)
    plan(repo)
    changed = repo / "customers" / "c00007.yaml"
    before = changed.stat()
    text = changed.read_text()
    edited = text.replace("company: ", "company: X", 1).replace("company: X", "company:X", 1)
    assert edited != text and len(edited) == len(text)
    changed.write_text(edited)
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))  # what `touch -d` or a checkout can do
    assert changed.stat().st_mtime_ns == before.st_mtime_ns and changed.stat().st_size == before.st_size
    warm = plan(repo, reads)
    assert reads == ["c00007.yaml"]  # its ctime moved: no user call sets it back
    assert warm == cold(repo)


def test_a_file_written_just_before_the_run_is_read_on_every_run(repo, reads):
    plan(repo, reads)
    assert len(reads) == 40
    plan(repo, reads)
    assert len(reads) == 40  # younger than 2 s: its times could come back with other bytes
    assert not (repo / STAT_PACK).exists()


def test_a_file_the_stat_vouches_for_whose_model_is_gone_is_read_then(repo, reads, settled):
    first = plan(repo)
    plan(repo)
    shutil.rmtree(repo / ".reconciler" / "cache" / "customer")
    (repo / ".reconciler" / "cache" / "plan.json").unlink()
    assert plan(repo, reads) == first
    assert len(set(reads)) == 40  # each when its model is asked for (and again for its positions)


def test_a_file_whose_bytes_are_not_those_its_stat_vouched_for_stops_the_run(repo, settled):
    plan(repo)
    plan(repo)
    shutil.rmtree(repo / ".reconciler" / "cache" / "customer")  # its model must come from its bytes
    (repo / ".reconciler" / "cache" / "plan.json").unlink()

    def other_bytes(value: str) -> str:  # the signature and the claims, another file's hash
        seen, digest, claims = value.split("\t")
        return "\t".join((seen, "sha256:" + ("1" if digest[7] == "0" else "0") + digest[8:], claims))

    _rewrite(repo / STAT_PACK, lambda entries: {key: other_bytes(value) for key, value in entries.items()})
    with pytest.raises(PlanFailed, match=r"changed while reconciler read the repo: run it again"):
        make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY))


@pytest.mark.parametrize("damage", [name for name in DAMAGE if name not in ("not-a-model", "not-a-snapshot")])
def test_a_damaged_stat_pack_gives_the_same_plan(repo, reads, settled, damage):
    first = plan(repo)
    plan(repo)
    assert (repo / STAT_PACK).exists()
    DAMAGE[damage](repo / STAT_PACK)
    assert plan(repo, reads) == first
    assert plan(repo) == first  # and the pack it wrote again



SNAPSHOT_STAT_PACK = STAT_PACK.with_name("snapshot-stat.json")  # the snapshot file's stat and hash


@pytest.fixture
def hashed(monkeypatch) -> list:
    """The snapshot files each plan reads and hashes (reconciler.current); one its stat vouches for is not among
    them."""
    import reconciler.current

    seen: list = []
    real = reconciler.current._key
    monkeypatch.setattr(reconciler.current, "_key", lambda path: seen.append(Path(path).name) or real(path))
    return seen


def test_a_snapshot_file_whose_stat_did_not_change_is_not_hashed_again(repo, hashed, settled):
    first = plan(repo)
    assert hashed and (repo / SNAPSHOT_STAT_PACK).is_file()
    hashed.clear()
    assert plan(repo) == first
    assert hashed == []
    state = repo / "state.yaml"
    state.write_text(state.read_text().replace("company: ", "company: Moved ", 1))
    moved = plan(repo)
    assert "state.yaml" in hashed
    assert moved == cold(repo)


def test_a_snapshot_edited_with_its_size_and_times_put_back_is_hashed_again(repo, hashed, settled):
    plan(repo)
    state = repo / "state.yaml"
    before = state.stat()
    text = state.read_text()
    edited = text.replace("company: ", "company: X", 1).replace("company: X", "company:X", 1)
    assert edited != text and len(edited) == len(text)
    state.write_text(edited)
    os.utime(state, ns=(before.st_atime_ns, before.st_mtime_ns))
    hashed.clear()
    warm = plan(repo)
    assert "state.yaml" in hashed  # its ctime moved
    assert warm == cold(repo)


def test_a_snapshot_written_just_before_the_run_is_hashed_on_every_run(repo, hashed):
    plan(repo)
    hashed.clear()
    plan(repo)
    assert "state.yaml" in hashed  # younger than 2 s: its times could come back with other bytes
    assert not (repo / SNAPSHOT_STAT_PACK).exists()


@pytest.mark.parametrize("damage", [name for name in DAMAGE if name not in ("not-a-model", "not-a-snapshot")])
def test_a_damaged_snapshot_stat_pack_gives_the_same_plan(repo, settled, damage):
    first = plan(repo)
    assert (repo / SNAPSHOT_STAT_PACK).exists()
    DAMAGE[damage](repo / SNAPSHOT_STAT_PACK)
    assert plan(repo) == first
    assert plan(repo) == first  # and the pack it wrote again


def test_a_snapshot_stat_that_vouches_for_other_bytes_gives_the_plan_of_the_file(repo, settled):
    """A signature kept with another snapshot's hash (the file's stat unchanged): the cached snapshot is not that
    file's, so the file is read, and the plan is the one its bytes make."""
    plan(repo)
    state = repo / "state.yaml"
    state.write_text(state.read_text().replace("company: ", "company: Moved ", 1))
    moved = cold(repo)
    plan(repo)  # the cache now holds the moved snapshot, its stat and its hash

    def other_hash(value: str) -> str:
        seen, digest = value.split("\t")
        return "\t".join((seen, "sha256:" + ("1" if digest[7] == "0" else "0") + digest[8:]))

    _rewrite(repo / SNAPSHOT_STAT_PACK, lambda entries: {key: other_hash(value) for key, value in entries.items()})
    assert plan(repo) == moved
