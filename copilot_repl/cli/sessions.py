"""``copilot-repl sessions ...``: manage saved sessions from a shell script,
a CI job or another program. Human output is a table or plain text; with
``--json`` one JSON document on stdout. Errors on stderr, one line; exit
status 0, 1 (failed) or 2 (bad usage)."""

from __future__ import annotations

import argparse
import asyncio
import json
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.cli.arguments import (
    Invocation,
    LineParser,
    add_global_options,
    make_client,
    run_subcommand,
)
from copilot_repl.cli.arguments import build_parser as main_parser
from copilot_repl.cli.output import is_tty, write_error, write_table, write_warning
from copilot_repl.errors import BadUsage, ReplError, SessionNotFound, UsageError
from copilot_repl.history import busy
from copilot_repl.history.blinds import HIDDEN, BlindStore
from copilot_repl.history.files import write_output
from copilot_repl.history.names import validate_name
from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from copilot_repl.history.store import Store

HELP = """\
subcommands (each takes --json):
  list                              name, model, messages, created, modified, state
  show NAME [--last N]              the messages
  rm NAME... [--purge]              move sessions to the trash (as :rm; --purge: for good)
  restore NAME[~STAMP] [--as NEW]   bring a session back from the trash
  rename OLD NEW                    rename a session
  export NAME [--format md|json|html] [-o FILE] [--force]
  import [FILE|DIR] [ID...|--all] [--from copilot|llm] [--as NAME]

state: idle; streaming (a reply is being written by another live process);
interrupted (the last reply was cut short); failed (the last turn failed).
"""


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="one JSON document"
    )
    add_global_options(common, default=argparse.SUPPRESS)
    p = LineParser(
        out=out,
        prog="copilot-repl sessions",
        description="Manage saved sessions without opening the shell.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    sub = p.add_subparsers(dest="action", metavar="SUBCOMMAND", parser_class=LineParser)

    def add(name: str, help: str) -> argparse.ArgumentParser:
        parents: list[Any] = [common]
        sp: argparse.ArgumentParser = sub.add_parser(
            name,
            help=help,
            parents=parents,
            out=out,
            error_prefix=f"sessions {name}: ",
            allow_abbrev=False,
        )
        return sp

    add("list", "list saved sessions")
    show = add("show", "show a session's messages")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--last", metavar="N", type=_positive, help="only the last N messages")
    rm = add("rm", "move sessions to the trash (restore brings them back)")
    rm.add_argument("names", metavar="NAME", nargs="+")
    rm.add_argument("--purge", action="store_true", help="delete for good, at once")
    res = add("restore", "bring a session back from the trash")
    res.add_argument("entry", metavar="NAME[~STAMP]")
    res.add_argument("--as", dest="as_name", metavar="NEW", help="restore under another name")
    ren = add("rename", "rename a session")
    ren.add_argument("old", metavar="OLD")
    ren.add_argument("new", metavar="NEW")
    exp = add("export", "write a session as Markdown, JSON or HTML")
    exp.add_argument("name", metavar="NAME")
    exp.add_argument("--format", choices=("md", "json", "html"), default="md")
    exp.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default stdout)")
    exp.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    imp = add("import", "import sessions from an export, the Copilot CLI or llm")
    imp.add_argument("source", metavar="FILE|DIR", nargs="?")
    imp.add_argument("ids", metavar="ID", nargs="*", help="which sessions (an ID prefix will do)")
    imp.add_argument(
        "--from", dest="kind", choices=("copilot", "llm"), help="the tool it came from"
    )
    imp.add_argument("--all", action="store_true", help="every session found")
    imp.add_argument("--as", dest="as_name", metavar="NAME", help="the name to import under")
    return p


def _positive(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return n


def run_sessions(call: Invocation) -> int:
    """Run ``copilot-repl [OPTIONS] sessions ARGS``; returns the exit status."""
    stdout, stderr, env = call.stdout, call.stderr, call.env

    def setup() -> Commands:
        args = _parse(call.head, call.rest, stdout)
        return Commands(make_client(args, env), args, stdout, stderr)

    return run_subcommand(call, setup, lambda cmd: asyncio.run(cmd.run()))


def _parse(head: list[str], rest: list[str], out: IO[str]) -> argparse.Namespace:
    """Options given before ``sessions`` and after the subcommand both count."""
    before = main_parser(out).parse_args(head)
    if before.prompt or before.prompt_opt or before.files or before.session:
        raise BadUsage("sessions takes no prompt, -f or --session")
    args = build_parser(out).parse_args(rest or ["list"])  # alone: list
    shared = ("json", "model", "base_url", "api_key_env", "data_dir", "config", "allow_insecure")
    for key in shared:  # those the subcommand was not given: from before it
        vars(args).setdefault(key, vars(before)[key])
    args.session = None
    args.options, args.system, args.role = before.options, None, None
    return args


class Commands:
    def __init__(
        self, client: Any, args: argparse.Namespace, stdout: IO[str], stderr: IO[str]
    ) -> None:
        self.client = client
        self.store = client.store
        self.args = args
        self.stdout = stdout
        self.stderr = stderr

    async def run(self) -> int:
        await self.client.start()
        try:
            actions = {
                "list": self.do_list,
                "show": self.do_show,
                "rm": self.do_rm,
                "restore": self.do_restore,
                "rename": self.do_rename,
                "export": self.do_export,
                "import": self.do_import,
            }
            return await actions[self.args.action]()
        finally:
            await self.client.stop()

    # -- output ------------------------------------------------------------
    def json(self, doc: Any) -> None:
        self.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")

    def line(self, text: str) -> None:
        self.stdout.write(clean(text) + "\n")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        write_table(self.stdout, header, rows)

    # -- list --------------------------------------------------------------
    async def do_list(self) -> int:
        hidden = BlindStore(self.store.root).hidden()  # blind comparisons before the vote
        infos = []
        for name in self.store.names():
            try:
                info = session_info(self.store, name)
                if name in hidden:
                    info["model"] = HIDDEN
                infos.append(info)
            except SessionNotFound:
                continue  # removed meanwhile
            except ReplError as exc:
                write_warning(self.stderr, str(exc))
        infos.sort(key=lambda i: i["modified"], reverse=True)
        if self.args.json:
            self.json(
                [
                    {**i, "created": _iso(i["created"]), "modified": _iso(i["modified"])}
                    for i in infos
                ]
            )
            return 0
        rows = [
            [
                i["name"],
                i["model"],
                str(i["messages"]),
                _local(i["created"]),
                _local(i["modified"]),
                i["state"],
            ]
            for i in infos
        ]
        self.table(["name", "model", "msgs", "created", "modified", "state"], rows)
        return 0

    # -- show --------------------------------------------------------------
    async def do_show(self) -> int:
        # start-up: sessions list stays light; only this action needs it
        from copilot_repl.history.exchange import export_json, export_parts

        # one message at a time, only the last N read: a long session is
        # never in memory whole
        last = self.args.last or 0
        if self.args.json:
            for piece in export_json(self.store, self.args.name, last=last):
                self.stdout.write(piece)
            self.stdout.write("\n")
            return 0
        shown = False
        for m in export_parts(self.store, self.args.name, last=last, extras=False)[1]:
            mark = "" if m["status"] == "done" else f" [{m['status']}]"
            self.line(f"=== {m['role']}{mark} ===\n{m['content']}")
            shown = True
        if not shown:
            self.line("(no messages yet)")
        return 0

    # -- rm / rename ----------------------------------------------------------
    async def do_rm(self) -> int:
        names = list(dict.fromkeys(self.args.names))
        for name in names:
            validate_name(name)
            if not self.store.exists(name):
                raise SessionNotFound(f"no session named {name!r}; nothing was deleted")
            if self.store.load(name).state == "streaming":
                raise UsageError(
                    f"{name} is streaming a reply in another process; nothing was deleted"
                )
            if busy.in_flight(self.store.root, name):  # waiting for its first token, say
                raise UsageError(busy.refusal(name, "nothing was deleted; delete it"))
        if self.args.purge:
            # start-up: sqlite3 (the full-text index) only when needed
            from copilot_repl.history.search import forget_session_text

            for name in names:
                await self.client.delete_session(name)
                await asyncio.to_thread(forget_session_text, self.store, name)
            if self.args.json:
                self.json({"deleted": names})
            else:
                self.line(f"deleted {', '.join(names)} for good")
            return 0
        trashed = [(name, await self.client.trash_session(name)) for name in names]
        if self.args.json:
            self.json({"trashed": [{"name": n, "entry": e.id} for n, e in trashed]})
            return 0
        for name, entry in trashed:
            self.line(
                f"moved {name} to the trash ({entry.id}; "
                f"copilot-repl sessions restore {name} brings it back)"
            )
        return 0

    async def do_restore(self) -> int:
        # start-up: sessions list stays light; only this action needs it
        from copilot_repl.api import library

        session = await library.restore_session(self.client, self.args.entry, self.args.as_name)
        name, model, count = session.session_id, session.model, len(session.messages)
        if self.args.json:
            self.json({"restored": {"name": name, "model": model, "messages": count}})
        else:
            self.line(f"restored {name} ({count} messages, {model})")
        return 0

    async def do_rename(self) -> int:
        old, new = self.args.old, self.args.new
        await self.client.rename_session(old, new)  # the last active one stays so
        if self.args.json:
            self.json({"renamed": {"from": old, "to": new}})
        else:
            self.line(f"renamed {old} to {new}")
        return 0

    # -- export ------------------------------------------------------------
    async def do_export(self) -> int:
        # start-up: sessions list stays light; only this action needs it
        from copilot_repl.history.exchange import export_json, export_parts

        a = self.args
        if a.json and not a.output:
            raise BadUsage("sessions export: --json reports where it wrote: give -o FILE")
        # the text comes in pieces as the session is read: a long one is never
        # in memory whole
        pieces: Iterator[str]
        if a.format == "md":
            # start-up: sessions list stays light; only this action needs it
            from copilot_repl.repl.masks import Masks
            from copilot_repl.repl.transcript import transcript_pieces

            session = await self.client.resume_session(a.name)
            masks = Masks(BlindStore(self.store.root))
            pieces = transcript_pieces(
                session.session_id,
                masks.model(session.session_id, session.model),
                session.system_message,
                session.messages,
            )
        elif a.format == "json":
            pieces = export_json(self.store, a.name)
        else:
            # role, status and content: a message's extra keys never change them
            pieces = html_pieces(*export_parts(self.store, a.name, extras=False))
        pieces = _ending_newline(pieces)
        if not a.output:
            # on a terminal, escapes are shown (␛), never run, whatever the format
            tty = is_tty(self.stdout)
            for piece in pieces:
                self.stdout.write(clean(piece) if tty else piece)
            return 0
        path = Path(a.output).expanduser()
        _write_file(path, pieces, force=a.force)
        if a.json:
            self.json({"exported": a.name, "format": a.format, "path": str(path)})
        else:
            self.stderr.write(f"copilot-repl: exported {a.name} to {path}\n")
        return 0

    # -- import ------------------------------------------------------------
    async def do_import(self) -> int:
        # start-up: llm's log needs sqlite3
        from copilot_repl.history.exchange import write_sessions
        from copilot_repl.history.importers import gather

        a = self.args
        items, failed = gather(
            a.source, a.ids, kind=a.kind, every=a.all, env=self.client.env, as_name=a.as_name
        )
        for line in failed:  # one line each; the others are imported
            write_error(self.stderr, line)
        for _, imported in items:
            data = imported.data
            resolve = self.client.config.resolve_model
            if ":" not in data.model:  # a bare model name from another tool
                data.model = resolve(data.model)
            for m in data.messages:
                if m.model and ":" not in m.model:
                    m.model = resolve(m.model)
        if items:
            write_sessions(self.store, items)
        done = [
            {
                "name": name,
                "model": imp.data.model,
                "messages": len(imp.data.messages),
                "source": imp.source,
            }
            for name, imp in items
        ]
        if a.json:
            self.json({"imported": done, **({"failed": failed} if failed else {})})
        else:
            for d in done:
                self.line(
                    f"imported {d['name']} ({d['model']}, {d['messages']} messages) "
                    f"from {d['source']}"
                )
        return 1 if failed else 0


def session_info(store: Store, name: str) -> dict[str, Any]:
    """What ``sessions list`` shows of one session."""
    loaded = store.load(name)
    data = loaded.data
    return {
        "name": data.name,
        "model": data.model,
        "messages": len(data.messages),
        "created": data.created,
        "modified": data.modified,
        "state": loaded.state,
    }


def _write_file(path: Path, text: str | Iterable[str], *, force: bool) -> None:
    if path.is_dir():
        raise UsageError(f"{path} is a directory; give a file name")
    try:
        write_output(path, text, overwrite=force)
    except FileExistsError:
        raise UsageError(f"{path} exists; choose another name or pass --force") from None


def _ending_newline(pieces: Iterable[str]) -> Iterator[str]:
    """``pieces``, then a newline if their text does not end with one."""
    last = ""
    for piece in pieces:
        if piece:
            last = piece
            yield piece
    if not last.endswith("\n"):
        yield "\n"


def _iso(ts: float) -> str | None:
    """ISO 8601 in UTC; None for a time no date can show (a hand-edited file)."""
    try:
        return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def _local(ts: float) -> str:
    try:
        return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"
    except (OverflowError, OSError, ValueError):
        return "?"


def html_page(doc: dict[str, Any]) -> str:
    """A self-contained HTML page of an exported session (all text escaped,
    control characters shown as on screen)."""
    return "".join(html_pieces(doc["session"], doc["messages"]))


def html_pieces(s: dict[str, Any], messages: Iterable[dict[str, Any]]) -> Iterator[str]:
    """``html_page`` of the document's ``session`` and ``messages``, in
    pieces: one per message."""
    # start-up: sessions list stays light; only this action needs it
    from html import escape as html_escape

    def escape(text: str) -> str:
        return html_escape(clean(text))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(s['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:auto;padding:1em}"
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em}"
        ".user h2{color:#1f5fbf}.assistant h2{color:#1f8f3f}</style>",
        "</head><body>",
        f"<h1>{escape(s['name'])}</h1>",
        f"<p>model: <code>{escape(s['model'])}</code></p>",
    ]
    if s["system"]:
        parts.append(f"<p>system:</p><pre>{escape(s['system'])}</pre>")
    yield "".join(part + "\n" for part in parts)
    for m in messages:
        mark = "" if m["status"] == "done" else f" ({escape(m['status'])})"
        role = escape(m["role"])
        yield (
            f'<section class="{role}"><h2>{role}{mark}</h2><pre>{escape(m["content"])}</pre>'
            "</section>\n"
        )
    yield "</body></html>\n"
