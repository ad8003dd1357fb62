"""The first frame: the prompt drawn as soon as the session is open, before
prompt_toolkit is imported and set up (about half of the time to a prompt).

While the frame is up, keys typed are not echoed and stay in the terminal's
input queue, as typed (non-canonical mode, no CR-to-LF translation), for
prompt_toolkit to read once it takes over; Ctrl-C still interrupts.
``hand_over`` puts the cursor at the start of the line, so prompt_toolkit's
first draw replaces the frame (and shows what was typed meanwhile), and
leaves the modes alone: the shell switches straight to its own, which do not
echo either (``Shell.run``), and puts back ``saved`` when it ends; keys typed
before prompt_toolkit reads them are never echoed by the terminal as well (a
prompt typed then was in the scrollback twice). ``give_back`` (in ``clear``)
puts back ``saved``. Nothing is drawn when the prompt would not fit on one
line, or the terminal cannot be set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import IO, Any

# prompt_toolkit's colours for the prompt's style classes (loop.STYLE)
ANSI = {
    "class:prompt.name": "\x1b[0;36;1m",  # bold ansicyan
    "class:prompt.model": "\x1b[0;90m",  # ansibrightblack
}
RESET = "\x1b[0m"


def render(fragments: Sequence[tuple[str, str]], *, plain: bool) -> str:
    """The prompt's (style, text) fragments as text with ANSI colours."""
    if plain:
        return "".join(text for _, text in fragments)
    return "".join(ANSI.get(style, RESET) + text for style, text in fragments) + RESET


class FirstFrame:
    """The drawn frame and the terminal modes to give back."""

    def __init__(self, fd: int, saved: list[Any], screen: IO[str]) -> None:
        self.fd = fd
        self.saved = saved
        self.screen = screen
        self.up = True  # drawn, not handed over yet
        self.holding = True  # the terminal in the frame's modes

    @classmethod
    def show(
        cls,
        screen: IO[str],
        keys: IO[Any],
        fragments: Sequence[tuple[str, str]],
        *,
        plain: bool,
    ) -> FirstFrame | None:
        """Draw the prompt on ``screen``; None (nothing drawn) if it cannot be
        drawn the way prompt_toolkit would replace it."""
        try:
            import termios  # POSIX terminals only
        except ImportError:
            return None
        width = sum(len(text) for _, text in fragments)
        try:
            fd = keys.fileno()
            if not (os.isatty(fd) and os.isatty(screen.fileno())):
                return None
            if width >= os.get_terminal_size(screen.fileno()).columns:
                return None  # a wrapped frame would not be wiped by "\r"
            saved = termios.tcgetattr(fd)  # the terminal's modes, not getattr
        except (termios.error, OSError, ValueError, AttributeError):
            return None
        if os.environ.get("TERM") == "dumb":
            return None
        new = list(saved)
        new[0] &= ~termios.ICRNL  # Enter stays "\r", as prompt_toolkit reads it
        new[3] &= ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)
        cc = list(saved[6])
        cc[termios.VMIN], cc[termios.VTIME] = 1, 0
        new[6] = cc
        try:
            termios.tcsetattr(fd, termios.TCSANOW, new)
        except termios.error:
            return None
        screen.write(render(fragments, plain=plain))
        screen.flush()
        return cls(fd, saved, screen)

    def hand_over(self) -> None:
        """The cursor at the start of the frame's line (safe to call twice);
        the terminal stays in the frame's modes (see ``give_back``)."""
        if not self.up:
            return
        self.up = False
        with contextlib.suppress(OSError, ValueError):
            self.screen.write("\r")
            self.screen.flush()

    def give_back(self) -> None:
        """Terminal modes as they were (safe to call twice)."""
        if not self.holding:
            return
        self.holding = False
        import termios  # POSIX terminals only

        with contextlib.suppress(termios.error):
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def clear(self) -> None:
        """Hand over and wipe the frame (before other output), and give the
        terminal modes back."""
        if self.up:
            self.hand_over()
            with contextlib.suppress(OSError, ValueError):
                self.screen.write("\x1b[K")
                self.screen.flush()
        self.give_back()
