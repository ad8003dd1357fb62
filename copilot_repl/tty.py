"""Terminal modes while replies stream."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any


@contextmanager
def no_echo(stream: IO[Any]) -> Iterator[None]:
    """Stop the terminal echoing keys (and ``^C``/``^Z``) into a streaming
    reply; signals still work. Does nothing if ``stream`` is not a terminal."""
    try:
        import termios

        fd = stream.fileno()
        old = termios.tcgetattr(fd)
    except (ImportError, OSError, ValueError, AttributeError):
        yield
        return
    new = list(old)
    new[3] &= ~(termios.ECHO | termios.ECHOCTL)
    termios.tcsetattr(fd, termios.TCSANOW, new)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSANOW, old)
