"""The flow-nesting precheck: the same place as a walk over every character, found without one on a normal file."""

from __future__ import annotations

from hypothesis import example, given, settings, strategies as st

from reconciler.yamltext import MAX_DEPTH, _too_deep_at
from tests.conftest import examples


def walked(text: str) -> int | None:
    """The precheck as a plain walk over every character: the meaning `_too_deep_at` must keep."""
    depth, index = 0, 0
    while index < len(text):
        char, previous = text[index], text[index - 1] if index else "\n"
        if (char in "'\"" and previous in " \t\n[{,:") or (char == "#" and previous in " \t\n"):
            end = text.find("\n" if char == "#" else char, index + 1)
            if end < 0:
                return None
            index = end + 1
            continue
        if char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return index
        elif char in "]}":
            depth = max(0, depth - 1)
        index += 1
    return None


_pieces = st.sampled_from(["[", "]", "{", "}", "'", '"', "#", " ", "\n", "\t", ",", ":", "a", "é"])
_runs = st.builds(lambda char, count: char * count, st.sampled_from("[{]}"), st.integers(1, MAX_DEPTH + 5))
_texts = st.lists(_pieces | _runs, max_size=60).map("".join)


@settings(max_examples=examples(300))
@given(_texts)
@example("[" * (MAX_DEPTH + 1))
@example("[]" * 100 + "[" * MAX_DEPTH)  # many brackets, never too deep
@example("]" * 10 + "[" * (MAX_DEPTH + 1))  # closers at depth 0 do nothing
@example("[" * 30 + "]" * 5 + "{" * 26)  # 51 open, some closed in between
@example("a: '" + "[" * 60 + "'\n")  # inside a quoted string
@example("a: b'" + "[" * 60 + "\n")  # an apostrophe inside a word opens nothing
@example("a: x#" + "[" * 60 + "\n")  # nor does `#` inside a word
@example("# " + "[" * 60)  # a comment to the end of the text
@example("a: \"" + "[" * 60)  # a string never closed
@example("[" * 25 + "'x'" + "[" * 26)  # a quote right after a bracket is a string
def test_the_precheck_finds_the_place_a_character_walk_finds(text):
    assert _too_deep_at(text) == walked(text)


def test_a_big_flat_document_with_many_brackets_is_not_too_deep():
    text = "customers:\n" + "".join(f"  c{n}: {{pbxes: [{{name: p{n}, devices: [a, b]}}]}}\n" for n in range(20_000))
    assert _too_deep_at(text) is None
    assert _too_deep_at(text + "x: " + "[" * (MAX_DEPTH + 1)) == len(text) + 3 + MAX_DEPTH
