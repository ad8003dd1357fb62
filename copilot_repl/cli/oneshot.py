"""One-shot prompts: ``copilot-repl "what is 2+2"`` (or ``-p TEXT``) sends
one prompt, prints the reply on stdout and exits with its status.

Piped stdin is attached to the prompt as one fenced block, and each
``-f PATH`` as another (text files up to 256 KB); an image (PNG, JPEG, GIF,
WebP, up to 5 MB) goes with the prompt as an image part. Without ``--session`` the
prompt goes to a new session named ``prompt-N`` (earlier one-shots never
leak into its context); ``--session NAME`` continues that session (created
if missing). A one-shot never changes which session the shell reopens.
On a terminal the reply is drawn as Markdown while it streams, as the shell
draws it (``NO_COLOR``: the layout stays, the colour goes); piped, or with
``--plain``, it is the text as it came. With ``--json`` stdout holds the
session's events, one JSON object a line.
Errors go to stderr, one line each; exit status 0 (the reply came), 1 (the
turn failed), 2 (bad usage: a file that cannot be attached, say)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.api.options import load_attachment
from copilot_repl.cli.arguments import make_client, tool_options
from copilot_repl.cli.launch import apply_model_options
from copilot_repl.cli.output import is_tty, write_error
from copilot_repl.cli.script import JsonLines, ScriptOutput
from copilot_repl.errors import InsecureTransport, ReplError, SessionExists, UsageError
from copilot_repl.history.blinds import BlindStore
from copilot_repl.history.names import free_name
from copilot_repl.repl.masks import Masks
from copilot_repl.repl.tools import tool_line

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.events import SessionEvent
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.render.markdown_stream import MarkdownStream

MAX_STDIN = 1024 * 1024
NAME_BASE = "prompt"
FPS = 8.0  # a rendered reply's repaints a second while nothing arrives (a resize)


def fenced(text: str, label: str) -> str:
    """``text`` as a labelled fenced block after a prompt (the fence is made
    longer than any run of backticks inside)."""
    fence = "```"
    while fence in text:
        fence += "`"
    return f"\n\n{label}:\n{fence}\n{text.rstrip()}\n{fence}\n"


def read_stdin(stdin: IO[Any]) -> str:
    """What was piped in ("" if nothing), checked like an attached file."""
    stream = getattr(stdin, "buffer", stdin)  # a text stream's bytes; a binary one as it is
    data = stream.read(MAX_STDIN + 1)
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_STDIN:
        raise UsageError(f"cannot attach stdin: larger than {MAX_STDIN // 1024} KB")
    if b"\x00" in data:
        raise UsageError("cannot attach stdin: it is binary data")
    try:
        return str(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError("cannot attach stdin: not UTF-8 text") from None


def build_prompt(prompt: str, files: list[str], piped: str) -> tuple[str, list[dict[str, Any]]]:
    """The prompt, then stdin's block, then one block per text file; and
    the images among the files (``options.load_attachment``)."""

    if not prompt.strip():
        raise UsageError("the prompt is empty")
    text = prompt
    if piped.strip():
        text += fenced(piped, "stdin")
    images = []
    for name in files:
        loaded = load_attachment(Path(name).expanduser())
        if isinstance(loaded, str):
            text += loaded
        else:
            images.append(loaded)
    return text, images


def run_oneshot(
    args: argparse.Namespace,
    prompt: str,
    *,
    stdin: IO[Any],
    stdout: IO[str],
    stderr: IO[str],
    env: Mapping[str, str],
) -> int:

    try:
        piped = "" if is_tty(stdin) else read_stdin(stdin)
        text, images = build_prompt(prompt, args.files, piped)
        client = make_client(args, env)
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 2
    try:
        return asyncio.run(_oneshot(client, args, (text, images), stdout, stderr))
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 1


async def _oneshot(
    client: CopilotClient,
    args: argparse.Namespace,
    prompt: tuple[str, list[dict[str, Any]]],
    stdout: IO[str],
    stderr: IO[str],
) -> int:

    rendered = not (args.json or args.plain) and is_tty(stdout)
    out = RenderedOutput(stdout, stderr) if rendered else ScriptOutput(stdout, stderr)
    masks = Masks(BlindStore(client.config.data_dir))
    lines = JsonLines(stdout, masks) if args.json else None

    calls: dict[str, tuple[str, Any]] = {}

    def on_event(event: SessionEvent) -> None:
        if lines is not None:
            lines.event(event)
        _report(event, out, calls)

    try:
        await client.start()
        # subscribed from the start: --json shows session.start / resume too
        opts: dict[str, Any] = {"on_event": on_event, "streaming": bool(args.json)}
        policy, servers = tool_options(args)
        if servers:
            opts["tools"] = await client.mcp_tools(servers)
        opts["on_permission_request"] = policy.handler("", None, out.warn)
        session, before = await _open(client, args, stderr, opts)
        for warning in session.warnings:
            out.warn(warning)
        session.warnings.clear()
        _check_transport(client, session)
        text, images = prompt
        turn = await session.submit(text, images=images)
        if args.json:
            await turn.wait()
        else:
            await out.follow(session, turn)
        if turn.state == "done":
            return 0
        if before is not None and not turn.text:
            # the switch --model asked for did not get a reply: it is not kept
            name, tried = session.session_id, session.model
            await session.set_model(before)
            stderr.write(f"copilot-repl: {name} stays on {before} (the turn on {tried} failed)\n")
        return 1
    finally:
        await client.stop()


async def _open(
    client: CopilotClient, args: argparse.Namespace, stderr: IO[str], opts: dict[str, Any]
) -> tuple[CopilotSession, str | None]:
    """``--session NAME`` (created if missing; ``--model`` switches it), else
    a new ``prompt-N``; with the model it was on if it was switched."""

    if args.session:
        if client.store.exists(args.session):
            session = await client.resume_session(args.session, opts)
            before = session.model
            await apply_model_options(client, args, stderr, args.session)
            return session, (before if session.model != before else None)
        return await client.create_session(opts, session_id=args.session), None
    for _ in range(100):  # another one-shot may take the same free name meanwhile
        try:
            name = free_name(client.store.names(), NAME_BASE)
            session = await client.create_session(opts, session_id=name)
            client.store.mark_origin(name, "oneshot")  # kept out of Tab and :ls
            return session, None
        except SessionExists:
            continue
    raise SessionExists(f"no free {NAME_BASE}-N session name")


def _check_transport(client: CopilotClient, session: CopilotSession) -> None:
    """An API key would go over plain http to another host: refused (nobody
    to ask), unless --allow-insecure."""
    host = client.provider(session.model.partition(":")[0]).insecure_host()
    if host is not None:
        raise InsecureTransport(host)


def _report(event: SessionEvent, out: ScriptOutput, calls: dict[str, tuple[str, Any]]) -> None:
    """Errors, warnings, statuses and tool calls on stderr, one line each."""

    kind = event.type
    if kind == "session.error":
        out.error(event.data.message)
    elif kind in ("session.info", "session.warning"):
        out.warn(event.data.message)
    elif kind in ("copilot_repl.status", "copilot_repl.queued"):
        out.status(event.data.message)
    elif kind == "tool.execution_start":
        calls[event.data.tool_call_id] = (event.data.tool_name, event.data.arguments)
    elif kind == "tool.execution_complete":
        out.status(tool_line(*calls.pop(event.data.tool_call_id, ("tool", {})), done=event.data))


class RenderedOutput(ScriptOutput):
    """A one-shot's output on a terminal: the reply drawn as Markdown while
    it streams (``render/``); the lines on stderr as in script mode: a
    warning or status takes the reply's unfinished tail off the screen
    before it (drawn again under it), an error ends the reply above it."""

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        # rich, only on a terminal: a piped one-shot does not load it
        from copilot_repl.render.markdown_stream import make_console

        super().__init__(stdout, stderr)
        self.console = make_console(stdout, plain=False)  # rich reads NO_COLOR
        self._stream: MarkdownStream | None = None
        self._unwatch: Callable[[], None] | None = None

    def error(self, text: str) -> None:
        self._end()  # the turn is over: what came goes above the line
        super().error(text)

    def warn(self, text: str) -> None:
        self._aside()
        super().warn(text)

    def status(self, text: str) -> None:
        self._aside()
        super().status(text)

    notice = status
    note = status

    async def follow(self, session: CopilotSession, turn: Turn) -> str:
        """Feed the reply to a ``MarkdownStream`` until it ends, repainting
        a few times a second meanwhile (a new terminal size)."""
        from copilot_repl.render.markdown_stream import MarkdownStream  # rich: as above

        stream = self._stream = MarkdownStream(self.console)
        stream.start()
        if turn.text:
            stream.feed(turn.text)
        self._unwatch = turn.watch(stream.feed)
        ended = asyncio.ensure_future(turn.wait())
        try:
            while not ended.done():
                await asyncio.wait({ended}, timeout=1 / FPS)
                if self._stream is not None:
                    self._stream.tick()
        finally:
            ended.cancel()
            self._end()
        return "done"

    def _aside(self) -> None:
        if self._stream is not None and self._stream.region.active:
            self._stream.region.show([])  # drawn again at the next frame

    def _end(self) -> None:
        """The reply is over: the rest of it printed, once."""
        stream, unwatch, self._stream, self._unwatch = self._stream, self._unwatch, None, None
        if unwatch is not None:
            unwatch()
        if stream is not None:
            stream.finish()
