"""The bottom toolbar: every session with its state, the current one highlighted."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

GLYPHS = {
    "idle": "",
    "queued": " …queued",
    "streaming": " ⟳",
    "unread": " ●new",
    "failed": " ✗failed",
    "permission": " ⚠",
}


def toolbar_fragments(
    sessions: Sequence[tuple[str, str]],
    current: str,
    width: int,
    queued: Mapping[str, int] | None = None,
) -> list[tuple[str, str]]:
    """(style, text) pieces for ``sessions`` given as (name, state) pairs,
    cut to ``width`` with a count of what did not fit on either side; the
    current session is always among those shown (pure). ``queued``: how many
    prompts wait in a session behind the reply streaming (shown ``+N``)."""
    waiting = queued or {}
    labels = [f" {name}{_glyph(state, waiting.get(name, 0))} " for name, state in sessions]
    at = next((i for i, (name, _) in enumerate(sessions) if name == current), 0)
    lo, hi = _window([len(label) + 1 for label in labels], at, width)
    if labels:
        # a very long name in a narrow terminal: shorten it rather than overflow
        room = width - 1 - (len(_before(lo)) if lo else 0)
        room -= len(_after(len(labels) - hi)) if hi < len(labels) else 0
        for i in range(lo, hi):
            if len(labels[i]) > room:
                labels[i] = labels[i][: max(room - 2, 0)] + "… "
    out: list[tuple[str, str]] = []
    if lo:
        out.append(("class:toolbar.more", _before(lo)))
    for i in range(lo, hi):
        name, state = sessions[i]
        style = "class:toolbar.current" if name == current else f"class:toolbar.{state}"
        out.append((style, labels[i]))
        out.append(("", " "))
    if hi < len(labels):
        out.append(("class:toolbar.more", _after(len(labels) - hi)))
    return out


def _glyph(state: str, queued: int) -> str:
    if state == "queued" and queued:
        return f" …{queued + 1} queued"
    return GLYPHS.get(state, " " + state) + (f" +{queued} queued" if queued else "")


def _before(n: int) -> str:
    return f"+{n} more "


def _after(n: int) -> str:
    return f" +{n} more"


def _window(sizes: list[int], at: int, width: int) -> tuple[int, int]:
    """The range [lo, hi) of labels to show: as many as fit from the start,
    or, if that leaves out label ``at``, as many as fit ending with it."""
    n = len(sizes)

    def used(lo: int, hi: int) -> int:
        extra = (len(_before(lo)) if lo else 0) + (len(_after(n - hi)) if hi < n else 0)
        return sum(sizes[lo:hi]) + extra

    def grow(lo: int, hi: int) -> int:
        while hi < n and used(lo, hi + 1) <= width:
            hi += 1
        return hi

    hi = grow(0, 0)
    if at < hi or n == 0:
        return 0, hi
    lo = next((lo for lo in range(at + 1) if used(lo, at + 1) <= width), at)
    return lo, grow(lo, at + 1)
