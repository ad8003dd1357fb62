"""Where Markdown blocks end in a growing reply, and the newest part of a long
one, as text (pure: no rendering here)."""

from __future__ import annotations

import re

_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


class BlockSplitter:
    """Finds where Markdown blocks end in a growing text (pure, incremental).

    A block ends at a blank line outside a fenced code block, or at the line
    that closes a fence -- once the next non-blank line shows that nothing
    continues it: an indented line (an item's second paragraph, an indented
    code block) or, when the block is a list, the next item (a loose list)
    belongs to the same block. Each feed looks only at the new text, and the
    text already handed out is not kept.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # complete lines of the unfinished block
        self._partial = ""  # the incomplete last line
        self._fence = ""  # the open fence marker, or ""
        self._may_end = False  # a blank line or closing fence: the block may be over
        self._has_text = False  # the block has a non-blank line
        self._is_list = False  # the block starts with a list item

    def feed(self, delta: str) -> str:
        """Add ``delta``; return newly finished blocks ("" if none)."""
        if "\n" not in delta:
            self._partial += delta
            return ""
        pieces = (self._partial + delta).split("\n")
        self._partial = pieces.pop()
        done: list[str] = []
        for line in pieces:
            if self._may_end and line.strip():
                self._may_end = False
                if not self._continues(line):
                    done.extend(self._lines)
                    self._lines = []
                    self._has_text = False
            if not self._has_text and line.strip():
                self._has_text = True
                self._is_list = bool(_LIST_ITEM.match(line.lstrip()))
            self._lines.append(line + "\n")
            if self._line_may_end_block(line):
                self._may_end = True
        return "".join(done)

    def _continues(self, line: str) -> bool:
        """Whether ``line``, after a possible end, still belongs to the block."""
        if line[:1] in (" ", "\t"):
            return self._has_text
        return self._is_list and bool(_LIST_ITEM.match(line))

    def _line_may_end_block(self, line: str) -> bool:
        stripped = line.strip()
        if self._fence:
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = ""
                return True
            return False
        if stripped.startswith(("```", "~~~")):
            marker = stripped[0]
            self._fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
            return False
        return not stripped

    @property
    def tail(self) -> str:
        return "".join(self._lines) + self._partial


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)


def recent(text: str, limit: int) -> str:
    """The end of ``text`` (about ``limit`` characters), from the start of a
    line, as Markdown that renders like the end of the whole: inside a fenced
    code block, the fence line comes first. Bounds the work of showing the
    newest part of a long block."""
    if len(text) <= limit:
        return text
    start = len(text) - limit
    line = text.rfind("\n", 0, start) + 1
    if start - line > limit:  # one very long line: start at a word
        space = text.find(" ", start)
        return text[space + 1 :] if space != -1 else text[start:]
    fences = [m for m in _FENCE_LINE.finditer(text, 0, line)]
    opened = _open_fence(fences)
    if opened is None:
        return text[line:]
    fence_end = text.find("\n", opened.start())
    return text[opened.start() : fence_end + 1] + text[line:]


def _open_fence(fences: list[re.Match[str]]) -> re.Match[str] | None:
    """The fence line still open after ``fences`` (a closing fence is at
    least as long as, and made of the same character as, the opening one)."""
    opened: re.Match[str] | None = None
    for m in fences:
        if opened is None:
            opened = m
        elif m.group(1)[0] == opened.group(1)[0] and len(m.group(1)) >= len(opened.group(1)):
            opened = None
    return opened
