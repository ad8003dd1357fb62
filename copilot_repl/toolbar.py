"""The bottom toolbar: every session with its state, the current one highlighted."""

from __future__ import annotations

from collections.abc import Sequence

GLYPHS = {
    "idle": "",
    "queued": " …queued",
    "streaming": " ⟳",
    "unread": " ●new",
    "failed": " ✗failed",
}


def toolbar_fragments(
    sessions: Sequence[tuple[str, str]], current: str, width: int
) -> list[tuple[str, str]]:
    """(style, text) pieces for ``sessions`` given as (name, state) pairs,
    cut to ``width`` with a count of what did not fit (pure)."""
    out: list[tuple[str, str]] = []
    used = 0
    for i, (name, state) in enumerate(sessions):
        label = f" {name}{GLYPHS.get(state, ' ' + state)} "
        if used + len(label) > width - 8 and i < len(sessions) - 1:
            out.append(("class:toolbar.more", f" +{len(sessions) - i} more"))
            break
        style = "class:toolbar.current" if name == current else f"class:toolbar.{state}"
        out.append((style, label))
        used += len(label) + 1
        out.append(("", " "))
    return out
