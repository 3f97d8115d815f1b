"""A deterministic fuzz target: mutated inputs through the command line, in-process.

Each case takes a small valid repo (the costs example: customer files, reconciler.yaml, a
snapshot, a price book) or a saved plan of it, mutates one file with a seeded mutator
(bytes cut, repeated or swapped, lines shuffled or re-indented, YAML and CSV tokens that
have broken parsers before), and runs `validate`, `plan` (every format, --out,
--detailed-exitcode) or `apply` of the saved plan on the sandbox. Whatever the input, the
command ends within a few seconds, with exit code 0, 1 or 2, and nothing printed is a
traceback. Case N is always the same mutation, so a failure names its case and repeats.

The suite runs FUZZ_CASES cases (default 60, a few seconds) from case FUZZ_FIRST (default 0);
a longer run by hand:

    FUZZ_CASES=5000 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_fuzz.py

Case 3666 found prices too large for decimal arithmetic (now refused by the price book).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
from pathlib import Path

import pytest

from reconciler.cli import main
from tests.conftest import EXAMPLES

CASES = int(os.environ.get("FUZZ_CASES", "60"))
FIRST = int(os.environ.get("FUZZ_FIRST", "0"))  # to go on from a case
SECONDS = 20  # per case: a hang, not a slow machine
TODAY = "2021-05-10"
SEED = "costs"
TOKENS = [
    b"&a ", b"*a", b"<<: *a", b"!!python/object:os.system ", b"!!binary ", b"[", b"]", b"{", b"}", b"'", b'"',
    b"\t", b"\x00", b"\xff\xfe", b"\xc3\x28", b"- ", b": ", b":", b"#", b"---\n", b"...\n", b"%YAML 1.1\n", b"?",
    b"|", b">-", b"~", b"null", b"yes", b"on", b"1e999", b"0x1F", b"0o17", b"2026-02-30", b"9" * 40, b"-1",
    b".inf", b"\xe2\x80\xae", b"\xc2\x85", b"\r", b"\r\n", b"\n  ", b"\n", b"/etc/passwd", b"../../x", b"@team",
    b"<!--", b"</details>", b"`", b"*x*", b"|", b",", b";", b'","', b"\x1b[2J", b"\\", b"\xef\xbb\xbf",
]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One to four mutations of `data`, drawn from `rng`."""
    for _ in range(rng.randint(1, 4)):
        size = len(data)
        at = rng.randrange(size + 1)
        kind = rng.randrange(8)
        if kind == 0 and size:  # cut a span
            data = data[:at] + data[at + rng.randint(1, 40):]
        elif kind == 1:  # insert a token
            data = data[:at] + rng.choice(TOKENS) + data[at:]
        elif kind == 2 and size:  # repeat a span
            span = data[at:at + rng.randint(1, 200)]
            data = data[:at] + span * rng.randint(2, 30) + data[at:]
        elif kind == 3:  # swap two lines
            lines = data.split(b"\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            data = b"\n".join(lines)
        elif kind == 4:  # re-indent a line
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            lines[i] = b" " * rng.choice([0, 1, 2, 3, 4, 6, 8]) + lines[i].lstrip(b" ")
            data = b"\n".join(lines)
        elif kind == 5 and size:  # flip a byte
            data = data[:at] + bytes([rng.randrange(256)]) + data[at + 1:]
        elif kind == 6:  # truncate
            data = data[:at]
        else:  # replace a value after a colon or a comma with a token
            marks = [i for i, byte in enumerate(data) if byte in b":,"]
            if marks:
                at = rng.choice(marks) + 1
                end = min([i for i in (data.find(b"\n", at), data.find(b",", at)) if i >= 0] or [len(data)])
                data = data[:at] + b" " + rng.choice(TOKENS) + data[end:]
    return data


@pytest.fixture(scope="module")
def seed_repo(tmp_path_factory):
    """The costs example on the sandbox, loaded with its snapshot, and a saved plan of it."""
    root = tmp_path_factory.mktemp("seed")
    repo = root / "repo"
    shutil.copytree(EXAMPLES / SEED, repo)
    config = repo / "reconciler.yaml"
    config.write_text(config.read_text().replace("kind: snapshot\n  path: state.yaml", "kind: sandbox"))
    assert main(["sandbox", "load", str(repo / "state.yaml"), "--repo", str(repo)]) == 0
    assert main(["plan", str(repo), "--today", TODAY, "--out", str(root / "plan.json")]) == 0
    return root


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang


def run_case(number: int, seed: Path, work: Path, capsys) -> tuple[str, int]:
    """Mutate one file of a fresh copy of the seed repo and run one command on it; (what ran, exit code)."""
    rng = random.Random(f"fuzz-{number}")
    repo = work / "repo"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(seed / "repo", repo, symlinks=True)
    plan_file = work / "plan.json"
    shutil.copyfile(seed / "plan.json", plan_file)
    targets = sorted((repo / "customers").glob("*.yaml")) + [repo / "reconciler.yaml", repo / "state.yaml",
                                                             repo / "pricebook.csv", plan_file]
    target = rng.choice(targets)
    target.write_bytes(mutate(target.read_bytes(), rng))
    fmt = rng.choice(["text", "markdown", "json"])
    if target == plan_file:
        argv = ["apply", str(plan_file), "--repo", str(repo), "--today", TODAY]
    elif target.name == "state.yaml":  # the snapshot provider reads it: --state
        argv = ["plan", str(repo), "--state", str(target), "--today", TODAY, "--format", fmt]
    elif rng.random() < 0.3:
        argv = ["validate", str(repo)] + (["--format", "json"] if fmt == "json" else [])
    else:
        argv = ["plan", str(repo), "--today", TODAY, "--format", fmt, "--out", str(work / "out.json"),
                "--detailed-exitcode"]
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(SECONDS)
    try:
        code = main(argv)
    except _Hang:
        pytest.fail(f"case {number}: {' '.join(argv)} ran for more than {SECONDS} s (mutated {target.name})")
    except BaseException as exc:  # noqa: BLE001 - any exception escaping main is the failure looked for
        pytest.fail(f"case {number}: {' '.join(argv)} raised {type(exc).__name__}: {exc} (mutated {target.name})")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), f"case {number}: exit code {code}"
    assert "Traceback" not in out + err, f"case {number}: {err[-2000:]}"
    return f"{argv[0]} {target.name}", code


def test_fuzz_the_command_line(seed_repo, tmp_path, capsys):
    codes: dict[int, int] = {}
    ran: set[str] = set()
    for number in range(FIRST, FIRST + CASES):
        what, code = run_case(number, seed_repo, tmp_path / "case", capsys)
        codes[code] = codes.get(code, 0) + 1
        ran.add(what.split()[0])
    print(f"{CASES} cases, exit codes {dict(sorted(codes.items()))}")
    assert codes.get(1, 0) > 0 and codes.get(0, 0) + codes.get(2, 0) > 0  # both valid and invalid inputs were met
    assert {"plan", "validate", "apply"} <= ran
