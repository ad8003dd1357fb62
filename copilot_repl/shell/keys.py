"""Key bindings of the shell prompt."""

from __future__ import annotations

import shlex
from typing import Any

from copilot_repl.repl.parsing import dropped_file


def build_key_bindings() -> Any:
    """Tab / Shift-Tab on an empty line switch sessions; Esc Enter inserts a
    newline; Ctrl-Z at the prompt does nothing; a file dropped on an empty
    line (its path pasted) becomes ``:file PATH``: Enter attaches it."""
    # start-up: prompt_toolkit loads after the first frame
    from prompt_toolkit.filters import Condition
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys

    kb = KeyBindings()

    @Condition
    def empty() -> bool:
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit.application import get_app

        return not get_app().current_buffer.text

    @kb.add("tab", filter=empty)
    def _next(event: Any) -> None:
        event.app.exit(result=":next")

    @kb.add("s-tab", filter=empty)
    def _prev(event: Any) -> None:
        event.app.exit(result=":prev")

    @kb.add("c-z")
    def _nothing_to_background(event: Any) -> None:
        """Ctrl-Z sends a streaming reply to the background (a signal, while
        it streams); at the prompt there is none, and no ^Z goes into the line."""

    @kb.add(Keys.BracketedPaste)
    def _paste(event: Any) -> None:
        data = event.data.replace("\r\n", "\n").replace("\r", "\n")
        buffer = event.current_buffer
        path = dropped_file(data) if not buffer.text else None
        buffer.insert_text(data if path is None else f":file {shlex.quote(path)}")

    @kb.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return kb
