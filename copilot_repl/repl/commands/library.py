"""Commands on sessions as a library: search everything (:find), fork at a
message (:fork), the trash (:trash, :restore), compaction (:compact); and the
helpers :rm, :clear, :ls --tree, :history and :switch NAME@N call."""

from __future__ import annotations

import asyncio
import re
import time
from typing import TYPE_CHECKING, Any

from copilot_repl.errors import UsageError
from copilot_repl.history import compact
from copilot_repl.history.names import validate_name
from copilot_repl.history.store import Store
from copilot_repl.repl.commands.base import CommandGroup, positive
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command
from copilot_repl.sanitize import one_line

# The modules behind these commands (search: sqlite3; the trash, forks, the
# library calls) are imported where used: a first command (:ls) registers the
# commands without them.
if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.history.compact import Compaction
    from copilot_repl.history.messages import Message
    from copilot_repl.history.search import Hit
    from copilot_repl.history.trash import Entry
    from copilot_repl.repl.frontend import Frontend

MARK = ("«", "»")  # around a match in :find's snippets


class LibraryCommands(CommandGroup):
    @command(
        "find",
        usage=':find WORDS | "PHRASE" | PREFIX* [--session S] [--model M] [--since 7d] '
        "[--role user|assistant] [--limit N]",
        help="search the text of every session; :switch NAME@N opens a result",
        aliases=("search",),
        flags={
            "--session": "session",
            "--model": "model",
            "--since": "since",
            "--role": "role",
            "--limit": "limit",
            "-n": "limit",
        },
        nargs=(1, None),
    )
    async def find(self, a: Args) -> None:
        from copilot_repl.history.search import SearchIndex, since_ago  # sqlite3: not at start

        query = " ".join(f'"{p}"' if " " in p and '"' not in p else p for p in a.positional)
        since = since_ago(a.flags["since"]) if "since" in a.flags else None
        limit = positive(a.flags["limit"]) if "limit" in a.flags else 20
        store = self.client.store

        def run() -> tuple[list[Hit], str]:
            with SearchIndex(store) as index:
                report = index.sync()
                hits = index.search(
                    query,
                    session=a.flags.get("session"),
                    model=a.flags.get("model"),
                    role=a.flags.get("role"),
                    since=since,
                    limit=limit,
                )
                return hits, report.rebuilt

        self.out.status("searching…")
        hits, rebuilt = await asyncio.to_thread(run)
        if rebuilt:
            self.out.warn(f"the search index was rebuilt from the session files: {rebuilt}")
        if "model" in a.flags:  # a blind comparison's session must not match its model
            hits = [h for h in hits if not self.repl.masks.hidden(h.session)]
        if not hits:
            self.out.note("no message matches")
            return
        now = time.time()
        rows = [
            [f"{h.session}@{h.n}", h.role, _age(now - h.ts) if h.ts else "-", snippet(h)]
            for h in hits
        ]
        self.out.table(["message", "role", "age", "text"], rows)

    @command(
        "fork",
        usage=":fork NEW [@N] [--model M] [--system TEXT]",
        help="a new session with this one's messages up to N (default: all); switches to it",
        complete="model",
        flags={"--model": "model", "-m": "model", "--system": "system", "-s": "system"},
        nargs=(1, 2),
    )
    async def fork(self, a: Args) -> None:
        new = a.positional[0]
        at = None
        if len(a.positional) == 2:
            at = message_number(a.positional[1])
        elif new.count("@") == 1 and not new.startswith("@"):
            raise UsageError(f"write :fork NEW @N (with a space), not {new}")
        source = self.repl.current
        total = len(source.messages)
        forked = await self.client.fork_session(
            source.session_id,
            validate_name(new),
            at=at,
            model=a.flags.get("model"),
            system_message=a.flags.get("system"),
        )
        await self.repl.switch_to(forked, show=False)
        n = len(forked.messages)
        self.out.note(
            f"forked {source.session_id} at message {n} of {total} into {new} ({forked.model})"
        )

    @command(
        "trash",
        usage=":trash [empty | rm ENTRY...]",
        help="what :rm and :clear removed; 'empty' or 'rm' deletes it for good",
        complete="trash",
        nargs=(0, None),
    )
    async def trash(self, a: Args) -> None:
        from copilot_repl.history import trash  # start-up: see above

        store = self.client.store
        if not a.positional:
            items = trash.entries(store)
            if not items:
                self.out.note("the trash is empty")
                return
            now = time.time()
            rows = [
                [e.id, e.name, "removed" if e.kind == "rm" else "cleared", _age(now - e.removed)]
                for e in items
            ]
            self.out.table(["entry", "session", "what", "when"], rows)
            return
        verb, *specs = a.positional
        if verb == "empty" and not specs:
            chosen = trash.entries(store)
        elif verb == "rm" and specs:
            chosen = [trash.find(store, s) for s in specs]
        else:
            raise UsageError("usage: :trash [empty | rm ENTRY...]")
        self.out.note(purge_entries(store, chosen))

    @command(
        "restore",
        usage=":restore NAME[~STAMP] [--as NEW]",
        help="bring back a session (or cleared messages) from the trash",
        complete="trash",
        flags={"--as": "as"},
        nargs=(1, 1),
    )
    async def restore(self, a: Args) -> None:
        from copilot_repl.api import library  # start-up: see above
        from copilot_repl.history import trash  # start-up: see above

        spec = a.positional[0]
        entry = trash.find(self.client.store, spec)
        session = await library.restore_session(self.client, entry.id, a.flags.get("as"))
        session.refresh()
        what = "cleared messages of" if entry.kind == "clear" else "session"
        await self.repl.switch_to(session, show=False)
        self.out.note(
            f"restored {what} {session.session_id} ({len(session.messages)} messages, "
            f"{session.model})"
        )

    @command(
        "compact",
        usage=":compact [FOCUS] [--model M]",
        help="summarise the older messages; later requests send the summary instead",
        complete="model",
        flags={"--model": "model", "-m": "model"},
        nargs=(0, None),
    )
    async def compact(self, a: Args) -> None:
        session = self.repl.current
        self.out.status(f"summarising {session.session_id}…")
        done = await session.compact(" ".join(a.positional), model=a.flags.get("model"))
        self.out.note(
            f"{session.session_id}: messages 1-{done.upto} replaced by a summary in requests "
            f"({done.model}); they stay on disk (:history --all shows them)"
        )


# -- helpers for the commands in sessions.py ----------------------------------


async def remove_sessions(group: CommandGroup, names: list[str], *, purge: bool) -> str:
    """``:rm``: into the trash, or (``--purge``) for good, index included.
    Returns what to say."""

    client = group.client
    for name in names:
        if purge:
            await client.delete_session(name)  # its text leaves the search index too
        else:
            await client.trash_session(name)
        group.repl.forget(name)
    listed = ", ".join(names)
    if purge:
        return f"deleted {listed} for good"
    return f"moved {listed} to the trash (:restore NAME brings it back; :trash lists it)"


def clear_session(session: CopilotSession, *, purge: bool) -> str:
    """``:clear``: what to say about what ``session.clear_messages`` did."""
    done = session.clear_messages(purge=purge)
    name = session.session_id
    if purge:
        extra = f", and {done.backups} backup copies" if done.backups else ""
        return f"cleared {name} ({done.count} messages): removed from the disk{extra}"
    if done.entry is None:
        return f"{name} had no messages"
    return f"cleared {name} ({done.count} messages; :restore {done.entry.id} brings them back)"


def purge_entries(store: Store, chosen: list[Entry]) -> str:
    from copilot_repl.history import trash  # start-up: see above

    if not chosen:
        return "the trash is empty"
    rewritten: list[str] = []
    backups = 0
    for e in chosen:
        done = trash.purge(store, e)
        _forget(store, e.name)
        rewritten += done.rewritten
        backups += done.backups
    said = f"deleted {len(chosen)} trash item{'s' if len(chosen) != 1 else ''} for good"
    if rewritten:
        said += f"; rewrote {', '.join(sorted(set(rewritten)))} without the cleared messages"
    if backups:
        said += f"; removed {backups} backup copies"
    return said


def _forget(store: Store, name: str) -> None:
    from copilot_repl.history.search import forget_session_text  # sqlite3: not at start

    forget_session_text(store, name)


def tree_rows(group: CommandGroup) -> list[list[str]]:
    """``:ls --tree``: sessions with each fork under its parent."""
    from copilot_repl.history.fork import tree  # start-up: see above

    store = group.client.store
    cur = group.repl.current_name
    by_name = {s.name: s for s in store.summaries()}
    rows = []
    for depth, name, info in tree(store, list(by_name)):
        s = by_name[name]
        where = f"@{info.at}" if info is not None else ""
        rows.append(
            [
                "*" if name == cur else " ",
                "  " * depth + ("└ " if depth else "") + name + where,
                group.repl.masks.model(name, s.model),
                str(s.messages),
            ]
        )
    return rows


def history_view(
    store: Store, session: CopilotSession, *, all_messages: bool, last: int | None = None
) -> list[tuple[str, str, str]]:
    """``:history``: (role, text, label) to show, the ``last`` ones only if
    given (only the messages they show are read). A fork says where it
    branched; a compaction shows its summary in place of the messages it
    replaced (``--all``: the messages, marked)."""
    messages = session.messages
    current = compact.current(session.compactions, messages)
    upto = current.upto if current is not None and not all_messages else 0
    rows: list[list[tuple[str, str, str]]] = []  # newest first
    shown = 0
    i = len(messages)
    while i > 0 and (last is None or shown < last):
        if i <= upto:  # messages 1..upto: the summary stands for them
            assert current is not None
            rows.append([("note", current.text, f"summary of messages 1-{current.upto}")])
            i = 0
        else:
            rows.append(_message_rows(i, messages[i - 1], current))
            i -= 1
        shown += len(rows[-1])
    if i == 0:
        from copilot_repl.history.fork import fork_info  # start-up: see above

        info = fork_info(store, session.session_id)
        if info is not None:
            rows.append(
                [("note", f"forked from {info.parent} after its message {info.at}", "fork")]
            )
    out = [row for group in reversed(rows) for row in group]
    return out if last is None else out[-last:]


def _message_rows(i: int, m: Message, current: Compaction | None) -> list[tuple[str, str, str]]:
    """Message ``i`` (numbered as :fork @N, :switch NAME@N and :find take
    them) after its tool calls."""
    mark = "" if m.status == "done" else f" [{m.status}]"
    replaced = " (summarised)" if current is not None and i <= current.upto else ""
    out = [("note", line, "tool") for line in tool_lines(m.tools)]
    out.append((m.role, m.content, f"{i}. {m.role}{mark}{replaced}"))
    out += [("note", image_line(image), "image") for image in m.images]
    return out


def image_line(image: dict[str, Any]) -> str:
    """An image attached to a prompt, in a few words: its name, type and size."""
    from copilot_repl.history.inputs import size_text  # start-up: :history alone needs it

    name = one_line(str(image.get("display_name") or "image"))
    size = image.get("byte_length")
    if isinstance(size, int):
        shown = size_text(size) if size >= 1024 else f"{size} bytes"
        return f"{name} ({image.get('mime_type')}, {shown})"
    return f"{name} ({image.get('mime_type')})"


def tool_lines(rounds: list[dict[str, Any]] | None) -> list[str]:
    """A reply's tool calls, one line each: the call and what it gave (cut,
    on one line, control characters made visible: tool output is untrusted)."""

    lines = []
    for round_ in rounds or ():
        results = {r.get("tool_call_id"): r for r in round_.get("results") or []}
        for call in round_.get("calls") or []:
            function = call.get("function") or {}
            result = results.get(call.get("id"), {})
            status = "ok" if result.get("ok", True) else "failed"
            name, args = (
                one_line(str(function.get("name")), 64),
                one_line(str(function.get("arguments")), 60),
            )
            said = one_line(str(result.get("content", "")), 160)
            lines.append(f"⚙ {name} {args} · {status}: {said}")
    return lines


def show_around(out: Frontend, session: CopilotSession, n: int, context: int = 2) -> None:
    """``:switch NAME@N``: message N with a little before and after."""
    messages = session.messages
    if not 1 <= n <= len(messages):
        raise UsageError(f"{session.session_id} has {len(messages)} messages, not {n}")
    for i in range(max(1, n - context), min(len(messages), n + context) + 1):
        m = messages[i - 1]
        label = f"{i}. {m.role}" + ("  ◀" if i == n else "")
        out.message(m.role, m.content, label)


def message_number(text: str) -> int:
    """``@N`` (or ``N``) as a message number (0 allowed: before the first)."""
    body = text[1:] if text.startswith("@") else text
    if not body.isdigit():
        raise UsageError(f"expected @N, a message number, not {text!r}")
    return int(body)


def snippet(hit: Hit) -> str:
    """The snippet on one line, matches between « and »."""
    return "".join(
        f"{MARK[0]}{text}{MARK[1]}" if match else text
        for text, match in ((_SPACE.sub(" ", t), m) for t, m in hit.parts())
    )


_SPACE = re.compile(r"\s+")


def _age(seconds: float) -> str:
    if seconds < 90:
        return "now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "now"
