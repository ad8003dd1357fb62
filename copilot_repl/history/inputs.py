"""The one reader of files the user names: ``-f`` and the SDK's file
attachments, ``compare --prompts`` (and ``:compare``), ``sessions import``
(an export, a Copilot CLI ``events.jsonl``, llm's ``logs.db``). One rule
for all of them:

- only a regular file is read: a FIFO, a device (``/dev/zero``), a directory
  or a socket is refused at once, without blocking (opened with
  ``O_NONBLOCK``, checked with ``fstat`` on the descriptor opened, so nothing
  can be swapped in between);
- at most ``limit`` bytes: a bigger file is refused having read at most
  ``limit + 1`` bytes, whatever size it claims (``/proc`` files say 0);
- text is UTF-8, or refused naming the line of the first bad byte;
- an image (``-f``, ``:file``) is known by its first bytes (``image_type``:
  PNG, JPEG, GIF, WebP), never by its name;
- JSON is parsed with its nesting bounded (``MAX_DEPTH``): deeper is refused,
  a ``RecursionError`` never escapes.

Every refusal is one line, raised as the caller's error class (``UsageError``
unless told otherwise; imports use ``ImportFailed``), saying what was being
done: "cannot attach F: it is a FIFO".
Symlinks to a regular file are followed: the user named them.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from copilot_repl.errors import ReplError, UsageError

MAX_DEPTH = 64  # JSON arrays and objects inside each other
CHUNK = 1 << 20
_SURROGATE = re.compile("[\ud800-\udfff]")


def describe(mode: int) -> str:
    """What a non-regular file is, in a few words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_input(path: Path, *, doing: str = "read", error: type[ReplError] = UsageError) -> int:
    """A read-only fd on ``path``, which must be a regular file (never blocks)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot {doing} {path}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
    except OSError as exc:
        os.close(fd)
        raise error(f"cannot {doing} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise error(f"cannot {doing} {path}: it is {describe(mode)}")
    return fd


def check_input(path: Path, *, doing: str = "read", error: type[ReplError] = UsageError) -> None:
    """Refuse ``path`` as ``open_input`` would (for readers that open it
    themselves, such as SQLite)."""
    os.close(open_input(path, doing=doing, error=error))


def read_bytes(
    path: Path, *, limit: int, doing: str = "read", error: type[ReplError] = UsageError
) -> bytes:
    """The whole of a regular file of at most ``limit`` bytes."""
    fd = open_input(path, doing=doing, error=error)
    too_big = error(f"cannot {doing} {path}: larger than {size_text(limit)}")
    try:
        if os.fstat(fd).st_size > limit:
            raise too_big
        chunks: list[bytes] = []
        got = 0
        while got <= limit:
            chunk = os.read(fd, min(CHUNK, limit + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
    except OSError as exc:
        raise error(f"cannot {doing} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if got > limit:
        raise too_big
    return b"".join(chunks)


# the first bytes of each image type a chat model may be sent, and its MIME type
_IMAGE_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def image_type(data: bytes) -> str | None:
    """The MIME type of an image in ``data`` (PNG, JPEG, GIF, WebP), by its
    first bytes; None if it is none of them."""
    for magic, mime in _IMAGE_MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sniff_image(
    path: Path, *, doing: str = "attach", error: type[ReplError] = UsageError
) -> str | None:
    """The image type of the regular file ``path`` by its first bytes (None:
    not an image), refusing what ``open_input`` refuses."""
    fd = open_input(path, doing=doing, error=error)
    try:
        head = os.read(fd, 16)
    except OSError as exc:
        raise error(f"cannot {doing} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return image_type(head)


def read_text(
    path: Path, *, limit: int, doing: str = "read", error: type[ReplError] = UsageError
) -> str:
    """A regular file of at most ``limit`` bytes, as UTF-8 text."""
    return decode(read_bytes(path, limit=limit, doing=doing, error=error), path, doing, error)


def decode(data: bytes, path: Path, doing: str, error: type[ReplError]) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"cannot {doing} {path}: not UTF-8 text (line {line})") from None


def loads(
    text: str | bytes,
    *,
    where: str,
    error: type[ReplError] = UsageError,
    not_json: str = "not JSON",
) -> Any:
    """``text`` as JSON, or ``error("WHERE: not JSON")``; nesting deeper than
    ``MAX_DEPTH`` is refused ("WHERE: nested too deeply")."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise error(f"{where}: nested too deeply (more than {MAX_DEPTH} levels)") from None
    except ValueError:
        raise error(f"{where}: {not_json}") from None
    if too_deep(value):
        raise error(f"{where}: nested too deeply (more than {MAX_DEPTH} levels)")
    return value


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` deep
    (without recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def lone_surrogate(text: str) -> str | None:
    """The first lone surrogate in ``text`` as ``U+D800`` (None: there is none).
    JSON's ``"\\ud800"`` escape makes one; it is not text and cannot be
    written out as UTF-8."""
    found = _SURROGATE.search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def size_text(n: int) -> str:
    if n >= 1 << 20 and n % (1 << 20) == 0:
        return f"{n >> 20} MB"
    return f"{n // 1024} KB"
