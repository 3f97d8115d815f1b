"""The re-plan cache (.reconciler/cache/) is an optimisation only: whatever happens to it, the plan is the same.

A warm plan parses only the files whose content changed; a deleted, truncated, corrupted
or foreign cache gives the same plan, byte for byte, as no cache at all; the cache is
never written outside the repo's own .reconciler/ folder.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import example, given, settings, strategies as st

import reconciler.repo
from reconciler.cache import Cache, compact
from tests.conftest import example_dirs, examples

TODAY = "2026-11-30"
CACHE = Path(".reconciler") / "cache"
CUSTOMER_PACKS = CACHE / "customer"  # one pack per last two hex digits of the key
SNAPSHOT_PACK = CACHE / "snapshot.json"
CLAIMS_PACKS = CACHE / "claims"  # each file's id, PBX names and pins, by the same last two hex digits
PLAN_PACK = CACHE / "plan.json"  # each customer's part of a warm plan
STAT_PACK = CACHE / "stat.json"  # each customer file's stat, hash and claims (reconciler.unchanged)


def customer_pack(repo: Path, file: Path) -> Path:
    """The pack that holds the entry of `file`'s content (its key: the SHA-256 of its bytes)."""
    import hashlib

    return repo / CUSTOMER_PACKS / f"{hashlib.sha256(file.read_bytes()).hexdigest()[-2:]}.json"


def damaged(repo: Path, pack: Path, damage) -> None:
    """`damage` done to the pack, or to every pack of a kind kept in shards: to every customer pack (and then the
    plan's parts are dropped, so that the plan needs every model); to every claims pack, and the stat pack (which
    holds the claims of the files it vouches for) is dropped, so that the plan needs every file's claims."""
    if pack == CUSTOMER_PACKS:
        (repo / PLAN_PACK).unlink(missing_ok=True)
    if pack == CLAIMS_PACKS:
        (repo / STAT_PACK).unlink(missing_ok=True)
    for each in sorted((repo / pack).glob("*.json")) if (repo / pack).is_dir() else [repo / pack]:
        damage(each)


@pytest.fixture
def repo(tmp_path) -> Path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.pop(0)
    generate(40, tmp_path / "repo")
    return tmp_path / "repo"


def plan_bytes(repo: Path) -> bytes:
    """`reconciler plan --format json` as a partner runs it, its stdout."""
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(repo), "--state", str(repo / "state.yaml"),
                             "--today", TODAY, "--format", "json"], capture_output=True, timeout=300)
    assert result.returncode in (0, 1, 2), result.stderr.decode()
    return result.stdout


def parses(monkeypatch, repo: Path) -> int:
    """How many customer files an in-process plan of `repo` parsed (the rest came from the cache)."""
    from reconciler.workflow import PlanRequest, make_plan

    calls = []
    real = reconciler.repo.parse_checked
    monkeypatch.setattr(reconciler.repo, "parse_checked", lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY))
    monkeypatch.undo()
    return len(calls)


def test_a_warm_plan_parses_only_the_file_that_changed(repo, monkeypatch):
    assert parses(monkeypatch, repo) == 40
    assert len(list((repo / CUSTOMER_PACKS).glob("*.json"))) > 1
    assert parses(monkeypatch, repo) == 0
    changed = repo / "customers" / "c00007.yaml"
    changed.write_text(changed.read_text().replace("company: ", "company: Renamed ", 1))
    assert parses(monkeypatch, repo) == 1
    assert parses(monkeypatch, repo) == 0


def test_a_re_plan_after_one_file_changed_writes_one_pack_of_each_kind_kept_in_shards(repo):
    """The customer's model and its claims: the pack of its new content's key, not all 40 files' (nor the others')."""
    import hashlib

    plan_bytes(repo)
    before = _packs(repo)
    changed = repo / "customers" / "c00007.yaml"
    changed.write_text(changed.read_text().replace("company: ", "company: Renamed ", 1))
    plan_bytes(repo)
    after = _packs(repo)
    shard = f"{hashlib.sha256(changed.read_bytes()).hexdigest()[-2:]}.json"
    written = {name for name in after if before.get(name) != after[name]}
    assert {name for name in written if name.startswith((str(CUSTOMER_PACKS), str(CLAIMS_PACKS)))} == {
        str(CUSTOMER_PACKS / shard), str(CLAIMS_PACKS / shard)}
    assert len(list((repo / CLAIMS_PACKS).glob("*.json"))) > 1


def _truncate(pack: Path) -> None:
    pack.write_bytes(pack.read_bytes()[: len(pack.read_bytes()) // 2])


def _flip_a_byte(pack: Path) -> None:
    data = bytearray(pack.read_bytes())
    data[len(data) // 2] ^= 0x01
    pack.write_bytes(bytes(data))


def _other_version(pack: Path) -> None:
    header, body = pack.read_text().split("\n", 1)
    pack.write_text(json.dumps({**json.loads(header), "version": "reconciler 0.0.1; format 0"}) + "\n" + body)


def _rewrite(pack: Path, entries) -> None:
    """The pack with its entries made by `entries(old entries)`, its checksum right: consistent, and not what
    loading made."""
    import hashlib

    from reconciler.cache import _entries

    header, body = pack.read_text().split("\n", 1)
    body = "".join(f"{key} {len(value)} {value}\n" for key, value in sorted(entries(_entries(body)).items()))
    pack.write_text(json.dumps({**json.loads(header), "sha256": hashlib.sha256(body.encode()).hexdigest()}) + "\n"
                    + body)


def _not_a_model(pack: Path) -> None:
    """Values that are not customer models: each one is a miss."""
    _rewrite(pack, lambda entries: {key: '{"customer": 7}' for key in entries})


def _not_a_snapshot(pack: Path) -> None:
    """Values with the shape of a cached snapshot (its head, its index and its devices' holders, each a line, then
    JSON) whose text is no snapshot."""
    _rewrite(pack, lambda entries: {key: "\n".join(value.split("\n", 3)[:3]) + '\n{"as_of": 7}'
                                    for key, value in entries.items()})


def _snapshot_index(index: str):
    """A damage that replaces a cached snapshot's index line (who holds what, each customer's span) by `index`."""

    def entries(old: dict) -> dict:
        return {key: "\n".join((value.split("\n", 2)[0], index, value.split("\n", 2)[2])) if value.count("\n") >= 2
                else value for key, value in old.items()}

    return lambda pack: _rewrite(pack, entries)


def _cut_in_a_line(pack: Path) -> None:
    """The pack cut in the middle of an entry, its checksum right: a pack a crash could have left."""
    import hashlib

    header, body = pack.read_text().split("\n", 1)
    body = body[: body.index(" ", len(body) // 2) + 10] if " " in body[len(body) // 2:] else body[: len(body) // 2]
    pack.write_text(json.dumps({**json.loads(header), "sha256": hashlib.sha256(body.encode()).hexdigest()}) + "\n"
                    + body)


def _customer_values(change):
    """A damage that rewrites each cached customer (model JSON, positions JSON, the rules' catalog, apart by tabs) by
    `change(model, positions)`."""

    def rewritten(value: str) -> str:
        model, positions, *rest = value.split("\t")
        return "\t".join((*change(model, positions), *rest))

    def entries(old: dict) -> dict:
        return {key: rewritten(value) if "\t" in value else value for key, value in old.items()}

    return lambda pack: _rewrite(pack, entries)


BAD_POSITIONS = {"not-json": "[[null,", "not-arrays": '{"names": []}', "arrays-that-do-not-nest": "[[null],[0,0],[9]]",
                 "another-file's": '[[null,"customer"],[0,0,0,0],[1,1]]', "too-deep": "[" * 100_000}
DAMAGE = {"deleted": lambda pack: pack.unlink(), "emptied": lambda pack: pack.write_bytes(b""),
          "truncated": _truncate, "corrupted": _flip_a_byte, "binary": lambda pack: pack.write_bytes(b"\xff\x00" * 99),
          "another-version": _other_version, "not-a-model": _not_a_model, "not-a-snapshot": _not_a_snapshot,
          "cut-in-a-line": _cut_in_a_line,
          "index-not-json": _snapshot_index('{"serials": {'), "index-of-nothing": _snapshot_index("{}"),
          "a-model-of-the-wrong-type": _customer_values(lambda model, positions: ('{"customer": 7}', positions)),
          "model-not-json": _customer_values(lambda model, positions: (model[: len(model) // 2], positions)),
          **{f"positions-{name}": _customer_values(lambda model, positions, bad=bad: (model, bad))
             for name, bad in BAD_POSITIONS.items()},
          "whole-folder-deleted": lambda pack: shutil.rmtree(pack.parent, ignore_errors=True)}


@pytest.mark.parametrize("pack", [CUSTOMER_PACKS, SNAPSHOT_PACK, CLAIMS_PACKS, PLAN_PACK], ids=lambda p: p.name)
def test_the_cache_damaged_in_any_way_gives_the_same_plan_byte_for_byte(repo, pack):
    cold = plan_bytes(repo)
    assert json.loads(cold)["steps"]
    assert plan_bytes(repo) == cold  # warm
    assert plan_bytes(repo) == cold  # warm, each customer's part of the plan kept
    for name, damage in DAMAGE.items():
        if name != "whole-folder-deleted":
            assert (repo / pack).exists(), name  # the damage before was mended
        damaged(repo, pack, damage)
        assert plan_bytes(repo) == cold, name
        assert plan_bytes(repo) == cold, name  # and the cache the damaged run wrote again


def test_a_cache_lets_go_of_what_it_saved_and_still_answers_and_keeps_it(tmp_path):
    cache = Cache(tmp_path)
    cache.put("customer", "sha256:01", "one")
    cache.replace("snapshot", "sha256:02", "state")
    cache.save()
    assert not cache._packs  # written: nothing of a big run's megabytes is held any more
    assert cache.get("customer", "sha256:01") == "one" and cache.get("snapshot", "sha256:02") == "state"
    cache.put("customer", "sha256:f01", "two")  # the same pack as 01: read back, then added to
    cache.save()
    again = Cache(tmp_path)
    assert (again.get("customer", "sha256:01"), again.get("customer", "sha256:f01")) == ("one", "two")


def test_a_pack_keeps_any_value_as_it_is_and_one_not_as_it_wrote_reads_as_empty(tmp_path):
    import hashlib

    values = {"sha256:aa": "a\nvalue with 2 spaces\n\n", "sha256:bb": "", "sha256:cc": '"quoted" \\ \t é'}
    cache = Cache(tmp_path)
    for key, value in values.items():
        cache.put("customer", key, value)
    cache.put("other", "sha256:dd", "x\n")
    cache.save()
    assert {key: Cache(tmp_path).get("customer", key) for key in values} == values
    pack = tmp_path / CUSTOMER_PACKS / "aa.json"
    header, body = pack.read_text().split("\n", 1)
    for bad in ("sha256:aa 99 short\n", "sha256:aa -1 x\n", "sha256:aa 1x x\n", " 1 x\n", "sha256:aa 1 xy\n",
                "sha256:aa", "sha256:aa 1 x"):
        pack.write_text(json.dumps({**json.loads(header), "sha256": hashlib.sha256(bad.encode()).hexdigest()})
                        + "\n" + bad)
        assert Cache(tmp_path).get("customer", "sha256:aa") is None, bad
    with pytest.raises(ValueError):
        cache.put("customer", "two words", "x")


def test_a_pack_written_and_hashed_in_pieces_is_the_bytes_its_format_says(tmp_path, monkeypatch):
    import hashlib

    values = {"sha256:1aa": "a value longer than a piece, é" * 5, "sha256:2aa": "", "sha256:3aa": "xyz"}
    monkeypatch.setattr("reconciler.cache.PIECE", 3)
    cache = Cache(tmp_path)
    for key, value in values.items():
        cache.put("customer", key, value)
    cache.save()
    body = "".join(f"{key} {len(value)} {value}\n" for key, value in sorted(values.items()))
    header = json.dumps({"version": cache.tag, "sha256": hashlib.sha256(body.encode()).hexdigest()})
    assert (tmp_path / CUSTOMER_PACKS / "aa.json").read_bytes() == f"{header}\n{body}".encode()
    assert {key: Cache(tmp_path).get("customer", key) for key in values} == values


@pytest.mark.parametrize("example", example_dirs(), ids=lambda p: p.name)
def test_the_examples_plan_the_same_warm_as_cold(tmp_path, example):
    repo = tmp_path / example.name
    shutil.copytree(example, repo)
    cold = plan_bytes(repo)
    assert (repo / CUSTOMER_PACKS).is_dir() and (repo / SNAPSHOT_PACK).is_file()
    assert plan_bytes(repo) == cold


def test_a_cache_folder_that_leads_out_of_the_repo_is_not_used(tmp_path, repo, monkeypatch):
    outside = tmp_path / "outside"
    outside.mkdir()
    (repo / ".reconciler").mkdir(exist_ok=True)
    (repo / ".reconciler" / "cache").symlink_to(outside, target_is_directory=True)
    assert parses(monkeypatch, repo) == 40
    assert list(outside.iterdir()) == []
    assert parses(monkeypatch, repo) == 40  # nothing kept: every file parsed again
    (repo / ".reconciler" / "cache").unlink()
    shutil.rmtree(repo / ".reconciler")
    (repo / ".reconciler").symlink_to(outside, target_is_directory=True)
    assert Cache(repo).directory is None


def test_a_file_with_an_error_now_is_reported_as_without_a_cache(repo):
    plan_bytes(repo)  # the cache holds every file, clean
    cold = repo.parent / "cold"
    shutil.copytree(repo, cold, ignore=shutil.ignore_patterns(".reconciler"))
    for where in (repo, cold):  # the customer id of another file, and a misspelled key: errors, positioned
        changed = where / "customers" / "c00001.yaml"
        changed.write_text(changed.read_text().replace("customer: c00001", "customer: c00002")
                           .replace("company:", "compnay:"))
    warm = plan_bytes(repo)
    assert warm == plan_bytes(cold).replace(str(cold).encode(), str(repo).encode())
    assert b"compnay" in warm


@pytest.mark.parametrize("bad", BAD_POSITIONS.values(), ids=BAD_POSITIONS.keys())
def test_a_hit_whose_cached_positions_are_damaged_points_where_the_file_says(repo, bad):
    """A diagnostic that points into a file rebuilt from the cache (a duplicate id) points where a cold load would."""
    plan_bytes(repo)  # the cache holds every file, clean
    damaged(repo, CUSTOMER_PACKS, _customer_values(lambda model, positions: (model, bad)))
    cold = repo.parent / "cold"
    shutil.rmtree(cold, ignore_errors=True)
    shutil.copytree(repo, cold, ignore=shutil.ignore_patterns(".reconciler"))
    for where in (repo, cold):  # c00001 takes the id of c00002, which is a hit: the error points into c00002
        changed = where / "customers" / "c00001.yaml"
        changed.write_text(changed.read_text().replace("customer: c00001", "customer: c00002"))
    warm = plan_bytes(repo)
    assert warm == plan_bytes(cold).replace(str(cold).encode(), str(repo).encode())
    assert [(Path(d["file"]).name, d["line"], d["column"]) for d in json.loads(warm)["diagnostics"]] == [
        ("c00002.yaml", 2, 11)]


def test_a_hit_is_judged_again_when_the_catalog_is_not_the_one_it_was_kept_with(tmp_path):
    """Kept clean without a catalog, then a price book without a product a file uses: the warm run says
    known-product as a cold one does; kept with the whole price book, then none: clean, as cold."""
    from tests.conftest import EXAMPLES

    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "costs", repo, ignore=shutil.ignore_patterns(".reconciler"))
    config, book = (repo / "reconciler.yaml").read_text(), (repo / "pricebook.csv").read_text()
    no_catalog = config.replace("price_book:", "# price_book:")
    unpriced = "".join(line for line in book.splitlines(keepends=True) if not line.startswith("WorkForce,"))

    def warm_as_cold(settings: str, prices: str) -> bytes:
        (repo / "reconciler.yaml").write_text(settings)
        (repo / "pricebook.csv").write_text(prices)
        cold = tmp_path / "cold"
        shutil.rmtree(cold, ignore_errors=True)
        shutil.copytree(repo, cold, ignore=shutil.ignore_patterns(".reconciler"))
        warm = plan_bytes(repo)
        assert warm == plan_bytes(cold).replace(str(cold).encode(), str(repo).encode())
        return warm

    assert b"known-product" not in warm_as_cold(no_catalog, book)  # the cache keeps every file, judged without one
    assert b"known-product" in warm_as_cold(config, unpriced)
    shutil.rmtree(repo / ".reconciler")
    assert b"known-product" not in warm_as_cold(config, book)  # kept, judged with the price book's catalog
    assert b"known-product" not in warm_as_cold(no_catalog, book)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=cwd, check=True,
                   capture_output=True, timeout=60)


def _forge(pack: Path, file: Path) -> None:
    """Rewrite the entry of `file`'s honest bytes so its model holds no PBX, its checksum right: a forged pack."""
    import hashlib

    key = "sha256:" + hashlib.sha256(file.read_bytes()).hexdigest()

    def forged(entries: dict) -> dict:
        model, rest = entries[key].split("\t", 1)
        return {**entries, key: json.dumps({**json.loads(model), "pbxes": {}}) + "\t" + rest}

    _rewrite(pack, forged)


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_cache_committed_to_git_is_not_used_so_it_cannot_forge_a_plan(repo):
    """A pull request commits a pack whose entry for an honest file's bytes is a forged model: it changes nothing."""
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "customers")
    cold = plan_bytes(repo)
    customer = json.loads(cold)["steps"][0]["customer"]
    honest = repo / "customers" / f"{customer}.yaml"
    pack = customer_pack(repo, honest)
    _forge(pack, honest)
    git(repo, "add", "-f", str(pack))
    git(repo, "commit", "-q", "-m", "a pull request that commits a cache")
    forged = pack.read_bytes()
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", str(repo), "--state", str(repo / "state.yaml"),
                             "--today", TODAY, "--format", "json"], capture_output=True, timeout=300)
    assert result.stdout == cold
    assert f"not used: Git tracks {pack.relative_to(repo).as_posix()}" in result.stderr.decode()
    assert pack.read_bytes() == forged  # nor written: the committed file is left as it is


def test_outside_git_the_cache_asks_no_process(repo, monkeypatch):
    """A repo outside any Git work tree cannot hold a committed cache: no `git` is started to ask (start-up)."""
    import reconciler.cache

    monkeypatch.delenv("GIT_DIR", raising=False)
    started = []
    real = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: started.append(a[0]) or real(*a, **k))
    cold = plan_bytes_in_process(repo)
    assert started == [] and (repo / ".reconciler" / "cache").is_dir()  # written, without asking
    assert plan_bytes_in_process(repo) == cold and started == []  # and read back the same way
    (repo / ".git").mkdir()  # in a work tree (one Git cannot read), Git is asked and the cache is left alone
    assert reconciler.cache._committed(repo) == ("the repo is in a Git work tree, and Git cannot tell whether "
                                                 "the cache is committed")
    assert started and started[-1][:2] == ["git", "ls-files"]


def plan_bytes_in_process(repo: Path) -> bytes:
    from reconciler.workflow import PlanRequest, make_plan

    request = PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY)
    return json.dumps(make_plan(request).document, sort_keys=True).encode()


def test_a_warm_plan_with_the_same_snapshot_never_reads_it(repo, monkeypatch):
    import reconciler.providers.snapshot as snapshot_provider
    from reconciler.workflow import PlanRequest, make_plan

    request = PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY)
    cold = make_plan(request).document
    assert (repo / SNAPSHOT_PACK).is_file()
    read = []
    real = snapshot_provider.load_checked
    monkeypatch.setattr(snapshot_provider, "load_checked", lambda *a, **k: read.append(a[1]) or real(*a, **k))
    assert make_plan(request).document == cold and read == []
    state = repo / "state.yaml"
    state.write_text(state.read_text().replace("company: ", "company: Moved ", 1))  # other bytes: read again
    make_plan(request)
    assert read == [str(state)]


@pytest.fixture
def transfers(tmp_path) -> Path:
    """The example of device transfers and one customer apart, as a Git repo; one customer file changed since HEAD."""
    from tests.conftest import EXAMPLES

    repo = tmp_path / "transfers"
    shutil.copytree(EXAMPLES / "capex-conversion-and-transfer", repo, ignore=shutil.ignore_patterns(".reconciler"))
    (repo / "customers" / "umbrella.yaml").write_text(
        "customer: umbrella\ncompany: Umbrella Ltd\npbxes:\n  umbrella:\n    model: cloud\n    region: eu-central\n"
        "    term: 1y\n    licenses:\n      essential: 5\n")
    (repo / "state.yaml").write_text((repo / "state.yaml").read_text() + (
        "  umbrella:\n    company: Umbrella Ltd\n    pbxes:\n      umbrella:\n        serial: SW-00099999\n"
        "        model: cloud\n        region: eu-central\n        term: 1y\n        activated_on: 2025-01-10\n"
        "        expires_on: 2027-01-10\n        licenses: {essential: 5}\n"))
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    changed = repo / "customers" / "globex.yaml"
    changed.write_text(changed.read_text().replace("essential: 8", "essential: 9", 1))
    return repo


def changed_since_bytes(repo: Path) -> bytes:
    result = subprocess.run([sys.executable, "-m", "reconciler", "plan", "--changed-since", "HEAD", "--today", TODAY,
                             "--format", "json"], cwd=repo, capture_output=True, timeout=300)
    assert result.returncode in (0, 2), result.stderr.decode()
    return result.stdout


PARTS = CACHE / "snapshot-parts.bin"  # the snapshot's entries one by one, for a partial plan (reconciler.snapshotparts)
PINS_PACK = CACHE / "pins.json"  # who pins what at the merge base (reconciler.pins)


def _parts_header(change):
    """A damage that rewrites the parts file's header line (JSON) by `change(header)`, the rest as it was."""

    def damage(pack: Path) -> None:
        header, rest = pack.read_bytes().split(b"\n", 1)
        pack.write_bytes(json.dumps(change(json.loads(header))).encode() + b"\n" + rest)

    return damage


def _flip_at(fraction: float):
    def damage(pack: Path) -> None:
        data = bytearray(pack.read_bytes())
        data[int(len(data) * fraction)] ^= 0x01
        pack.write_bytes(bytes(data))

    return damage


# what can happen to the parts (not a pack of entries): every damage that does not rewrite entries, and its own
FILE_DAMAGE = {**{name: DAMAGE[name] for name in ("deleted", "emptied", "truncated", "corrupted", "binary",
                                                  "whole-folder-deleted")},
               "another-version": _parts_header(lambda header: {**header, "version": "reconciler 0.0.1"}),
               "another-snapshot": _parts_header(lambda header: {**header, "key": "sha256:" + "0" * 64}),
               "sections-moved": _parts_header(lambda header: {**header, "layout": {
                   name: [start + 1, length] for name, (start, length) in header["layout"].items()}}),
               **{f"flipped-at-{fraction}": _flip_at(fraction) for fraction in (0.05, 0.2, 0.6, 0.9, 0.99)}}


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("pack", [SNAPSHOT_PACK, PARTS, PINS_PACK], ids=lambda p: p.name)
def test_changed_since_plans_the_same_with_the_cache_cold_warm_and_damaged(transfers, pack):
    cold = changed_since_bytes(transfers)
    document = json.loads(cold)
    assert {s["customer"] for s in document["steps"]} == {"acme", "globex", "initech"}  # the transfers' other sides
    assert all((transfers / each).is_file() for each in (SNAPSHOT_PACK, PARTS, PINS_PACK))
    assert changed_since_bytes(transfers) == cold
    for name, damage in (FILE_DAMAGE if pack == PARTS else DAMAGE).items():
        shutil.rmtree(transfers / CACHE, ignore_errors=True)
        assert changed_since_bytes(transfers) == cold  # every file of the cache made again, then one damaged
        damaged(transfers, pack, damage)
        assert changed_since_bytes(transfers) == cold, name
        assert changed_since_bytes(transfers) == cold, name  # and what that run left behind


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_changed_since_with_a_warm_cache_binds_only_the_customers_it_reaches(transfers, monkeypatch):
    from reconciler.current import PortalState
    from reconciler.snapshot import CurrentCustomer
    from reconciler.workflow import PlanRequest, make_plan

    monkeypatch.chdir(transfers)
    request = PlanRequest(paths=["."], today=TODAY, changed_since="HEAD")
    cold = make_plan(request).document
    bound = []
    real = CurrentCustomer.model_validate_json
    monkeypatch.setattr(PortalState, "whole", lambda self: pytest.fail("the whole snapshot was bound"))
    monkeypatch.setattr(CurrentCustomer, "model_validate_json", lambda text: bound.append(text) or real(text))
    assert make_plan(request).document == cold
    assert len(bound) == 3  # globex, and acme and initech on the other sides of its transfers: not umbrella


def _packs(repo: Path) -> dict[str, bytes]:
    return {str(p.relative_to(repo)): p.read_bytes() for p in sorted((repo / CACHE).rglob("*")) if p.is_file()}


def test_values_that_wait_for_the_save_on_disk_are_saved_as_those_kept_in_memory(repo, monkeypatch):
    from reconciler.workflow import PlanRequest, make_plan

    def plan() -> dict:
        return make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY)).document

    kept = plan()
    in_memory = _packs(repo)
    shutil.rmtree(repo / CACHE)
    opened = []
    real = __import__("tempfile").TemporaryFile
    monkeypatch.setattr("tempfile.TemporaryFile", lambda **kw: opened.append(kw) or real(**kw))
    monkeypatch.setattr("reconciler.cache.SPILL_CHARACTERS", 0)  # every value waits on disk
    assert plan() == kept
    assert opened and all(Path(kw["dir"]) == repo / CACHE for kw in opened)  # in the cache folder, nowhere else
    assert _packs(repo) == in_memory  # the same packs, byte for byte, and no spill file left behind
    assert parses(monkeypatch, repo) == 0  # and a warm plan reads every model from them


def test_a_spilled_value_is_read_back_before_the_save_and_a_cache_that_cannot_spill_keeps_it(tmp_path, monkeypatch):
    monkeypatch.setattr("reconciler.cache.SPILL_CHARACTERS", 3)
    cache = Cache(tmp_path)
    cache.put("customer", "sha256:01", "one")  # 3 characters: kept in memory
    cache.put("customer", "sha256:02", "two é\n")  # past the limit: waits in the spill file
    assert type(cache._packs["customer/02"]["sha256:02"]).__name__ == "_Spilled"
    assert cache.get("customer", "sha256:02") == "two é\n"
    cache.put("customer", "sha256:02", "two é\n")  # the same value again: nothing to write
    cache.save()
    assert cache._spill is None  # closed once every value is in its pack
    assert Cache(tmp_path).get("customer", "sha256:02") == "two é\n"

    def refused(**kw):
        raise OSError("no space left on device")

    monkeypatch.setattr("tempfile.TemporaryFile", refused)
    cache = Cache(tmp_path)
    cache.put("customer", "sha256:03", "three")
    assert cache._packs["customer/03"]["sha256:03"] == "three"  # kept in memory instead
    cache.save()
    assert Cache(tmp_path).get("customer", "sha256:03") == "three"


def test_a_forked_copy_reads_spilled_values_without_disturbing_the_ones_still_to_come(tmp_path, monkeypatch):
    from reconciler import forked

    monkeypatch.setattr("reconciler.cache.SPILL_CHARACTERS", 0)
    cache = Cache(tmp_path)
    cache.put("customer", "sha256:01", "one")
    child = forked.Child(lambda: cache.get("customer", "sha256:01").encode())  # a helper reading a model
    cache.put("customer", "sha256:02", "two")
    assert child.result() == b"one"
    cache.put("customer", "sha256:03", "three")
    cache.save()
    assert [Cache(tmp_path).get("customer", f"sha256:0{n}") for n in (1, 2, 3)] == ["one", "two", "three"]


_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | _text,
                       lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
                       max_leaves=30)


@given(_values)
@example({"names": [None, "pbxes", "é"], "marks": [0, 2**40], "sizes": [3, 1, 1]})
def test_a_value_written_compactly_reads_back_as_it_was(data):
    text = compact(data)
    assert json.loads(text) == data and "\n" not in text and "\t" not in text  # one line of a pack, tab-split


@pytest.mark.parametrize("data", [{"big": 2**64}, ["\ud800"], {1: "a key that is not a string"}])
def test_what_orjson_refuses_is_written_as_json_writes_it(data):
    assert compact(data) == json.dumps(data, separators=(",", ":"))


def _walk_or_error(body: str):
    from reconciler.cache import _walked

    try:
        return _walked(body)
    except ValueError:
        return ValueError


def _entries_or_error(body: str):
    from reconciler.cache import _entries

    try:
        return _entries(body)
    except ValueError:
        return ValueError


_piece = st.text(st.sampled_from(" \n0123456789ab\t+\u0661"), max_size=8)  # U+0661: a digit int() reads
_entry_lines = st.lists(st.tuples(st.text(st.sampled_from("ab:\n 9"), max_size=3), _piece), max_size=6)


@given(_entry_lines, st.lists(st.tuples(st.integers(0, 80), _piece), max_size=2), st.integers(0, 3))
@settings(max_examples=examples(400))
@example([("a", "x")], [], 0)
@example([("a", "x\ny"), ("b", "z")], [], 0)  # the first value spans lines: walked
@example([("a", "x"), ("b", "1 y\nc 1 z")], [], 0)  # a later value spans lines whose pieces look like entries
@example([("a", "x"), ("", "y")], [], 0)  # no key
@example([("a", "x"), ("b", "y")], [], 1)  # cut short: the last newline missing
@example([("a b", "x")], [], 0)  # a key with a space: the walk reads another length
@example([("a", "x"), ("a", "y")], [], 0)  # a key twice: the last one holds
@example([("a\nb", "x")], [], 0)  # a key across lines, as the walk reads it
@example([("a", "x"), ("b", "y")], [(8, "+")], 0)  # a length int() reads and the walk refuses
@example([("a", "x"), ("b", "y")], [(8, "\u0661")], 0)  # "١1": digits, not ASCII ones
def test_a_pack_body_read_line_by_line_is_the_one_read_entry_by_entry(entries, edits, cut):
    body = "".join(f"{key} {len(value)} {value}\n" for key, value in entries)
    for at, text in edits:  # damage: some text put in
        body = body[:at] + text + body[at:]
    body = body[:len(body) - cut]
    assert _entries_or_error(body) == _walk_or_error(body)


@given(_entry_lines, st.lists(st.tuples(st.integers(0, 80), _piece), max_size=2), st.integers(0, 3))
@settings(max_examples=examples(400))
@example([("a", "x\ny")], [], 0)  # one entry across lines: its value decoded alone
@example([("a", "\u0661\u0661")], [], 0)  # characters of two bytes: the length counts characters
@example([("a", "x\n")], [(3, "1")], 0)  # the length made 11: longer than the body
@example([("a", "xy"), ("b", "z")], [], 0)  # two entries: the second is no part of the first's value
@example([("a", "x"), ("b", "y")], [], 1)  # cut short
def test_a_pack_body_read_from_its_bytes_is_the_one_read_from_its_text(entries, edits, cut):
    """The bytes of a body of one big entry (the snapshot's pack) are decoded value only; any body gives what
    its text gives (`_entries`): the same entries, or an error."""
    from reconciler.cache import _body_entries

    body = "".join(f"{key} {len(value)} {value}\n" for key, value in entries)
    for at, text in edits:
        body = body[:at] + text + body[at:]
    body = body[:len(body) - cut]
    try:
        found = _body_entries(memoryview(body.encode("utf-8")))
    except ValueError:
        found = ValueError
    assert found == _entries_or_error(body)


def test_the_snapshot_pack_is_decoded_value_only(repo, monkeypatch):
    """The snapshot's pack is one entry of megabytes: its value is decoded from the bytes, and the whole body is
    never decoded to be sliced."""
    import reconciler.cache as cache

    cold = plan_bytes_in_process(repo)
    whole = []
    real = cache._entries
    monkeypatch.setattr(cache, "_entries", lambda body: whole.append(len(body)) or real(body))
    size = (repo / SNAPSHOT_PACK).stat().st_size
    assert plan_bytes_in_process(repo) == cold
    assert whole and max(whole) < size / 4  # the other packs' bodies only


def test_a_pack_body_whose_lines_are_not_all_entries_is_walked(monkeypatch):
    import reconciler.cache as cache

    walked = []
    real = cache._walked
    monkeypatch.setattr(cache, "_walked", lambda body: walked.append(body) or real(body))
    assert cache._entries("a 1 x\nb 3 y\nz\n") == {"a": "x", "b": "y\nz"}
    assert cache._entries("a 3 x\ny\nb 1 z\n") == {"a": "x\ny", "b": "z"}
    assert len(walked) == 2  # the second line is no entry; the first value spans lines
    walked.clear()
    assert cache._entries("a 1 x\nb 1 y\n") == {"a": "x", "b": "y"}
    assert walked == []  # lines only
    for length in ("\u0661", "+1", " 1"):  # int() reads each as 1; an entry's length is ASCII digits
        with pytest.raises(ValueError):
            cache._entries(f"a 1 x\nb {length} y\n")
