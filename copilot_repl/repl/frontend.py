"""``Frontend``: what the REPL needs from a front end: show lines, tables,
messages and live replies, and ask yes/no questions. The shell
(``shell/display.py``, ``shell/terminal.py``) and script mode
(``cli/script.py``) implement it.

What only the interactive shell can do for a command ($EDITOR, the
clipboard, ``:view``, a coloured ``:diff``, the vote queue) is the ``Terminal`` protocol: a
front end offers it as ``Frontend.terminal`` (None: it has none), so every
call is one mypy checks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.repl.blind import Queue
    from copilot_repl.repl.masks import Masks
    from copilot_repl.repl.worddiff import Piece


class Terminal(Protocol):
    """What the interactive shell adds for commands."""

    # the last :ask/:all, for :view
    last_fanout: list[tuple[CopilotSession, Turn]]

    async def edit(self, text: str) -> str:
        """``:edit``: ``text`` edited in $EDITOR."""
        ...

    def copy(self, text: str) -> bool:
        """``:copy``: put ``text`` on the clipboard; False if this terminal cannot."""
        ...

    async def view(self) -> str:
        """``:view``: the last :ask/:all side by side again (as ``fanout``)."""
        ...

    def word_diff(self, pieces: list[Piece], a_label: str, b_label: str) -> None:
        """``:diff``, coloured."""

    async def vote_queue(self, queue: Queue) -> None:
        """``:vote`` alone: walk the blind comparisons waiting for a vote, one
        pair at a time, until the queue is empty or the user quits."""
        ...


class Frontend(Protocol):
    interactive: bool
    # The Repl's ``Masks`` (repl/masks.py), given at start: the sessions whose
    # model must not be shown (blind comparisons before the vote); a front
    # end shows ``masks.model(sid, m)`` wherever a session's model would appear.
    masks: Masks
    terminal: Terminal | None

    def info(self, text: str) -> None:
        """Plain command output."""

    def error(self, text: str) -> None:
        """One line saying what failed."""

    def warn(self, text: str) -> None:
        """One line of warning."""

    def status(self, text: str) -> None:
        """A passing status ("starting local model…")."""

    def note(self, text: str) -> None:
        """What a command did ("created X", "X uses M"): not a reply, so
        script mode writes it to stderr."""

    def message(self, role: str, text: str, label: str) -> None:
        """A saved message (history, a finished background reply)."""

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        """Rows of plain cells."""

    async def follow(self, session: CopilotSession, turn: Turn) -> str:
        """Show a reply live until it ends (it may be queued first); returns
        "done", or "background" if the user sent it to the background."""
        ...

    async def fanout(self, items: list[tuple[CopilotSession, Turn]]) -> str:
        """Show several replies to one prompt (side by side in the shell);
        returns "done" or "background"."""
        ...

    def notice(self, text: str) -> None:
        """A one-line notice about a background session."""

    async def confirm(self, question: str) -> bool:
        """Ask a yes/no question (script mode: always no)."""
        ...

    async def ask(self, question: str) -> str:
        """Ask a question; the answer as typed ("" when nobody can answer)."""
        ...
