"""Terminal modes while replies stream."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any


@contextmanager
def no_echo(stream: IO[Any] | None) -> Iterator[None]:
    """Stop the terminal echoing keys (and ``^C``/``^Z``) into a streaming
    reply, and hand them over as typed; signals still work, without
    flushing output. Does nothing if ``stream`` is not a terminal (or None)."""
    restore = hold_no_echo(stream)
    try:
        yield
    finally:
        restore()


def hold_no_echo(stream: IO[Any] | None, found: list[Any] | None = None) -> Callable[[], None]:
    """``no_echo``'s modes, set until the function returned is called: it
    puts back the modes found (it does nothing if none were set). ``found``:
    the modes to start from and put back, instead of the terminal's now."""
    try:
        import termios  # POSIX terminals only
    except ImportError:
        return _nothing
    if stream is None:
        return _nothing
    try:
        fd = stream.fileno()
        old = found or termios.tcgetattr(fd)  # the terminal's modes, not getattr
    except (termios.error, OSError, ValueError, AttributeError):
        return _nothing
    new = list(old)
    # keys come as typed (the shell shows them under the reply and does the
    # editing), not a line at a time
    new[3] &= ~(termios.ECHO | termios.ECHOCTL | termios.ICANON)
    cc = list(new[6])
    cc[termios.VMIN], cc[termios.VTIME] = 1, 0
    new[6] = cc
    # and keep ^C/^Z from discarding output not yet shown: that would cut an
    # escape sequence or a UTF-8 character in half
    new[3] |= termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, new)

    def restore() -> None:
        termios.tcsetattr(fd, termios.TCSANOW, old)

    return restore


def _nothing() -> None:
    pass


@contextmanager
def echo_on(stream: IO[Any] | None) -> Iterator[None]:
    """Give the terminal back its usual echo for a child process (an
    editor) while ``no_echo`` is in force; restored after."""
    try:
        import termios  # POSIX terminals only
    except ImportError:
        yield
        return
    try:
        fd = stream.fileno() if stream is not None else -1
        old = termios.tcgetattr(fd)  # the terminal's modes, not getattr
    except (termios.error, OSError, ValueError, AttributeError):
        yield
        return
    new = list(old)
    new[3] |= termios.ECHO | termios.ECHOCTL | termios.ICANON
    new[3] &= ~termios.NOFLSH
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)


def pending_input(fd: int) -> bytes:
    """What was typed on terminal ``fd`` without Enter (a cooked terminal
    holds it back): read at once, in non-canonical mode, so the next prompt
    does not run it as keys (b"" if not a terminal)."""
    try:
        import termios  # POSIX terminals only
    except ImportError:
        return b""
    try:
        old = termios.tcgetattr(fd)
    except (termios.error, OSError):
        return b""
    new = list(old)
    new[3] &= ~termios.ICANON
    cc = list(new[6])
    cc[termios.VMIN], cc[termios.VTIME] = 0, 0
    new[6] = cc
    chunks = []
    try:
        termios.tcsetattr(fd, termios.TCSANOW, new)
        while data := os.read(fd, 4096):
            chunks.append(data)
    except (termios.error, OSError):
        pass
    finally:
        with contextlib.suppress(termios.error, OSError):
            termios.tcsetattr(fd, termios.TCSANOW, old)
    return b"".join(chunks)
