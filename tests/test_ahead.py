"""A forked copy reads a big repo's stat answers ahead while the run imports the planner (reconciler.unchanged.Ahead),
and the plan is the one the run makes alone, byte for byte: after edits, a file added and one removed, a copy that
fails or sends what is not answers, answers of another repo, and a cache committed to Git. The run that uses them
reads neither the stat pack nor a file they vouch for, and no copy outlives a run."""

from __future__ import annotations

import json
import marshal
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import reconciler.cache
import reconciler.forked
import reconciler.repo
import reconciler.unchanged
from reconciler.cli import main
from reconciler.unchanged import Ahead
from reconciler.workflow import PlanFailed, PlanRequest, make_plan
from tests.test_cache import STAT_PACK, TODAY, _rewrite, git, repo  # noqa: F401 (the fixture)
from tests.test_unchanged import reads, settled  # noqa: F401 (the fixtures)

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")


@pytest.fixture
def any_size(monkeypatch):
    """A stat pack of any size is read ahead (else from AHEAD_BYTES: a repo of about 1,400 files)."""
    monkeypatch.setattr(reconciler.unchanged, "AHEAD_BYTES", 0)


@pytest.fixture
def packs_read(monkeypatch) -> list[str]:
    """The packs this process reads (a forked copy's reads are its own)."""
    names: list[str] = []
    real = reconciler.cache.Cache._read
    monkeypatch.setattr(reconciler.cache.Cache, "_read", lambda self, name: names.append(name) or real(self, name))
    return names


def plan(repo: Path, ahead: bool, reads: list | None = None) -> bytes:
    """The JSON plan document, the stat answers read ahead by a copy or not; `reads` emptied first."""
    from reconciler.render import RENDERERS

    if reads is not None:
        reads.clear()
    started = Ahead.start([str(repo)], 2) if ahead else None
    assert (started is not None) == ahead
    try:
        document = make_plan(PlanRequest(paths=[str(repo)], state=str(repo / "state.yaml"), today=TODAY,
                                         ahead=started)).document
    except PlanFailed as failed:
        document = failed.document
    finally:
        if started is not None:
            started.stop()
    assert_no_child_left()
    return RENDERERS["json"](document).encode()


def both_ways(repo: Path, reads: list) -> tuple[bytes, bytes]:
    """The plan with the stat read ahead, then the plan alone from the same files and the same cache as before it;
    `reads` holds the files the first one read."""
    kept = repo.parent / "kept-cache"
    shutil.rmtree(kept, ignore_errors=True)
    shutil.copytree(repo / ".reconciler", kept)
    ahead = plan(repo, ahead=True, reads=reads)
    read = list(reads)
    shutil.rmtree(repo / ".reconciler")
    shutil.copytree(kept, repo / ".reconciler")
    alone = plan(repo, ahead=False)
    reads[:] = read
    return ahead, alone


def cold(repo: Path) -> bytes:
    shutil.rmtree(repo / ".reconciler")
    return plan(repo, ahead=False)


ADDED = ("c00007", "add-licenses")


def more_licenses(file: Path) -> None:
    """c00007 asks for more basic licenses than the portal holds: the plan adds them."""
    text = file.read_text()
    assert "basic: 39\n" in text
    file.write_text(text.replace("basic: 39\n", "basic: 45\n"))


def assert_no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def edit(repo: Path) -> None:
    """One file renamed, one touched (its bytes the same), one added, one removed."""
    renamed = repo / "customers" / "c00007.yaml"
    renamed.write_text(renamed.read_text().replace("company: ", "company: Renamed ", 1))
    touched = repo / "customers" / "c00011.yaml"
    touched.write_bytes(touched.read_bytes())
    shutil.copy(repo / "customers" / "c00003.yaml", repo / "customers" / "c00040.yaml")
    (repo / "customers" / "c00040.yaml").write_text(
        (repo / "customers" / "c00040.yaml").read_text().replace("customer: c00003", "customer: c00040"))
    (repo / "customers" / "c00021.yaml").unlink()


def test_a_warm_plan_with_the_stat_read_ahead_is_the_plan_without(repo, reads, settled, any_size, packs_read):
    first = plan(repo, ahead=False)
    packs_read.clear()
    assert plan(repo, ahead=True, reads=reads) == first
    assert reads == [] and "stat" not in packs_read  # the copy read it, and this process no file
    edit(repo)
    ahead, alone = both_ways(repo, reads)
    assert sorted(reads) == ["c00007.yaml", "c00011.yaml", "c00040.yaml"]
    assert ahead == alone == cold(repo) != first


TAG = object()  # where a payload below holds the run's own version (the pack's, as a copy would send it)
ROOT = object()  # where a walk below names the directory the copy walked (the run's own)
ANSWER = [["customers/c00007.yaml"], ["sha256:" + "0" * 64], ["no-catalog"], ["c00007"], [("c00007",)], [()]]


@pytest.mark.parametrize("sent", {
    "the copy fails": None,
    "not marshal": b"\x00 not marshal",
    "nothing": b"",
    "the answers alone": ANSWER,
    "a list": ["", TAG, ANSWER, None],
    "a dict of answers": ("", TAG, {ANSWER[0][0]: tuple(column[0] for column in ANSWER[1:])}, None),
    "rows, not columns": ("", TAG, [[column[0] for column in ANSWER]] * 6, None),
    "names not strings": ("", TAG, [[7], *ANSWER[1:]], None),
    "ids not strings": ("", TAG, [*ANSWER[:3], [7], *ANSWER[4:]], None),
    "PBX names not a tuple": ("", TAG, [*ANSWER[:4], ["c00007"], ANSWER[5]], None),
    "a pin not a string": ("", TAG, [*ANSWER[:5], [(7,)]], None),
    "a column short": ("", TAG, [*ANSWER[:5], []], None),
    "five columns": ("", TAG, ANSWER[:5], None),
    "no version": ("", None, ANSWER, None),
    "why not a string": (False, TAG, ANSWER, None),
    "no walk": ("", TAG, ANSWER),
    "a walk not a tuple": ("", TAG, ANSWER, [ROOT, [], [], []]),
    "a walk of three parts": ("", TAG, ANSWER, (ROOT, [], [])),
    "a walk's files not strings": ("", TAG, ANSWER, (ROOT, [7], [], [])),
    "a walk's links not a list": ("", TAG, ANSWER, (ROOT, [], [], "a")),
    "one more part": ("", TAG, ANSWER, None, ""),
}.items(), ids=lambda item: item[0])
def test_a_copy_that_sends_no_answers_gives_the_same_plan(repo, reads, settled, any_size, monkeypatch, sent):
    first = plan(repo, ahead=False)
    plan(repo, ahead=False)
    edit(repo)
    tag = reconciler.cache.Cache(repo).tag

    def work(root):
        if sent[1] is None:
            raise OSError("the copy fails")
        if isinstance(sent[1], bytes):
            return sent[1]
        def filled(part):
            if part is TAG:
                return tag
            if type(part) in (tuple, list) and part and part[0] is ROOT:
                return type(part)((str(root), *part[1:]))
            return part

        return marshal.dumps(type(sent[1])(map(filled, sent[1])))

    monkeypatch.setattr(reconciler.unchanged, "_read_ahead", work)
    ahead, alone = both_ways(repo, reads)
    assert sorted(reads) == ["c00007.yaml", "c00011.yaml", "c00040.yaml"]
    assert ahead == alone != first


@pytest.mark.parametrize("claims", ["maybe c00007 c00007 ", "no-catalog C00007 c00007 ", "no-catalog c00007",
                                    "no-catalog c00007 c00007  more", "no-catalog c00007 c00007,,b "])
def test_a_stat_entry_whose_claims_are_not_claims_vouches_for_nothing(repo, reads, settled, any_size, claims):
    """The copy checks the claims the stat pack keeps as the run would: either way the file is read (its content a
    hit), and the plan is the same."""
    first = plan(repo, ahead=False)
    plan(repo, ahead=False)
    name = str(repo / "customers" / "c00007.yaml")
    _rewrite(repo / STAT_PACK, lambda entries: {**entries, name: entries[name].rsplit("\t", 1)[0] + "\t" + claims})
    ahead, alone = both_ways(repo, reads)
    assert reads == ["c00007.yaml"]
    assert ahead == alone == first


@pytest.fixture
def walks(monkeypatch) -> list[str]:
    """The customers/ folders this process walks (a forked copy's walk is its own)."""
    seen: list[str] = []
    real = reconciler.repo.customers_below
    monkeypatch.setattr(reconciler.repo, "customers_below",
                        lambda directory, *a: seen.append(str(directory)) or real(directory, *a))
    return seen


def test_the_run_takes_the_copy_s_walk_of_the_customers_folder_and_plans_the_same(repo, reads, settled, any_size,
                                                                                    walks):
    """A link below customers/ to a file elsewhere in the repo is followed (and named by its target) the same with
    the walk the copy made as with the run's own; this process does not walk the folder when the copy did."""
    kept = repo / "kept"
    kept.mkdir()
    (kept / "c00040.yaml").write_text((repo / "customers" / "c00003.yaml").read_text().replace("c00003", "c00040"))
    (repo / "customers" / "zz").mkdir()
    (repo / "customers" / "zz" / "c00040.yaml").symlink_to(kept / "c00040.yaml")
    first = plan(repo, ahead=False)
    plan(repo, ahead=False)
    walks.clear()
    ahead, alone = both_ways(repo, reads)
    assert walks == [str(repo)]  # the run alone walked; with the copy's walk, this process did not
    assert ahead == alone == first
    assert "c00040" in {step["customer"] for step in json.loads(ahead)["steps"]}  # the linked file, planned


def test_a_link_out_of_the_repo_found_by_the_copy_s_walk_is_refused_the_same(repo, reads, settled, any_size, walks,
                                                                              tmp_path):
    plan(repo, ahead=False)
    plan(repo, ahead=False)
    (tmp_path / "elsewhere.yaml").write_text((repo / "customers" / "c00003.yaml").read_text())
    (repo / "customers" / "out.yaml").symlink_to(tmp_path / "elsewhere.yaml")
    walks.clear()
    ahead, alone = both_ways(repo, reads)
    assert walks == [str(repo)]
    assert ahead == alone
    assert [d["file"].endswith("out.yaml") for d in json.loads(ahead)["diagnostics"]] == [True]


def test_a_walk_of_the_folder_named_another_way_is_not_taken(repo, reads, settled, any_size, walks, monkeypatch):
    """The files a walk finds are named after the directory as the copy was given it: a run that names its repo
    another way (here relative, where the copy had it absolute) walks the folder itself."""
    plan(repo, ahead=False)
    plan(repo, ahead=False)
    monkeypatch.chdir(repo.parent)
    walks.clear()
    request = {"paths": [repo.name], "state": str(repo / "state.yaml"), "today": TODAY}
    started = Ahead.start([str(repo)], 2)
    try:
        ahead = make_plan(PlanRequest(**request, ahead=started)).document
    finally:
        started.stop()
    assert_no_child_left()
    assert walks == [repo.name]
    assert ahead == make_plan(PlanRequest(**request)).document


def test_answers_read_from_another_repo_are_not_used(repo, settled, any_size, monkeypatch):
    """The answers name files by their paths as the run names them: relative paths mean other files in another
    folder, so answers hold for the cache folder they were read from only."""
    monkeypatch.chdir(repo)
    for _ in range(2):
        make_plan(PlanRequest(paths=["."], state="state.yaml", today=TODAY))
    other = repo.parent / "other"
    shutil.copytree(repo, other, copy_function=shutil.copy2)
    more_licenses(other / "customers" / "c00007.yaml")
    started = Ahead.start(["."], 2)
    monkeypatch.chdir(other)
    try:
        document = make_plan(PlanRequest(paths=["."], state="state.yaml", today=TODAY, ahead=started)).document
    finally:
        started.stop()
    assert ADDED in [(step["customer"], step["action"]) for step in document["steps"]]
    assert_no_child_left()


def test_no_copy_for_one_processor_a_small_pack_files_or_no_cache(repo, settled, monkeypatch):
    plan(repo, ahead=False)
    plan(repo, ahead=False)
    assert Ahead.start([str(repo)], 2) is None  # 40 files: the fork costs more than it saves
    monkeypatch.setattr(reconciler.unchanged, "AHEAD_BYTES", 0)
    assert Ahead.start([str(repo)], 1) is None
    assert Ahead.start([str(repo / "customers" / "c00001.yaml"), str(repo / "customers" / "c00002.yaml")], 2) is None
    shutil.rmtree(repo / ".reconciler")
    assert Ahead.start([str(repo)], 2) is None


@pytest.fixture
def copies(monkeypatch) -> list:
    """The copies the plan command starts to read ahead."""
    started: list = []
    real = Ahead.start.__func__

    def counted(cls, paths, workers):
        found = real(cls, paths, workers)
        started.append(found)
        return found

    monkeypatch.setattr(Ahead, "start", classmethod(counted))
    monkeypatch.setattr(reconciler.forked, "cores", lambda: 2)
    return started


def test_the_plan_command_reads_ahead_but_not_for_changed_since(repo, settled, any_size, copies, capsys):
    argv = ["plan", str(repo), "--state", str(repo / "state.yaml"), "--today", TODAY, "--format", "json"]
    main(argv)
    capsys.readouterr()
    main(argv)
    warm = capsys.readouterr().out
    assert copies[-1] is not None
    assert_no_child_left()
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text(".reconciler/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "customers")
    copies.clear()
    main([*argv, "--changed-since", "HEAD"])
    assert copies == []
    assert json.loads(warm)["steps"]


def test_no_copy_is_left_after_an_error(repo, settled, any_size, copies, capsys):
    plan(repo, ahead=False)
    main(["plan", str(repo), "--state", str(repo / "no-such-state.yaml"), "--today", TODAY])
    assert copies and copies[-1] is not None
    assert "no-such-state.yaml" in capsys.readouterr().err
    assert_no_child_left()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_a_committed_stat_pack_is_read_by_neither_and_warned_of_once(repo, settled, any_size, copies, capfd):
    """A pull request edits a file and commits a stat pack that vouches for the edit with the old bytes' hash (its
    checksum right): the plan sees the edit, and the warning that the cache is not used is the run's own, once (the
    copy reads the pack quietly)."""
    argv = ["plan", str(repo), "--state", str(repo / "state.yaml"), "--today", TODAY, "--format", "json"]
    main(argv)
    main(argv)
    edited = repo / "customers" / "c00007.yaml"
    name = str(edited)
    more_licenses(edited)
    seen = reconciler.unchanged.signature(name)[0]
    _rewrite(repo / STAT_PACK, lambda entries: {**entries, name: seen + entries[name][entries[name].index("\t"):]})
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "an edit, and a cache that hides it")
    capfd.readouterr()
    main(argv)
    out, err = capfd.readouterr()  # the copy's output too, were it to write any
    assert copies[-1] is not None
    assert ADDED in [(step["customer"], step["action"]) for step in json.loads(out)["steps"]]
    assert err.count("is not used") == 1
    assert_no_child_left()


def test_the_copy_s_answers_are_known_files_of_every_name_in_the_pack(repo, settled):
    plan(repo, ahead=False)
    plan(repo, ahead=False)
    cache = reconciler.cache.Cache(repo)
    names = reconciler.repo.discover(repo, reconciler.repo.Config())
    why, version, answers, walk = reconciler.unchanged._decoded(reconciler.unchanged._read_ahead(repo))
    assert answers == reconciler.unchanged.known_files(cache, names) and len(answers) == 40
    assert why == "" and version == cache.tag
    assert walk == (str(repo), names, [], [])  # the files discovery finds, no link


def test_a_copy_that_finds_no_stat_pack_still_says_whether_the_cache_is_used(repo, settled):
    """The pack can go between the start of the copy and its read: the copy's word on the cache (which the run
    takes for its whole cache) does not depend on it."""
    plan(repo, ahead=False)
    (repo / STAT_PACK).unlink()
    names = reconciler.repo.discover(repo, reconciler.repo.Config())
    assert reconciler.unchanged._decoded(reconciler.unchanged._read_ahead(repo)) == ("", "", {},
                                                                                    (str(repo), names, [], []))


def test_the_copy_imports_no_pydantic_and_its_answers_are_the_same(repo, settled):
    """The copy names no version of its own (that would import pydantic while the run imports it too): a copy started
    before any model module is imported sends the pack's version and the answers a run of its own would."""
    plan(repo, ahead=False)
    plan(repo, ahead=False)
    script = ("import sys; from pathlib import Path; from reconciler.unchanged import _read_ahead; "
              "sent = _read_ahead(Path(sys.argv[1])); assert 'pydantic' not in sys.modules, 'pydantic imported'; "
              "sys.stdout.buffer.write(sent)")
    done = subprocess.run([sys.executable, "-c", script, str(repo)], capture_output=True, timeout=60, check=False,
                          cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stderr.decode()
    assert reconciler.unchanged._decoded(done.stdout) == reconciler.unchanged._decoded(
        reconciler.unchanged._read_ahead(repo))


def test_answers_read_from_a_stat_pack_of_another_version_are_not_used(repo, reads, settled, any_size, monkeypatch):
    """The copy reads a pack of any version and says which: answers that vouch for the files as they were, from a
    pack another version wrote, leave the run to read the pack itself (and see the edits)."""
    first = plan(repo, ahead=False)
    plan(repo, ahead=False)
    real = reconciler.unchanged._read_ahead
    why, _, columns, _ = marshal.loads(real(repo))
    edit(repo)  # the walk is the copy's own, of the files as they are now
    monkeypatch.setattr(reconciler.unchanged, "_read_ahead",
                        lambda root: marshal.dumps((why, "another", columns, marshal.loads(real(root))[3])))
    ahead, alone = both_ways(repo, reads)
    assert sorted(reads) == ["c00007.yaml", "c00011.yaml", "c00040.yaml"]
    assert ahead == alone != first


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
@pytest.mark.parametrize("copy", ["answers", "fails"])
def test_the_run_asks_git_about_its_cache_only_when_the_copy_did_not(repo, settled, any_size, monkeypatch, copy):
    """In a Git work tree, whether the cache is committed is asked once a run: by the copy when it answers (the
    run takes its answer), else by the run itself. A `_committed` counted in this process counts the run's."""
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text(".reconciler/\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "customers")
    first = plan(repo, ahead=False)
    asked = []
    real = reconciler.cache._committed
    monkeypatch.setattr(reconciler.cache, "_committed", lambda root: asked.append(root) or real(root))
    if copy == "fails":
        monkeypatch.setattr(reconciler.unchanged, "_read_ahead", lambda root: b"")
    assert plan(repo, ahead=True) == first
    assert len(asked) == (0 if copy == "answers" else 1)


def test_the_entries_read_ahead_count_as_used_when_a_big_stat_pack_is_saved(repo, settled, any_size, monkeypatch):
    """Past MAX_ENTRIES a save keeps only the entries the run used: those the copy vouched for are among them."""
    from reconciler.cache import Cache

    plan(repo, ahead=False)
    plan(repo, ahead=False)
    monkeypatch.setattr(reconciler.cache, "MAX_ENTRIES", 10)
    more_licenses(repo / "customers" / "c00007.yaml")  # its new stat is kept: the pack is saved
    plan(repo, ahead=True)
    assert len(Cache(repo).entries("stat")) == 40
