"""Model output is untrusted: no control character reaches the terminal raw."""

from __future__ import annotations

# C0 controls except tab and newline, DEL, and the C1 controls (which include
# the 8-bit CSI/OSC introducers): shown as visible replacements or dropped.
_TABLE: dict[int, str | None] = {
    c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))
}
_TABLE[0x1B] = "␛"
_TABLE[0x0D] = None


def clean(text: str) -> str:
    """``text`` with every terminal control character removed (ESC shown as ␛)."""
    return text.translate(_TABLE)


def one_line(text: str, limit: int = 0) -> str:
    """``text`` cleaned and on one line, cut at ``limit`` characters (0: no cut)."""
    text = " ".join(clean(text).split())
    return text[:limit] + "…" if limit and len(text) > limit else text


def short_error(exc: BaseException) -> str:
    """An exception as one short line (its type if it says nothing)."""
    return one_line(str(exc), 300) or type(exc).__name__
