"""The first frame: the welcome lines and the prompt, drawn from the files
alone (``cli/launch.py``'s ``opening``), before asyncio, the client and
prompt_toolkit load (most of the time to a prompt); or, when the files
cannot tell, as soon as the session is open. ``welcome`` and ``prompt``
make the same lines for both, and for the shell (``loop.py``).

The shell compares what it shows with the frame drawn early: the same
welcome lines, and the frame stays (prompt_toolkit's first draw replaces
the prompt line, the model filled in if the server was still being asked
for it); other lines, or anything said before them (a warning, a model
switched), and the frame is withdrawn first: every line it drew erased, no
prompt twice in the scrollback.

While the frame is up, keys typed are not echoed and stay in the terminal's
input queue, as typed (non-canonical mode, no CR-to-LF translation), for
prompt_toolkit to read once it takes over; Ctrl-C still interrupts.
``hand_over`` puts the cursor at the start of the line, so prompt_toolkit's
first draw replaces the frame (and shows what was typed meanwhile), and
leaves the modes alone: the shell switches straight to its own, which do not
echo either (``Shell.run``), and puts back ``saved`` when it ends; keys typed
before prompt_toolkit reads them are never echoed by the terminal as well (a
prompt typed then was in the scrollback twice). The frame also asks the
terminal to mark a paste (bracketed paste, as prompt_toolkit does): lines
pasted before prompt_toolkit reads them are one paste, not one prompt each.
``give_back`` (in ``clear``) puts back ``saved`` (and, not handed over, the
unmarked paste). Nothing is drawn when a line would not take exactly
one row of the terminal (too long, or a wide character: ``withdraw``
counts rows), or the terminal cannot be set.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from copilot_repl._version import __version__
from copilot_repl.repl.wording import count, excerpt

if TYPE_CHECKING:
    from copilot_repl.history.messages import Message

# prompt_toolkit's colours for the prompt's style classes (loop.STYLE)
ANSI = {
    "class:prompt.name": "\x1b[0;36;1m",  # bold ansicyan
    "class:prompt.model": "\x1b[0;90m",  # ansibrightblack
}
RESET = "\x1b[0m"
PASTE_ON, PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"  # the terminal marks a paste, or not


def prompt(name: str, model: str) -> list[tuple[str, str]]:
    """The prompt's (style, text) fragments: the session and its model (as
    shown: a blind comparison's is hidden)."""
    return [("class:prompt.name", name), ("class:prompt.model", f" {model}"), ("", " › ")]


def welcome(name: str = "", model: str = "", messages: Sequence[Message] = ()) -> list[str]:
    """The start-up lines: how to get help and quit, and where the session
    that was reopened (``name``, its model as shown) left off."""
    lines = [f"copilot-repl {__version__} · :help lists commands · Ctrl-D quits"]
    if not messages:
        return lines
    lines.append(f"{name} ({model}): {count(len(messages), 'message')}")
    last_user = next((m for m in reversed(messages) if m.role == "user"), None)
    last_reply = next((m for m in reversed(messages) if m.role == "assistant"), None)
    if last_user is not None:
        lines.append(f"  you: {excerpt(last_user.content, 70)}")
    if last_reply is not None:
        lines.append(f"  {name}: {excerpt(last_reply.content, 70)}")
    return lines


def columns(text: str) -> int | None:
    """How many columns ``text`` takes on one line, if that is sure: None for
    a control, a combining or a wide character."""
    if text.isascii():
        return len(text) if text.isprintable() else None
    import unicodedata  # start-up: only for text that is not ASCII

    for c in text:
        if not c.isprintable() or unicodedata.combining(c):
            return None
        if unicodedata.east_asian_width(c) in "WF":
            return None
    return len(text)


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
        self.up = False  # drawn, not handed over or withdrawn yet
        self.holding = True  # the terminal in the frame's modes
        self.lines: list[str] = []  # the welcome lines drawn above the prompt
        self.fragments: list[tuple[str, str]] = []  # the prompt drawn
        self.marking = False  # the terminal asked to mark a paste, not handed over

    @classmethod
    def show(
        cls,
        screen: IO[str],
        keys: IO[Any],
        fragments: Sequence[tuple[str, str]],
        *,
        plain: bool,
        above: Sequence[str] = (),
    ) -> FirstFrame | None:
        """Draw the prompt on ``screen``, the lines ``above`` before it; None
        (nothing drawn) if it cannot be drawn the way prompt_toolkit would
        replace it, or withdrawn whole."""
        try:
            import termios  # POSIX terminals only
        except ImportError:
            return None
        try:
            fd = keys.fileno()
            if not (os.isatty(fd) and os.isatty(screen.fileno())):
                return None
            size = os.get_terminal_size(screen.fileno())
            saved = termios.tcgetattr(fd)  # the terminal's modes, not getattr
        except (termios.error, OSError, ValueError, AttributeError):
            return None
        if os.environ.get("TERM") == "dumb" or not _fits(fragments, above, size):
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
        frame = cls(fd, saved, screen)
        frame.draw(fragments, plain=plain, above=above)
        frame.marking = True
        with contextlib.suppress(OSError, ValueError):
            screen.write(PASTE_ON)  # after the prompt: prompt_toolkit's own comes later
            screen.flush()
        return frame

    def draw(
        self, fragments: Sequence[tuple[str, str]], *, plain: bool, above: Sequence[str] = ()
    ) -> bool:
        """Draw (again, after ``withdraw``) the lines ``above`` and the prompt;
        False if they do not fit the terminal now."""
        try:
            size = os.get_terminal_size(self.screen.fileno())
        except (OSError, ValueError):
            return False
        if self.up or not _fits(fragments, above, size):
            return False
        self.lines, self.fragments = list(above), list(fragments)
        self.screen.write("".join(line + "\n" for line in above) + render(fragments, plain=plain))
        self.screen.flush()
        self.up = True
        return True

    def hand_over(self) -> None:
        """The cursor at the start of the prompt's line (safe to call twice);
        the terminal stays in the frame's modes (see ``give_back``)."""
        self.marking = False  # prompt_toolkit's now: it asks again, and ends it
        if not self.up:
            return
        self.up = False
        with contextlib.suppress(OSError, ValueError):
            self.screen.write("\r")
            self.screen.flush()

    def withdraw(self) -> None:
        """Erase what the frame drew, the lines above the prompt too, before
        anything else is written (safe to call twice; nothing once handed
        over). The terminal stays in the frame's modes."""
        if not self.up:
            return
        self.up = False
        up = f"\x1b[{len(self.lines)}A" if self.lines else ""
        with contextlib.suppress(OSError, ValueError):
            self.screen.write(f"\r{up}\x1b[J")
            self.screen.flush()

    def give_back(self) -> None:
        """Terminal modes as they were (safe to call twice)."""
        if self.marking:
            self.marking = False
            with contextlib.suppress(OSError, ValueError):
                self.screen.write(PASTE_OFF)
                self.screen.flush()
        if not self.holding:
            return
        self.holding = False
        import termios  # POSIX terminals only

        with contextlib.suppress(termios.error):
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def clear(self) -> None:
        """Withdraw the frame if it was not handed over (before other output),
        and give the terminal modes back."""
        self.withdraw()
        self.give_back()


def _fits(
    fragments: Sequence[tuple[str, str]], above: Sequence[str], size: os.terminal_size
) -> bool:
    """Each line on one row of the terminal (``withdraw`` counts on it), the
    prompt's too ("\r" would not wipe a wrapped one), all on the screen."""
    if len(above) + 1 >= size.lines:
        return False
    widths = [columns(line) for line in above]
    widths.append(columns("".join(text for _, text in fragments)))
    return all(w is not None and w < size.columns for w in widths)
