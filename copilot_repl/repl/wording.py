"""Small pieces of wording shared by the commands and the front ends."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copilot_repl.sanitize import one_line

if TYPE_CHECKING:
    from copilot_repl.api.turn import Turn


def count(n: int, noun: str, plural: str = "") -> str:
    """``1 token``, ``2 tokens``, ``0 tokens``."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def live_tokens(turn: Turn) -> str:
    """The reply's tokens as :jobs shows them: the final count once the reply
    has ended (``~`` if it was estimated there too), else an estimate marked
    ``~`` (the server's count is only known at the end)."""
    if turn.running:
        return f"~{turn.chars // 4}" if turn.chars else "-"
    return f"~{turn.tokens}" if turn.tokens_counted else str(turn.tokens)


def excerpt(text: str, width: int = 40) -> str:
    """The start of ``text`` on one line, cut to ``width`` characters."""
    line = one_line(text).strip()
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"
