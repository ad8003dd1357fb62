"""Who may run a tool, in the shell and in scripts: the answer to a
session's permission question (``on_permission_request``, kind custom-tool).

Never approved by default. ``--allow-tool NAME`` and ``--allow-all-tools``
(as the Copilot CLI spells them) approve ahead; otherwise the shell asks
(yes / no / always for this session / always for this tool), and script mode
and one-shot prompts refuse, in one line, and the turn goes on (the model is
told the tool was refused). While a session waits for an answer it is in
``waiting`` (the toolbar marks it ⚠, ``:jobs`` and ``:ls`` say so).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from copilot_repl.sanitize import one_line

ANSWERS = {
    "y": "yes",
    "yes": "yes",
    "n": "no",
    "no": "no",
    "": "no",
    "s": "session",
    "session": "session",
    "t": "tool",
    "tool": "tool",
}
Ask = Callable[[str], Awaitable[str]]
Say = Callable[[str], None]


@dataclass
class ToolPolicy:
    """What was allowed: tools by name, everything, or whole sessions."""

    allowed: set[str] = field(default_factory=set)
    allow_all: bool = False
    sessions: set[str] = field(default_factory=set)  # "always for this session"
    waiting: dict[str, str] = field(default_factory=dict)  # session -> the question

    @classmethod
    def of(cls, allow: Iterable[str] = (), allow_all: bool = False) -> ToolPolicy:
        return cls(allowed={n for name in allow for n in name.split(",") if n}, allow_all=allow_all)

    def allows(self, session_id: str, tool: str) -> bool:
        return self.allow_all or tool in self.allowed or session_id in self.sessions

    def handler(
        self, session_id: str, ask: Ask | None, say: Say
    ) -> Callable[[Any, Any], Awaitable[dict[str, str]]]:
        """An SDK permission handler for one session: ``ask`` puts the
        question to the user (None: nobody to ask, refuse), ``say`` reports a
        refusal in one line."""

        async def decide(request: Any, invocation: Any) -> dict[str, str]:
            tool = str(request.tool_name)
            if self.allows(session_id, tool):
                return {"kind": "approve-once"}
            if ask is None:
                where = f"[{session_id}] " if session_id else ""
                say(
                    f"{where}tool {tool} refused: allow it with --allow-tool {tool} "
                    "or --allow-all-tools"
                )
                return {"kind": "reject", "feedback": "the user did not allow this tool"}
            args = one_line(_args(request.args), 120)
            question = (
                f"[{session_id}] the model asks to run {tool} {args}; allow it? "
                "[y]es / [n]o / always for this [s]ession / always for this [t]ool: "
            )
            self.waiting[session_id] = question
            try:
                answer = ANSWERS.get((await ask(question)).strip().lower(), "no")
            finally:
                self.waiting.pop(session_id, None)
            if answer == "session":
                self.sessions.add(session_id)
            elif answer == "tool":
                self.allowed.add(tool)
            if answer == "no":
                return {"kind": "reject", "feedback": "the user said no"}
            return {"kind": "approve-once"}

        return decide


def tool_line(name: str, arguments: Any, *, done: Any = None) -> str:
    """A tool call on one line: ``⚙ NAME ARGUMENTS · STATUS`` (arguments cut;
    ``done``: its ``tool.execution_complete`` data, None while it runs)."""
    shown = _args(arguments)
    if len(shown) > 60:
        shown = shown[:59] + "…"
    if done is None:
        status = "…"
    else:
        took = f" {done.duration:.1f} s" if done.duration is not None else ""
        status = f"ok{took}" if done.success else f"failed{took}: {done.error.message}"
    return one_line(f"⚙ {name} {shown} · {status}", 200)


def _args(args: Any) -> str:
    try:
        return json.dumps(args, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):
        return str(args)
