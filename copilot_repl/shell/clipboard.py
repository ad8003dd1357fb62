"""``:copy`` in the shell: a reply to the terminal's clipboard with the OSC 52
sequence (works over ssh and in most terminals; tmux needs ``set-clipboard
on``). The command also writes it to a private file, for terminals that
ignore the sequence."""

from __future__ import annotations

import base64
from collections.abc import Mapping

# xterm's default limit for the sequence; bigger ones are dropped by many
# terminals, so the file alone carries them
OSC52_LIMIT = 100_000
NO_OSC52_TERMS = frozenset({"", "dumb", "linux"})  # consoles that print it raw or drop it


def osc52(text: str) -> str | None:
    """The sequence that puts ``text`` on the clipboard; None if too long."""
    payload = base64.b64encode(text.encode("utf-8")).decode("ascii")
    if len(payload) > OSC52_LIMIT:
        return None
    return f"\x1b]52;c;{payload}\x07"


def takes_osc52(env: Mapping[str, str], is_tty: bool) -> bool:
    """Whether sending the sequence is worth trying on this terminal."""
    return is_tty and env.get("TERM", "") not in NO_OSC52_TERMS
