"""The word-level diff: both texts come back from it, changes are words."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_repl.repl.worddiff import Piece, diff, marked_lines, side, stats, tokens, unified


def test_one_changed_word() -> None:
    pieces = diff("The GIL is a lock.", "The GIL is a mutex.")
    assert pieces == [
        Piece("equal", "The GIL is a "),
        Piece("delete", "lock"),
        Piece("insert", "mutex"),
        Piece("equal", "."),
    ]
    s = stats(pieces)
    assert (s.kept, s.removed, s.added) == (4, 1, 1)
    assert 0.7 < s.similarity < 0.9


def test_same_text() -> None:
    pieces = diff("same words\nhere", "same words\nhere")
    assert [p.tag for p in pieces] == ["equal"]
    assert stats(pieces).similarity == 1.0
    assert unified(pieces, "a", "b")[-1] == "(no differences)"


def test_unified_marks_and_folds() -> None:
    a = "\n".join(f"line {k}" for k in range(1, 11))
    b = a.replace("line 5", "row 5")
    out = unified(diff(a, b), "a (m1)", "b (m2)", context=1)
    assert out[:2] == ["--- a (m1)", "+++ b (m2)"]
    assert "[-line-]{+row+} 5" in out
    assert out[2] == "@@ 3 unchanged lines @@"
    assert out[-1] == "@@ 4 unchanged lines @@"
    assert "line 4" in out and "line 6" in out and "line 3" not in out


def test_mark_spanning_lines_is_closed_on_each() -> None:
    lines = marked_lines(diff("x", "x\nnew one\nnew two"))
    assert lines == [("x", True), ("{+new one+}", True), ("{+new two+}", True)]


def test_empty_sides() -> None:
    assert side(diff("", "added"), "b") == "added"
    assert stats(diff("", "")).similarity == 1.0
    assert unified(diff("gone", ""), "a", "b")[2] == "[-gone-]"


texts = st.text(alphabet=st.sampled_from(list("ab c\n.,éZ_9")), max_size=60)


@settings(max_examples=200, deadline=None)
@given(texts, texts)
def test_both_texts_come_back(a: str, b: str) -> None:
    pieces = diff(a, b)
    assert side(pieces, "a") == a
    assert side(pieces, "b") == b
    assert "".join(tokens(a)) == a
    assert all(p.text for p in pieces)
    assert all(x.tag != y.tag for x, y in zip(pieces, pieces[1:], strict=False))


def test_spaced_separates_touching_removed_and_added_words() -> None:
    from copilot_repl.repl.worddiff import spaced

    shown = spaced(diff("alpha beta", "alpha gamma"))
    assert "".join(p.text for p in shown) == "alpha beta gamma"
    assert spaced(diff("a b", "a b")) == diff("a b", "a b")
