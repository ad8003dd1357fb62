"""Compaction: a summary that stands in for a session's older messages when a
request is built. The original messages stay in the file (and searchable);
only what is sent to the model changes.

On disk a compaction is a ``meta`` record with one extra key, so that readers
that do not know it (every ``records.py`` so far: unknown keys are ignored)
load the session unchanged, with all its messages::

    {"t": "meta", "summary": {"upto": N, "text": STR, "digest": HEX, "model": STR,
                              "ts": NUM, "focus"?: STR}}

``upto``: messages 1..N are replaced; ``digest``: a hash of those N messages
(role and content), so a summary no longer applies once ``:clear``/``:retry``
or anything else changed them. The last record whose digest still matches is
the session's compaction. Pure functions, but for ``read_compactions``.

Tool calls and their results are kept as pairs: a reply holds its rounds
(``Message.tools``), so a cut between messages never parts a result from its
call. The rounds of the summarised messages are summarised with them, each
call written next to its result; the rounds of the messages kept are sent
whole. Sizes count the rounds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from copilot_repl.history import files
from copilot_repl.history.messages import Message, message_tokens

MARKER = b'{"t":"meta","summary":'
KEEP_RECENT = 4  # messages always sent as they are (at least)


@dataclass(frozen=True)
class Compaction:
    upto: int  # messages 1..upto are summarised
    text: str
    digest: str
    model: str = ""
    ts: float = 0.0
    focus: str = ""

    def record(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "upto": self.upto,
            "text": self.text,
            "digest": self.digest,
            "model": self.model,
            "ts": self.ts,
        }
        if self.focus:
            body["focus"] = self.focus
        return {"t": "meta", "summary": body}


def digest(messages: Sequence[Message]) -> str:
    h = hashlib.sha256()
    for m in messages:
        h.update(m.role.encode())
        h.update(b"\0")
        h.update(m.content.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:32]


def parse_compaction(rec: object) -> Compaction | None:
    """The compaction in a decoded record, or None if it is not one (or bad)."""
    if type(rec) is not dict or rec.get("t") != "meta":
        return None
    body = rec.get("summary")
    if type(body) is not dict:
        return None
    upto, text, dig = body.get("upto"), body.get("text"), body.get("digest")
    ts, model, focus = body.get("ts", 0.0), body.get("model", ""), body.get("focus", "")
    if type(upto) is not int or upto < 1 or type(text) is not str or type(dig) is not str:
        return None
    if type(ts) not in (int, float) or not math.isfinite(ts):
        return None
    if type(model) is not str or type(focus) is not str:
        return None
    return Compaction(upto, text, dig, model, float(ts), focus)


def scan(raw: bytes) -> list[Compaction]:
    """Every compaction record in a session file's bytes, in order."""
    out: list[Compaction] = []
    if MARKER not in raw:
        return out
    for line in raw.split(b"\n"):
        if not line.startswith(MARKER):
            continue
        with contextlib.suppress(ValueError, RecursionError):
            found = parse_compaction(json.loads(line))
            if found is not None:
                out.append(found)
    return out


def read_compactions(path: Path) -> list[Compaction]:
    """The compaction records of a session file ([] if it cannot be read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return []
    try:
        return scan_file(fd)
    except OSError:
        return []
    finally:
        os.close(fd)


SCAN_BLOCK = 8 << 20  # bytes read at a time by ``scan_file``


def scan_file(fd: int, block: int = SCAN_BLOCK) -> list[Compaction]:
    """``scan`` of the whole file open as ``fd``, read ``block`` bytes at a
    time (a long file is never in memory whole)."""
    out: list[Compaction] = []
    for lines in files.line_blocks(fd, block):
        if MARKER in lines:
            out += scan(lines)
    return out


def current(
    compactions: Sequence[Compaction],
    messages: Sequence[Message],
    digest_of: Callable[[Sequence[Message], int], str] | None = None,
) -> Compaction | None:
    """The last compaction that still describes ``messages`` (its replaced
    messages are there, unchanged), or None. ``digest_of(messages, n)``:
    ``digest(messages[:n])``, from what it already knows if it can (a long
    session's: ``log.prefix_digest``)."""
    for c in reversed(compactions):
        if c.upto >= len(messages):
            continue
        found = digest(messages[: c.upto]) if digest_of is None else digest_of(messages, c.upto)
        if found == c.digest:
            return c
    return None


def request_view(
    system: str, messages: Sequence[Message], compaction: Compaction | None
) -> tuple[str, Sequence[Message]]:
    """What to send: the summary joins the system prompt and stands in for
    messages 1..upto; the rest are sent as they are (``messages`` or a
    window on it: nothing is read or copied here)."""
    if compaction is None:
        return system, messages
    note = (
        f"Summary of the earlier part of this conversation (messages 1-{compaction.upto}, "
        f"replaced to save space):\n{compaction.text}"
    )
    return (f"{system}\n\n{note}" if system else note), messages[compaction.upto :]


def plan(messages: Sequence[Message], *, keep_tokens: int, keep: int = KEEP_RECENT) -> int:
    """How many of the oldest messages to summarise: all but a recent part of
    at least ``keep`` messages and about ``keep_tokens`` tokens, which starts
    with a prompt. 0 if there is nothing worth summarising."""
    n = len(messages)
    start = n - min(keep, n)
    used = sum(message_tokens(m) for m in messages[start:])
    while start > 0 and used + message_tokens(messages[start - 1]) <= keep_tokens:
        start -= 1
        used += message_tokens(messages[start])
    while start > 0 and messages[start].role != "user":
        start -= 1
    return start if start >= 2 else 0


def summary_request(
    messages: Sequence[Message], upto: int, previous: Compaction | None, focus: str = ""
) -> list[dict[str, str]]:
    """The Chat Completions messages asking a model to summarise messages
    1..upto (building on ``previous``, which covers a prefix of them)."""
    start = previous.upto if previous is not None and previous.upto <= upto else 0
    lines = []
    if start:
        lines.append(f"[summary of messages 1-{start}]\n{previous.text if previous else ''}")
    for i, m in enumerate(messages[start:upto], start + 1):
        lines.append(f"[{i}. {m.role}]\n{transcript(m)}")
    ask = (
        "Summarise the conversation above so that it can continue without it: the user's "
        "goals, decisions, facts, names, code and open questions. Be concise; write in the "
        "conversation's language; no preamble."
    )
    if focus:
        ask += f" Focus on: {focus}"
    return [
        {"role": "system", "content": "You write faithful, compact summaries of conversations."},
        {"role": "user", "content": "\n\n".join(lines) + "\n\n---\n" + ask},
    ]


def transcript(m: Message) -> str:
    """A message as the summariser reads it: its tool rounds, each call with
    its result, then its text."""
    parts: list[str] = []
    for round_ in m.tools or ():
        if round_.get("text"):
            parts.append(str(round_["text"]))
        results = {r.get("tool_call_id"): r for r in round_.get("results") or []}
        for call in round_.get("calls") or []:
            function = call.get("function") or {}
            result = results.get(call.get("id")) or {}
            how = "result" if result.get("ok", True) else "failed"
            parts.append(
                f"(called the tool {function.get('name')} with {function.get('arguments')}; "
                f"{how}: {result.get('content', '')})"
            )
    if m.content or not parts:
        parts.append(m.content)
    return "\n".join(parts)


def make(
    messages: Sequence[Message], upto: int, text: str, *, model: str, ts: float, focus: str = ""
) -> Compaction:
    return Compaction(upto, text.strip(), digest(messages[:upto]), model, ts, focus)
