"""Completion: a pure function decides what fits at the cursor; a thin
prompt_toolkit ``Completer`` turns its answer into completions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from copilot_repl.repl.registry import Command

if TYPE_CHECKING:
    from prompt_toolkit.completion import CompleteEvent, Completion
    from prompt_toolkit.document import Document


@dataclass(frozen=True)
class Sources:
    """What can be offered."""

    commands: Sequence[Command]
    sessions: Sequence[str]
    models: Sequence[str]
    providers: Sequence[str] = ()
    trash: Sequence[str] = ()  # trash entries: NAME and NAME~STAMP
    counts: Mapping[str, int] = field(default_factory=dict)  # messages per session, for @N
    current: str = ""
    tools: Sequence[str] = ()  # the current session's tools
    servers: Sequence[str] = ()  # the MCP servers of config.toml


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
    done = [w for w in words[:-1] if w]  # the words before, extra spaces ignored
    if cmd.complete == "path" and not word.startswith("-") and not _after_flag(cmd, done):
        return word, paths(word)
    if cmd.complete == "session-list" and all(w.endswith(",") for w in done):
        # ":ask a,b,c PROMPT" (or "a, b, c"): complete the name after the last comma
        listed, _, word = word.rpartition(",")
        names = ",".join([*done, listed]).replace(" ", "").split(",")
        return word, [s for s in src.sessions if s.startswith(word) and s not in names]
    listing = _name_list(cmd, word, done, src)
    if listing is not None:  # NAME,NAME: complete the name after the last comma
        listed, _, piece = word.rpartition(",")
        taken = set(listed.split(","))
        return piece, [n for n in listing if n.startswith(piece) and n not in taken]
    return word, [c for c in _candidates(cmd, word, done, src) if c.startswith(word)]


def _name_list(cmd: Command, word: str, done: list[str], src: Sources) -> Sequence[str] | None:
    """The names a comma-separated list at the cursor takes: MCP servers
    (``--tools``, ``:tools MCP,MCP``) or tools (``:tools on|off TOOL,TOOL``)."""
    if done and done[-1] == "--tools":
        return src.servers
    if cmd.complete != "tools":
        return None
    if not done and "," in word:
        return src.servers
    if len(done) == 1 and done[0] in ("on", "off"):
        return src.tools
    return None


def _candidates(cmd: Command, word: str, done: list[str], src: Sources) -> Iterable[str]:
    if done and done[-1] in ("--model", "-m"):
        return src.models
    if word.startswith("-"):
        return cmd.long_flags
    if cmd.complete == "session" and not done:
        name, at, _ = word.partition("@")
        if at:  # :switch NAME@N
            return [f"{name}@{i}" for i in range(1, src.counts.get(name, 0) + 1)]
        return src.sessions
    if cmd.complete == "trash":  # :restore ENTRY, :trash empty | rm ENTRY...
        if cmd.name == "trash":
            return ["empty", "rm"] if not done else src.trash if done[0] == "rm" else []
        return src.trash if not done else []
    if cmd.name == "fork" and len(done) == 1 and word.startswith("@"):
        return [f"@{i}" for i in range(src.counts.get(src.current, 0) + 1)]
    if cmd.complete == "sessions":
        return [s for s in src.sessions if s not in done]
    if cmd.complete == "model" and cmd.name == "model" and not done:
        return src.models
    if cmd.complete == "provider" and not done:
        return src.providers
    if cmd.complete == "tools" and not done:
        return ["off", "on", *src.servers]
    if cmd.complete == "command" and not done:
        return sorted({n for c in src.commands for n in (c.name, *c.aliases)})
    return []


def _after_flag(cmd: Command, done: list[str]) -> bool:
    """The word is the value of a flag that takes one."""
    return bool(done) and done[-1] in cmd.flags and cmd.flags[done[-1]] not in cmd.switches


def paths(word: str) -> list[str]:
    """Files and directories that extend ``word`` (``~`` understood, kept as
    typed); directories end in ``/``; hidden ones only after a ``.``."""
    head, _, stem = word.rpartition("/")
    where = os.path.expanduser(head + "/" if head or word.startswith("/") else ".")
    try:
        entries = sorted(os.scandir(where), key=lambda e: e.name)
    except OSError:
        return []
    prefix = head + "/" if head or word.startswith("/") else ""
    out = []
    for entry in entries:
        if not entry.name.startswith(stem) or (entry.name[0] == "." and not stem.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        out.append(prefix + entry.name + ("/" if is_dir else ""))
    return out


def _find(name: str, commands: Sequence[Command]) -> Command | None:
    for cmd in commands:
        if name == cmd.name or name in cmd.aliases:
            return cmd
    return None


def make_completer(sources: Callable[[], Sources]) -> object:
    """The prompt_toolkit adapter around ``suggest``."""
    # start-up: prompt_toolkit loads after the first frame
    from prompt_toolkit.completion import Completer, Completion

    class ReplCompleter(Completer):
        def get_completions(
            self, document: Document, complete_event: CompleteEvent
        ) -> Iterator[Completion]:
            word, found = suggest(document.text_before_cursor, sources())
            for cand in found:
                yield Completion(cand, start_position=-len(word))

    return ReplCompleter()
