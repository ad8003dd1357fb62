"""Completion: a pure function decides what fits at the cursor; a thin
prompt_toolkit ``Completer`` turns its answer into completions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .registry import Command

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document


@dataclass(frozen=True)
class Sources:
    """What can be offered."""

    commands: Sequence[Command]
    sessions: Sequence[str]
    models: Sequence[str]


def suggest(before_cursor: str, src: Sources) -> tuple[str, list[str]]:
    """Return (the word being completed, the candidates that extend it)."""
    text = before_cursor.lstrip()
    if not text.startswith(":") or text.startswith("::"):
        return "", []
    head, sep, rest = text.partition(" ")
    if not sep:
        names = sorted({f":{n}" for c in src.commands for n in (c.name, *c.aliases)})
        return head, [n for n in names if n.startswith(head)]
    cmd = _find(head[1:].lower(), src.commands)
    if cmd is None:
        return "", []
    words = rest.split(" ")
    word = words[-1]
    previous = words[-2] if len(words) > 1 else ""
    return word, [c for c in _candidates(cmd, previous, word, words, src) if c.startswith(word)]


def _candidates(
    cmd: Command, previous: str, word: str, words: list[str], src: Sources
) -> Iterable[str]:
    if previous in ("--model", "-m"):
        return src.models
    if word.startswith("-"):
        return cmd.flags
    if cmd.complete == "session" and len(words) == 1:
        return src.sessions
    if cmd.complete == "sessions":
        return [s for s in src.sessions if s not in words[:-1]]
    if cmd.complete == "model" and cmd.name == "model" and len(words) == 1:
        return src.models
    if cmd.complete == "command" and len(words) == 1:
        return sorted({n for c in src.commands for n in (c.name, *c.aliases)})
    return []


def _find(name: str, commands: Sequence[Command]) -> Command | None:
    for cmd in commands:
        if name == cmd.name or name in cmd.aliases:
            return cmd
    return None


def make_completer(sources: Callable[[], Sources]) -> object:
    """The prompt_toolkit adapter around ``suggest``."""
    from prompt_toolkit.completion import Completer, Completion

    class ReplCompleter(Completer):
        def get_completions(
            self, document: Document, complete_event: CompleteEvent
        ) -> Iterator[Completion]:
            word, found = suggest(document.text_before_cursor, sources())
            for cand in found:
                yield Completion(cand, start_position=-len(word))

    return ReplCompleter()
