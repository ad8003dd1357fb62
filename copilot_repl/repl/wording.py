"""Small pieces of wording shared by the commands and the front ends: counts,
excerpts, a reply's figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

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


def cost_of(figures: Mapping[str, Any]) -> float | None:
    value = figures.get("cost", figures.get("cost_usd"))
    return float(value) if isinstance(value, int | float) else None


def figures_line(figures: Mapping[str, Any], *, short: bool = False) -> str:
    """``0.21 s to first token · 48 tok/s · 3.1 s · 12→140 tokens · $0.0004``
    (``short``: ``TTFT 0.21 s`` and no total time)."""
    bits = []
    if isinstance(figures.get("ttft_s"), int | float):
        ttft = figures["ttft_s"]
        bits.append(f"TTFT {ttft:.2f} s" if short else f"{ttft:.2f} s to first token")
    if isinstance(figures.get("tok_s"), int | float):
        bits.append(f"{figures['tok_s']:.0f} tok/s")
    if isinstance(figures.get("total_s"), int | float) and not short:
        bits.append(f"{figures['total_s']:.1f} s")
    out_tokens = figures.get("tokens_out")
    if out_tokens is not None:
        mark = "~" if figures.get("counted") else ""
        tin = figures.get("tokens_in")
        bits.append(
            f"{tin}→{mark}{out_tokens} tokens" if tin is not None else f"{mark}{out_tokens} tokens"
        )
    cost = cost_of(figures)
    if cost is not None:
        bits.append(f"${cost:.4f}")
    return " · ".join(bits)
