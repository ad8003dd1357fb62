"""A session as a Markdown document (``:export``); never includes any key.

The document's outline is the session's: ``# NAME``, then ``## user`` /
``## assistant`` per message. What the user typed is fenced (a ``# line`` or
a code block in a prompt cannot break that outline); replies are Markdown
already and stay so, with a code block an interrupted reply left open closed
again. Control characters are shown as on screen (``sanitize.clean``: ESC as
␛, bidi controls by name): a document read with ``cat`` runs no escape
sequence (an OSC 52 clipboard write, a title change). ``--format json`` keeps
the text exactly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.history.messages import Message

_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$", re.MULTILINE)


def transcript(session: CopilotSession, model: str = "") -> str:
    """``model``: what to say for the model (``hidden`` during a blind
    comparison); the session's by default."""
    return "".join(
        transcript_pieces(
            session.session_id, model or session.model, session.system_message, session.messages
        )
    )


def transcript_pieces(
    name: str, model: str, system_message: str, messages: Iterable[Message]
) -> Iterator[str]:
    """The transcript in pieces, one per message, made as ``messages`` are
    read (a long session is never in memory whole)."""
    lines = [f"# {name}", "", f"- model: `{model}`"]
    system = clean(system_message)
    if system and "\n" not in system and not _FENCE_LINE.search(system):
        lines.append(f"- system: {system}")
    elif system:
        lines += ["- system:", "", fenced(system)]
    yield "".join(line + "\n" for line in lines)
    for m in messages:
        mark = "" if m.status == "done" else f" ({m.status})"
        content = clean(m.content)
        body = closed(content) if m.role == "assistant" else fenced(content)
        yield f"\n## {m.role}{mark}\n\n{body}\n"


def fenced(text: str) -> str:
    """``text`` in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def closed(text: str) -> str:
    """Markdown ``text`` with a code block left open at its end closed."""
    opener = ""
    for found in _FENCE_LINE.finditer(text):
        run, rest = found.group(1), found.group(2)
        if not opener:
            opener = run
        elif run[0] == opener[0] and len(run) >= len(opener) and not rest.strip():
            opener = ""
    return f"{text}\n{opener}" if opener else text
