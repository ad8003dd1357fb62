"""A session as a Markdown document (``:export``); never includes any key."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession


def transcript(session: CopilotSession) -> str:
    lines = [f"# {session.session_id}", "", f"- model: `{session.model}`"]
    if session.system_message:
        lines.append(f"- system: {session.system_message}")
    lines.append("")
    for m in session.messages:
        mark = "" if m.status == "done" else f" ({m.status})"
        lines += [f"## {m.role}{mark}", "", m.content, ""]
    return "\n".join(lines)
