"""What a front end must provide to show things; the shell and script mode
each implement it (``shell_output.py`` and ``script.py``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Job


class Output(Protocol):
    interactive: bool

    def info(self, text: str) -> None:
        """Plain command output."""

    def error(self, text: str) -> None:
        """One line saying what failed."""

    def warn(self, text: str) -> None:
        """One line of warning."""

    def status(self, text: str) -> None:
        """A passing status ("starting local model…")."""

    def message(self, role: str, text: str, label: str) -> None:
        """A saved message (history, a finished background reply)."""

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        """Rows of plain cells."""

    async def follow(self, session: CopilotSession, job: Job) -> str:
        """Show a reply live until it ends; returns "done", or "background"
        if the user sent it to the background."""
        ...

    async def fanout(self, items: list[tuple[CopilotSession, Job]]) -> None:
        """Show several replies to one prompt (side by side in the shell)."""

    def notice(self, text: str) -> None:
        """A one-line notice about a background session."""

    async def confirm(self, question: str) -> bool:
        """Ask a yes/no question (script mode: always no)."""
        ...
