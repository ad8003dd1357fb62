"""GitHub Copilot as a provider: the official SDK driving the ``copilot`` CLI.

One CLI process serves every ``copilot:`` session of this copilot-repl
process. It is started on the first send (``starting Copilot CLI…``), spoken
to over a loopback TCP port with a per-run token, and stopped by ``aclose``.
We spawn it ourselves rather than let the SDK do it, so that it never
outlives us: its own process group (Ctrl-C and Ctrl-Z in the terminal are for
us), ``PR_SET_PDEATHSIG`` (the kernel SIGKILLs it if we are killed) and an
``atexit`` kill, as for the local model server.

Each copilot-repl session is one CLI session with the same id, its state in
``DATA_DIR/copilot`` (``COPILOT_HOME``), so nothing lands in ``~/.copilot``.
Our own history stays the record: the provider is handed the whole history
each turn and remembers, in memory and in ``DATA_DIR/copilot/repl-sync/ID.json``,
a digest of the messages the CLI session has seen. When our history minus
the new prompt is exactly that, only the prompt is sent; otherwise (``:clear``,
``:retry``, trimming, a model or system prompt change, an interrupted or failed
reply, first use of a session with history) the CLI session is replaced by
one seeded from our transcript, and the status line says so.

The CLI's built-in tools are off, every permission request is refused, and
the session's own system prompt replaces the CLI's agent prompt. ``tools =
true`` offers the CLI's built-in tools; their permission requests are asked in
the shell (``ask_permission``), refused in script mode. A session's own tools
(``define_tool``, MCP servers) are registered with the CLI session, and run by
our turn loop as with any provider: when the model asks for them, ``stream``
returns the calls while the CLI's turn waits; the next ``stream`` call carries
the results (``tool`` messages), which the registered handlers hand to the CLI,
and streams what follows. The CLI waits for them (measured: a result given
after 330 s still completed the turn; ``tool_timeout`` is far below that).
With ``byok_base_url`` the CLI routes through that OpenAI-compatible server
(offline: no GitHub login, telemetry or updates).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import re
import shlex
import shutil
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from copilot_repl.config import ProviderSettings, default_data_dir
from copilot_repl.errors import (
    AuthError,
    CopilotError,
    InsecureTransport,
    ModelNotFound,
    ProviderError,
    UsageError,
)
from copilot_repl.providers.base import (
    AskFn,
    DeltaFn,
    Provider,
    ReplyEnd,
    StatusFn,
    ToolCall,
    has_images,
)
from copilot_repl.providers.childproc import STOP_TIMEOUT
from copilot_repl.providers.copilot_cli import (
    CLI_HINT,
    CliProcess,
    _check_sdk,
    find_cli,
    import_sdk,
)
from copilot_repl.providers.copilot_sync import Message, Synced, SyncFiles, digest, seeded_system
from copilot_repl.providers.security import check_api_key, check_transport_security
from copilot_repl.sanitize import short_error

FRESH_NOTE = "starting a fresh Copilot session from this transcript"
BYOK_TYPES = ("openai", "azure", "anthropic")
SETTLE_TIMEOUT = 5.0  # how long an aborted or failed turn may take to go idle


class CliTurn:
    """Collects the events of one reply."""

    def __init__(
        self,
        on_delta: DeltaFn,
        on_status: StatusFn,
        ours: frozenset[str] = frozenset(),
        builtins: bool = False,
    ) -> None:
        self.on_delta = on_delta
        self.on_status = on_status
        self.parts: list[str] = []
        self.idle: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # the calls of a reply that asks for our tools (``ours``: their names)
        self.calls: asyncio.Future[list[ToolCall]] = self.idle.get_loop().create_future()
        self.ours = ours
        self.builtins = builtins  # the CLI's own tools are on (``tools = true``)
        self.error: ProviderError | None = None
        self.tokens: int | None = None  # output tokens, when the model reports them
        self._streamed = False  # deltas arrived for the current assistant message

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def next_round(self, on_delta: DeltaFn, on_status: StatusFn) -> None:
        """The tools ran: the reply goes on, its text from none, streamed to
        the caller of this model call."""
        self.on_delta, self.on_status = on_delta, on_status
        self.parts = []
        self.calls = self.idle.get_loop().create_future()

    def __call__(self, event: Any) -> None:
        # ``event`` is the SDK's: its data class depends on the event type and
        # the SDK version, so a field is read with getattr and a default.
        kind = getattr(event.type, "value", event.type)  # SDK: an enum, or a str
        data = event.data
        if kind == "assistant.message_delta":
            self._delta(getattr(data, "delta_content", None) or "")  # SDK data
        elif kind == "assistant.message":
            if not self._streamed:  # a reply that did not stream: show it whole
                self._delta(getattr(data, "content", None) or "")  # SDK data
            self._streamed = False
            calls = self._our_calls(getattr(data, "tool_requests", None) or [])  # SDK data
            if calls and not self.calls.done():
                self.calls.set_result(calls)
        elif kind == "assistant.usage":
            tokens = getattr(data, "output_tokens", None)  # SDK data: may be absent
            if isinstance(tokens, int):
                self.tokens = (self.tokens or 0) + tokens
        elif kind == "session.error":
            self.error = self.error or turn_error(data)
            loop = asyncio.get_running_loop()  # idle should follow; do not wait forever
            loop.call_later(SETTLE_TIMEOUT, self._settle)
        elif kind == "session.info" and getattr(data, "info_type", "") == "model_retry":  # SDK
            self.on_status(str(getattr(data, "message", "") or "retrying"))  # SDK data
        elif kind == "session.idle":
            self._settle()

    def _our_calls(self, requests: list[Any]) -> list[ToolCall]:
        """The model's calls, when it asks for one of our tools (the CLI's
        built-in tools, on with ``tools = true``, it runs itself)."""
        if not self.ours:
            return []
        calls = [_tool_call(r) for r in requests]
        return [c for c in calls if c.name in self.ours] if self.builtins else calls

    def _settle(self) -> None:
        if not self.idle.done():
            self.idle.set_result(None)

    def _delta(self, text: str) -> None:
        if text:
            self._streamed = True
            self.parts.append(text)
            self.on_delta(text)


def _tool_call(request: Any) -> ToolCall:
    """One of the SDK's ``tool_requests``, as the model made it."""
    arguments = getattr(request, "arguments", None)  # SDK data: parsed, or the raw text
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    ident = str(getattr(request, "tool_call_id", "") or "")  # SDK data
    return ToolCall(ident, str(getattr(request, "name", "") or ""), text)  # SDK data


def turn_error(data: Any) -> ProviderError:
    """The error of the SDK's ``session.error`` event data (fields vary by SDK version)."""
    message = " ".join(str(getattr(data, "message", "") or "the turn failed").split())  # SDK
    kind = getattr(data, "error_type", "")  # SDK data
    status = getattr(data, "status_code", None)  # SDK data: may be absent
    code = status if isinstance(status, int) else None
    if kind == "authentication" or code in (401, 403):
        return AuthError(f"Copilot: {message}", status_code=code)
    if code == 404:
        return ModelNotFound(f"Copilot: {message}", status_code=code)
    return CopilotError(f"Copilot: {message}", status_code=code)


# -- the provider ------------------------------------------------------------
@dataclass
class Runtime:
    """A running CLI and the SDK client connected to it."""

    process: CliProcess
    client: Any


@dataclass
class _Round:
    """A CLI turn under way; between two model calls of our turn loop, one
    whose model asked for our tools, waiting for their results."""

    rt: Runtime
    sid: str
    session: Any  # the SDK session
    turn: CliTurn
    unsubscribe: Callable[[], None]
    before: Synced  # what the CLI session had seen before the turn
    answers: dict[str, asyncio.Future[str]] = field(default_factory=dict)

    def answer(self, call_id: str) -> asyncio.Future[str]:
        """The result of a call, whoever comes first: the CLI asking for it,
        or our loop giving it."""
        if call_id not in self.answers:
            self.answers[call_id] = asyncio.get_running_loop().create_future()
        return self.answers[call_id]

    def give(self, messages: list[dict[str, Any]]) -> None:
        """The ``tool`` messages that end ``messages``: the round's results."""
        for m in reversed(messages):
            if m["role"] != "tool":
                break
            future = self.answer(str(m.get("tool_call_id", "")))
            if not future.done():
                future.set_result(str(m["content"]))

    def close(self) -> None:
        """Stop listening; a call still waiting is told it was abandoned."""
        self.unsubscribe()
        for future in self.answers.values():
            if not future.done():
                future.set_result("The tool call was abandoned.")


class CopilotProvider(Provider):
    """Streams replies from Copilot CLI sessions (see the module docstring)."""

    def __init__(
        self,
        config: ProviderSettings,
        env: Mapping[str, str],
        *,
        data_dir: Path | None = None,
        allow_insecure: bool = False,
    ) -> None:
        self.config = config
        self.allow_insecure = allow_insecure
        # The asker of the reply streaming in each CLI session (with tools on)
        self._askers: dict[str, AskFn] = {}
        self.home = (data_dir or default_data_dir(env)) / "copilot"
        self.sync = SyncFiles(self.home)
        self._env = env
        self._runtime: Runtime | None = None
        self._lock = asyncio.Lock()
        self._live: dict[str, Any] = {}  # session id -> SDK session
        self._synced: dict[str, Synced] = {}
        self._toolsets: dict[str, str] = {}  # session id -> the tools its CLI session has
        # the CLI turn under way in each session (between two model calls
        # when its model asked for our tools: it waits for their results)
        self._rounds: dict[str, _Round] = {}

    # -- settings -------------------------------------------------------
    @property
    def byok(self) -> bool:
        return bool(self.config.byok_base_url)

    def _byok_key(self) -> str:
        name = self.config.byok_api_key_env
        return self._env.get(name, "") if name else ""

    def insecure_host(self) -> str | None:
        """The host an API key would go to in clear text, if any (not yet allowed)."""
        if not self.byok:
            return None
        try:
            check_transport_security(self.config.byok_base_url, bool(self._byok_key()), False)
        except InsecureTransport as exc:
            return None if self.allow_insecure else exc.host
        except UsageError:
            return None
        return None

    def _check_byok(self) -> None:
        if not self.byok:
            return
        if self.config.byok_type not in BYOK_TYPES:
            raise CopilotError(
                f"byok_type {self.config.byok_type!r} in [providers.{self.config.name}] must be "
                + ", ".join(repr(t) for t in BYOK_TYPES)
            )
        check_api_key(self.config.byok_api_key_env, self._byok_key())
        check_transport_security(
            self.config.byok_base_url, bool(self._byok_key()), self.allow_insecure
        )

    def _provider_option(self) -> dict[str, Any]:
        option: dict[str, Any] = {
            "type": self.config.byok_type,
            "base_url": self.config.byok_base_url,
        }
        if self._byok_key():
            option["api_key"] = self._byok_key()
        return option

    def _cli_args(self) -> list[str]:
        args = ["--headless", "--no-auto-update", "--log-level", "none", "--port", "0"]
        return [*args, "--no-auto-login"] if self.byok else args

    def _cli_env(self) -> dict[str, str]:
        env = {k: v for k, v in self._env.items() if not k.startswith("COPILOT_PROVIDER_")}
        env["COPILOT_HOME"] = str(self.home)
        if self.byok:  # no GitHub at all: no login, telemetry or updates
            env.update(
                COPILOT_OFFLINE="true",
                COPILOT_PROVIDER_BASE_URL=self.config.byok_base_url,
                COPILOT_PROVIDER_TYPE=self.config.byok_type,
                COPILOT_MODEL=self.config.default_model or "default",
            )
        return env

    # -- the CLI ----------------------------------------------------------
    async def _ensure(self, on_status: StatusFn) -> Runtime:
        async with self._lock:
            rt = self._runtime
            if rt is not None and rt.process.running:
                return rt
            if rt is not None:
                on_status(f"the Copilot CLI had stopped ({rt.process.tail()}); restarting it")
                await self._close_runtime()
            cli = find_cli(self.config, self._env)
            _check_sdk()
            on_status("starting Copilot CLI…")
            self._runtime = await self._start(cli)
            return self._runtime

    async def _start(self, cli: Path) -> Runtime:
        self.home.mkdir(parents=True, exist_ok=True)
        process = CliProcess(cli, self._cli_args(), self._cli_env())
        try:
            await process.spawn()
        except OSError as exc:
            raise CopilotError(f"cannot run the Copilot CLI {cli}: {exc}; {CLI_HINT}") from None
        try:
            sdk = await asyncio.to_thread(import_sdk)  # while the CLI starts
            port = await process.wait_port()
            client = sdk.CopilotClient(
                connection=sdk.RuntimeConnection.for_uri(
                    f"127.0.0.1:{port}", connection_token=process.token
                ),
                mode="empty",  # no telemetry, memory, skills or custom instructions
            )
            await client.start()
        except BaseException as exc:
            await process.stop()
            if isinstance(exc, ProviderError | asyncio.CancelledError):
                raise
            raise CopilotError(f"cannot connect to the Copilot CLI: {short_error(exc)}") from None
        return Runtime(process, client)

    async def _close_runtime(self) -> None:
        rt, self._runtime = self._runtime, None
        self._live.clear()
        if rt is None:
            return
        # Its state is on disk as it goes: closing the socket first spares the
        # SDK's graceful stop, which blocks the loop for a second.
        with contextlib.suppress(Exception):
            await asyncio.wait_for(rt.client.force_stop(), STOP_TIMEOUT)
        await rt.process.stop()

    # -- sessions ---------------------------------------------------------
    def _state(self, sid: str) -> Synced | None:
        if sid not in self._synced:
            loaded = self.sync.load(sid)
            if loaded is None:
                return None
            self._synced[sid] = loaded
        return self._synced[sid]

    def _remember(self, sid: str, synced: Synced | None) -> None:
        if synced is None:
            self._synced.pop(sid, None)
            self.sync.drop(sid)
        else:
            self._synced[sid] = synced
            self.sync.save(sid, synced)

    def _options(
        self, session_id: str, model: str, system: str, tools: list[dict[str, Any]]
    ) -> dict[str, Any]:
        opts: dict[str, Any] = {
            "model": model,
            "streaming": True,
            "on_permission_request": self._permission_for(session_id),
            "system_message": {"mode": "replace", "content": system},
            "available_tools": ["builtin:*"] if self.config.tools else [],
        }
        if tools:
            opts["tools"] = [self._sdk_tool(session_id, t["function"]) for t in tools]
            opts["available_tools"] += [t["function"]["name"] for t in tools]
        if self.byok:
            opts["provider"] = self._provider_option()
        return opts

    def _sdk_tool(self, session_id: str, function: dict[str, Any]) -> Any:
        """One of our tools, as the SDK registers it with the CLI session. It
        runs nothing: our turn loop asks permission and runs the tool (as
        with every provider), and its handler gives the CLI that result."""
        sdk = importlib.import_module("copilot")

        async def handler(invocation: Any) -> Any:
            call_id = str(invocation.tool_call_id)  # SDK's ToolInvocation
            content = await self._answer(session_id, call_id)
            return sdk.ToolResult(text_result_for_llm=content)

        return sdk.Tool(
            name=function["name"],
            description=function.get("description", ""),
            parameters=function.get("parameters"),
            handler=handler,
            skip_permission=True,  # asked by our loop before the result is given
        )

    def _answer(self, session_id: str, call_id: str) -> asyncio.Future[str]:
        """The result of one call of the round under way (set by the next
        ``stream`` call, which carries the ``tool`` messages)."""
        round_ = self._rounds.get(session_id)
        if round_ is None:
            failed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
            failed.set_result("The tool call was abandoned.")
            return failed
        return round_.answer(call_id)

    def _permission_for(self, session_id: str) -> Callable[[Any, Any], Awaitable[Any]]:
        """The CLI session's permission handler: it asks with the asker of
        the reply that session is streaming (each session its own)."""

        async def permission(request: Any, invocation: Any) -> Any:
            rpc = importlib.import_module("copilot.generated.rpc")
            ask = self._askers.get(session_id)
            if self.config.tools and ask is not None and await ask(_describe(request)):
                return rpc.PermissionDecisionApproveOnce()
            return rpc.PermissionDecisionDeniedInteractivelyByUser(feedback="tools are off")

        return permission

    async def _session(
        self,
        rt: Runtime,
        sid: str,
        model: str,
        earlier: list[Message],
        on_status: StatusFn,
        tools: list[dict[str, Any]],
    ) -> Any:
        """The CLI session for ``sid``, resumed if it has seen exactly
        ``earlier`` (resumed again when its tools changed), else replaced by
        one seeded from it."""
        state = self._state(sid)
        toolset = json.dumps(tools, sort_keys=True)
        if (
            state is not None
            and (state.provider, state.model) == (self.config.name, model)
            and (state.seen, state.digest) == (len(earlier), digest(earlier))
        ):
            live = self._live.get(sid)
            if live is not None and self._toolsets.get(sid) != toolset:
                self._live.pop(sid, None)
                with contextlib.suppress(Exception):
                    await live.disconnect()
                live = None
            live = live or await self._resume(rt, sid, model, state.system, tools)
            if live is not None:
                self._toolsets[sid] = toolset
                return live
        if state is not None or any(m["role"] != "system" for m in earlier):
            on_status(FRESH_NOTE)
        await self._drop_cli_session(rt, sid)
        system = seeded_system(earlier)
        try:
            self._live[sid] = await rt.client.create_session(
                session_id=sid, **self._options(sid, model, system, tools)
            )
            self._toolsets[sid] = toolset
        except Exception as exc:
            error = CopilotError(f"the Copilot CLI cannot start a session: {short_error(exc)}")
            raise self._with_login_hint(error) from None
        self._remember(sid, Synced(self.config.name, model, system, len(earlier), digest(earlier)))
        return self._live[sid]

    async def _resume(
        self, rt: Runtime, sid: str, model: str, system: str, tools: list[dict[str, Any]]
    ) -> Any:
        try:
            opts = self._options(sid, model, system, tools)
            session = await rt.client.resume_session(sid, **opts)
        except Exception:  # gone or unreadable: start afresh from our transcript
            return None
        self._live[sid] = session
        return session

    async def _drop_cli_session(self, rt: Runtime, sid: str) -> None:
        live = self._live.pop(sid, None)
        if live is not None:
            with contextlib.suppress(Exception):
                await live.disconnect()
        with contextlib.suppress(Exception):
            await rt.client.delete_session(sid)
        self._remove_state_dir(sid)

    def _remove_state_dir(self, sid: str) -> None:
        shutil.rmtree(self.home / "session-state" / sid, ignore_errors=True)

    # -- streaming ----------------------------------------------------------
    async def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        *,
        session_id: str = "",
        ask_permission: AskFn | None = None,
        params: Mapping[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ReplyEnd:
        """One model call of the turn. When the model asks for our tools the
        CLI's turn is kept waiting for their results, and the calls are
        returned; the next call, whose messages end with the ``tool``
        results, gives them to the CLI and streams what follows."""
        if not messages:
            raise CopilotError("nothing to send: the last message is not a user prompt")
        sid = session_id or f"copilot-repl-{uuid.uuid4().hex}"
        waiting = self._rounds.pop(sid, None)
        if messages[-1]["role"] == "tool":
            if waiting is None:
                raise CopilotError("the Copilot CLI session lost this turn's tool calls")
            self._rounds[sid] = waiting
            waiting.turn.next_round(on_delta, on_status)
            waiting.give(messages)
            return await self._reply(waiting, messages, session_id, ask_permission)
        if waiting is not None:  # a turn cancelled while its tools ran
            await self._drop_round(waiting)
        blobs: list[dict[str, Any]] = []
        if has_images(messages):  # the prompt's go as the SDK's blob attachments
            blobs = image_blobs(messages[-1])
            messages = [text_only(m) for m in messages]
        if messages[-1]["role"] != "user":
            raise CopilotError("nothing to send: the last message is not a user prompt")
        self._check_byok()
        rt = await self._ensure(on_status)
        earlier, prompt = messages[:-1], messages[-1]
        session = await self._session(rt, sid, model, earlier, on_status, tools or [])
        before = self._state(sid)
        assert before is not None
        self._remember(sid, None)  # unknown until the turn ends well
        ours = frozenset(t["function"]["name"] for t in tools or [])
        turn = CliTurn(on_delta, on_status, ours, self.config.tools)
        started = _Round(rt, sid, session, turn, session.on(turn), before)
        self._rounds[sid] = started  # from now: the CLI may ask for a tool's result
        try:
            await self._send(session, prompt["content"], blobs)
        except BaseException:
            started.close()
            self._rounds.pop(sid, None)
            if not session_id:
                await self.forget_session(sid)
            raise
        return await self._reply(started, messages, session_id, ask_permission)

    async def _reply(
        self,
        round_: _Round,
        messages: list[dict[str, Any]],
        session_id: str,
        ask_permission: AskFn | None,
    ) -> ReplyEnd:
        """Wait for the CLI turn to end, or to ask for our tools."""
        turn, session, sid = round_.turn, round_.session, round_.sid
        if ask_permission is not None:
            self._askers[sid] = ask_permission
        calls: list[ToolCall] = []
        try:
            calls = await self._until_idle(round_.rt, turn)
        except asyncio.CancelledError:
            await self._abort(session, turn)
            raise
        finally:
            self._askers.pop(sid, None)
            if not calls:
                round_.close()
                if self._rounds.get(sid) is round_:
                    del self._rounds[sid]
                if not session_id:
                    await self.forget_session(sid)
        if calls:
            return ReplyEnd(turn.text, "tool_calls", tool_calls=calls)
        if turn.error is not None:
            raise self._with_login_hint(turn.error)
        text = turn.text
        if session_id and self._live.get(sid) is session:
            seen = [*messages, {"role": "assistant", "content": text}] if text else messages
            self._remember(sid, replace(round_.before, seen=len(seen), digest=digest(seen)))
        return ReplyEnd(text, "stop", turn.tokens)

    async def _drop_round(self, round_: _Round) -> None:
        """A turn that asked for tools and was then cancelled: stop the CLI's
        turn (the next prompt starts a fresh CLI session from our history)."""
        round_.close()
        await self._abort(round_.session, round_.turn)

    def login_hint(self) -> str:
        """How to log in, naming the CLI by the path it was found at (the
        `make copilot-cli` copy is not on PATH)."""
        try:
            cli = shlex.quote(str(find_cli(self.config, self._env)))
        except CopilotError:
            cli = "copilot"
        return (
            f"log in once with `COPILOT_HOME={self.home} {cli} login` (or set "
            f"COPILOT_GITHUB_TOKEN), or use byok_base_url in [providers.{self.config.name}]"
        )

    def _with_login_hint(self, error: ProviderError) -> ProviderError:
        """Without BYOK, a missing GitHub login is the likely cause of an auth error."""
        text = str(error)
        if self.byok or not re.search(r"authenticat|oauth|token", text, re.I):
            return error
        return AuthError(f"{text}; {self.login_hint()}", status_code=error.status_code)

    async def _send(
        self, session: Any, prompt: str, blobs: list[dict[str, Any]] | None = None
    ) -> None:
        try:
            await session.send(prompt, attachments=blobs) if blobs else await session.send(prompt)
        except Exception as exc:
            raise CopilotError(f"the Copilot CLI refused the prompt: {short_error(exc)}") from None

    async def _until_idle(self, rt: Runtime, turn: CliTurn) -> list[ToolCall]:
        """Until the turn ends ([]) or its model asks for our tools (the calls)."""
        exited = rt.process.exited
        assert exited is not None
        waits: list[asyncio.Future[Any]] = [turn.idle, turn.calls, exited]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        if turn.calls.done() and not turn.idle.done():
            return turn.calls.result()
        if not turn.idle.done():
            raise CopilotError(
                f"the Copilot CLI exited in the middle of the reply; {rt.process.tail()}"
            )
        return []

    async def _abort(self, session: Any, turn: CliTurn) -> None:
        """Ctrl-C: stop the CLI's turn and let it settle (the partial reply is
        kept by the caller)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(session.abort()), SETTLE_TIMEOUT)
            await asyncio.wait_for(asyncio.shield(turn.idle), SETTLE_TIMEOUT)

    # -- the rest of the Provider protocol ----------------------------------
    async def list_models(self) -> list[str]:
        if self.byok:
            return [self.config.default_model] if self.config.default_model else []
        rt = await self._ensure(lambda _status: None)
        try:
            models = await rt.client.list_models()
        except Exception as exc:
            why = short_error(exc).rpartition("with message: ")[2]
            raise AuthError(f"cannot list Copilot's models ({why}); {self.login_hint()}") from None
        return sorted(str(m.id) for m in models)

    async def forget_session(self, session_id: str) -> None:
        """``:rm``: delete the CLI session and our sidecar (the CLI need not run)."""
        waiting = self._rounds.pop(session_id, None)
        if waiting is not None:
            waiting.close()
        self._remember(session_id, None)
        rt = self._runtime
        if rt is not None and rt.process.running:
            await self._drop_cli_session(rt, session_id)
        else:
            self._live.pop(session_id, None)
            self._remove_state_dir(session_id)

    async def aclose(self) -> None:
        for waiting in self._rounds.values():
            waiting.close()
        self._rounds.clear()
        async with self._lock:
            await self._close_runtime()


def _describe(request: Any) -> str:
    """What the SDK's permission request is for."""
    kind = getattr(request, "kind", None)  # the SDK's request object
    return str(getattr(kind, "value", kind) or "a tool")  # SDK: an enum, or a str


def image_blobs(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A prompt's images (``image_url`` parts holding data: URLs) as the
    SDK's blob attachments."""
    out = []
    for part in message.get("content") or []:
        if isinstance(part, dict) and part.get("type") == "image_url":
            head, _, data = str(part.get("image_url", {}).get("url", "")).partition(",")
            mime = head.removeprefix("data:").removesuffix(";base64")
            out.append({"type": "blob", "data": data, "mimeType": mime})
    return out


def text_only(message: dict[str, Any]) -> dict[str, Any]:
    """A request message with its image parts left out: the CLI session keeps
    the images it was given, and what it has seen is compared as text."""
    content = message.get("content")
    if not isinstance(content, list):
        return message
    text = "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return {**message, "content": text}
