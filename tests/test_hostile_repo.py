"""A pull request as an attacker writes it: what it can make `plan` read, print and hang on.

The repo's files point at files outside it (absolute paths, `..`, symbolic links), at special
files (a FIFO, /dev/zero) and carry names meant to hide steps. `plan` refuses each with a clear,
positioned error, opens no file outside the repo, and its output holds no byte of those files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.diagnostics import quoted
from reconciler.paths import ALLOW_ENV
from tests.conftest import EXAMPLES

TODAY = "2021-05-10"
SECRET = "TOKEN-7f3a9c-DO-NOT-PRINT"
SHADOW = f"root:*:19000:0:99999:7:::{SECRET}\ndaemon:*:19000:0:99999:7:::\n"
OPENED: list[str] = []
_WATCHING = [False]


def _audit(event, args):
    if _WATCHING[0] and event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # every open() of this process, while a test watches (a hook cannot be removed)


@pytest.fixture
def outside(tmp_path):
    """A folder beside the repo, as a runner's home would be: a credentials file, a shadow file, a customer."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "credentials").write_text(f"token = {SECRET}\n")
    (folder / "shadow").write_text(SHADOW)
    costs = (EXAMPLES / "costs" / "customers")
    (folder / "stolen.yaml").write_text(next(costs.glob("*.yaml")).read_text() + f"# {SECRET}\n")
    (folder / "more").mkdir()
    (folder / "more" / "other.yaml").write_text(f"customer: other\n# {SECRET}\n")
    return folder


@pytest.fixture
def repo(tmp_path):
    target = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "costs", target)
    return target


def set_price_book(repo: Path, value: str) -> None:
    config = repo / "reconciler.yaml"
    lines = [line for line in config.read_text().splitlines() if not line.startswith("price_book:")]
    config.write_text("\n".join(lines + [f"price_book: {value}"]) + "\n")


def plan_markdown(capsys, repo: Path, *more: str) -> tuple[int, str, str]:
    OPENED.clear()
    _WATCHING[0] = True
    try:
        code = main(["plan", str(repo), "--today", TODAY, "--format", "markdown", *more])
    finally:
        _WATCHING[0] = False
    out, err = capsys.readouterr()
    return code, out, err


def assert_nothing_outside_was_read(outside: Path, *printed: str) -> None:
    opened = [path for path in OPENED if os.path.realpath(path).startswith(str(outside.resolve()))]
    assert opened == []
    assert not any(path.startswith("/dev/") or path.startswith("/etc/") for path in OPENED)
    for text in printed:
        assert SECRET not in text and "root:*" not in text and "token =" not in text


def test_a_pull_request_that_tries_every_way_out(repo, outside, capsys):
    set_price_book(repo, str(outside / "shadow"))
    (repo / "customers" / "evil.yaml").symlink_to(outside / "stolen.yaml")
    (repo / "customers" / "linked").symlink_to(outside / "more")
    (repo / "customers" / "loop").symlink_to(repo / "customers")  # a loop inside the repo: walked once
    os.mkfifo(repo / "customers" / "fifo.yaml")
    (repo / "customers" / "zero.yaml").symlink_to("/dev/zero")
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1
    assert out.split("\n", 1)[1].startswith("## reconciler plan: nothing was planned")  # after the marker
    assert f"{repo}/reconciler.yaml:" in err and "error[path-outside-repo]: 'price_book'" in err
    assert "is an absolute path" in err
    for name in ("evil.yaml", "linked", "zero.yaml"):
        assert f"{repo}/customers/{name}: error[path-outside-repo]: a symbolic link that leads outside the repo" in err
    assert "loop" not in err and "fifo" not in err  # a loop is not followed; a FIFO is no customer file
    assert_nothing_outside_was_read(outside, out, err)


@pytest.mark.parametrize("how", ["absolute", "dotdot", "symlink", "dev-zero"])
def test_the_price_book_must_stay_inside_the_repo(repo, outside, capsys, how):
    if how == "absolute":
        value = str(outside / "shadow")
    elif how == "dotdot":
        value = "../outside/shadow"
    else:
        (repo / "book.csv").unlink(missing_ok=True)
        (repo / "book.csv").symlink_to(outside / "shadow" if how == "symlink" else Path("/dev/zero"))
        value = "book.csv"
    set_price_book(repo, value)
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1
    line = next(line for line in err.splitlines() if "path-outside-repo" in line)
    assert line.startswith(f"{repo}/reconciler.yaml:5:13: error[path-outside-repo]: 'price_book' ({quoted(value)})")
    assert_nothing_outside_was_read(outside, out, err)


def test_the_provider_path_must_stay_inside_the_repo(repo, outside, capsys):
    shutil.copyfile(repo / "state.yaml", outside / "state.yaml")
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace("path: state.yaml", "path: ../outside/state.yaml"))
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1
    assert f"{repo}/reconciler.yaml:4:9: error[path-outside-repo]: 'provider.path' ('../outside/state.yaml')" in err
    assert_nothing_outside_was_read(outside, out, err)


def test_a_linked_configuration_leading_out_of_the_repo_is_not_read(repo, outside, capsys):
    (outside / "reconciler.yaml").write_text(f"# {SECRET}\nprovider:\n  kind: snapshot\n  path: state.yaml\n")
    (repo / "reconciler.yaml").unlink()
    (repo / "reconciler.yaml").symlink_to(outside / "reconciler.yaml")
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1
    assert (f"{repo}/reconciler.yaml: error[path-outside-repo]: a symbolic link that leads outside the repo: "
            "not read") in err
    assert_nothing_outside_was_read(outside, out, err)


def test_a_user_may_allow_paths_outside_the_repo(repo, outside, capsys, monkeypatch):
    shutil.copyfile(repo / "pricebook.csv", outside / "pricebook.csv")
    set_price_book(repo, "../outside/pricebook.csv")
    monkeypatch.setenv(ALLOW_ENV, "1")
    code, out, _ = plan_markdown(capsys, repo)
    assert code == 0 and "Costs (EUR)" in out


def test_a_symlink_inside_the_repo_is_followed(repo, capsys):
    (repo / "prices").mkdir()
    (repo / "pricebook.csv").rename(repo / "prices" / "2021.csv")
    (repo / "pricebook.csv").symlink_to(Path("prices") / "2021.csv")
    code, out, _ = plan_markdown(capsys, repo)
    assert code == 0 and "Costs (EUR)" in out


@pytest.mark.parametrize("special", ["fifo", "dev-zero", "directory"])
def test_only_regular_files_are_read(repo, special, tmp_path):
    """A FIFO as the price book hung the tool (nobody ever writes to it): now it is refused, in a bounded time."""
    book = repo / "pricebook.csv"
    book.unlink()
    if special == "fifo":
        os.mkfifo(book)
    elif special == "directory":
        book.mkdir()
    else:
        book.symlink_to("/dev/zero")
    env = {**os.environ, ALLOW_ENV: "1"}  # /dev/zero is outside the repo: let it through to the reading itself
    done = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(repo)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"{book}: error[price-book]: not a regular file (a directory, a FIFO or a device): not read" in done.stderr


def test_no_more_than_the_limit_and_one_byte_is_read():
    """A file larger than its size says (a /proc file says 0 bytes) is cut at the limit, and refused."""
    from reconciler.yamlio import read_text

    text, problems = read_text(Path("/proc/self/maps"), "maps", max_bytes=64)
    assert text is None and [p.message for p in problems] == ["file is larger than 64 bytes"]


def test_an_unknown_csv_is_not_echoed(repo, capsys):
    (repo / "pricebook.csv").write_text(SHADOW)
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1
    assert (f"{repo}/pricebook.csv:1: error[price-book]: the first line is not a price book's header: expected the "
            "columns product,category,term,price,currency") in err
    assert SECRET not in out + err and "root:" not in out + err


def test_a_long_value_is_quoted_as_a_short_prefix(repo, capsys):
    customer = next((repo / "customers").glob("*.yaml"))
    text = customer.read_text()
    start = text.index("email:")
    customer.write_text(text[:start] + "email: " + "x" * 5_000_000 + SECRET + "\n"
                        + text[text.index("\n", start) + 1:])
    code, out, err = plan_markdown(capsys, repo)
    assert code == 1 and SECRET not in out + err
    assert len(out) < 2_000 and len(err) < 2_000


def test_a_dot_dot_is_named_as_such_when_the_repo_is_the_working_directory(tmp_path, monkeypatch):
    from reconciler.paths import why_outside

    monkeypatch.chdir(tmp_path)
    assert why_outside(Path("."), "../portal/sandbox.db") == "leads outside the repo ('..' climbs above its root)"
    assert why_outside(Path("."), "portal/sandbox.db") is None
