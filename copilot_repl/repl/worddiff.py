"""A word-level diff of two texts (pure).

``diff(a, b)`` gives the pieces of both texts in order, each kept, removed
(only in ``a``) or added (only in ``b``); words, runs of whitespace and single
punctuation marks are the units, so a changed word does not drag its
sentence along. ``unified(...)`` writes it as text in the style of
``git diff --word-diff=plain``: ``[-removed-]{+added+}``, under ``---``/``+++``
headers, unchanged stretches of lines folded to ``@@ ... @@``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

Tag = Literal["equal", "delete", "insert"]
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Piece:
    tag: Tag
    text: str


def tokens(text: str) -> list[str]:
    """Words, whitespace runs and punctuation marks; ``"".join`` gives ``text``."""
    return _TOKEN.findall(text)


def diff(a: str, b: str) -> list[Piece]:
    """Pieces whose kept + removed parts make ``a`` and kept + added make ``b``."""

    ta, tb = tokens(a), tokens(b)
    out: list[Piece] = []

    def put(tag: Tag, words: list[str]) -> None:
        text = "".join(words)
        if not text:
            return
        if out and out[-1].tag == tag:
            out[-1] = Piece(tag, out[-1].text + text)
        else:
            out.append(Piece(tag, text))

    matcher = SequenceMatcher(None, ta, tb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            put("equal", ta[i1:i2])
        else:
            put("delete", ta[i1:i2])
            put("insert", tb[j1:j2])
    return out


def spaced(pieces: list[Piece]) -> list[Piece]:
    """For showing in colour: a space between a removed and an added piece
    that touch with no whitespace, so the words do not run together."""
    out: list[Piece] = []
    for p in pieces:
        prev = out[-1] if out else None
        if (
            prev is not None
            and {prev.tag, p.tag} == {"delete", "insert"}
            and not prev.text[-1:].isspace()
            and not p.text[:1].isspace()
        ):
            out.append(Piece("equal", " "))
        out.append(p)
    return out


def side(pieces: list[Piece], which: Literal["a", "b"]) -> str:
    """One of the two texts again."""
    drop = "insert" if which == "a" else "delete"
    return "".join(p.text for p in pieces if p.tag != drop)


@dataclass(frozen=True)
class Stats:
    kept: int  # words (not whitespace or punctuation)
    removed: int
    added: int

    @property
    def similarity(self) -> float:
        """Share of words kept, of all words on both sides (1.0: the same)."""
        total = 2 * self.kept + self.removed + self.added
        return 2 * self.kept / total if total else 1.0


def stats(pieces: list[Piece]) -> Stats:
    n = {"equal": 0, "delete": 0, "insert": 0}
    for p in pieces:
        n[p.tag] += sum(1 for t in tokens(p.text) if t[0].isalnum() or t[0] == "_")
    return Stats(n["equal"], n["delete"], n["insert"])


def marked_lines(pieces: list[Piece]) -> list[tuple[str, bool]]:
    """The merged text as lines with ``[-...-]``/``{+...+}`` marks, each with
    whether it holds a change (a mark spanning lines is closed and reopened
    on each, so every line reads on its own)."""
    lines: list[tuple[str, bool]] = []
    cur: list[str] = []
    changed = False
    opens = {"delete": ("[-", "-]"), "insert": ("{+", "+}"), "equal": ("", "")}
    for piece in pieces:
        left, right = opens[piece.tag]
        parts = piece.text.split("\n")
        for k, part in enumerate(parts):
            if k:
                lines.append(("".join(cur), changed))
                cur, changed = [], False
            if part:
                cur.append(f"{left}{part}{right}")
                changed = changed or piece.tag != "equal"
            elif piece.tag != "equal" and len(parts) > 1 and k < len(parts) - 1:
                changed = True  # a removed or added line break
    lines.append(("".join(cur), changed))
    return lines


def unified(pieces: list[Piece], a_label: str, b_label: str, *, context: int = 2) -> list[str]:
    """The diff as plain lines (script mode, ``--plain``)."""
    out = [f"--- {a_label}", f"+++ {b_label}"]
    lines = marked_lines(pieces)
    if not any(c for _, c in lines):
        return [*out, "(no differences)"]
    near = [False] * len(lines)
    for k, (_, c) in enumerate(lines):
        if c:
            for m in range(max(0, k - context), min(len(lines), k + context + 1)):
                near[m] = True
    skipped = 0
    for k, (text, _) in enumerate(lines):
        if near[k]:
            if skipped:
                out.append(f"@@ {skipped} unchanged line{'s' if skipped > 1 else ''} @@")
                skipped = 0
            out.append(text)
        else:
            skipped += 1
    if skipped:
        out.append(f"@@ {skipped} unchanged line{'s' if skipped > 1 else ''} @@")
    return out
