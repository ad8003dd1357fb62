"""Any OpenAI-compatible Chat Completions server, streamed over httpx.

What the server sends is untrusted and bounded: each chunk is checked against
the documented shape (``parse_chunk``: anything else is "malformed data"), the
event stream is read by a small decoder with a size limit (``SSEReader``), the
reply stops at ``max_reply_chars``, and the first text must come within
``first_token_timeout`` (keep-alives do not count). Whatever was passed to
``on_delta`` stays the caller's, whichever error follows. No error message
carries the API key or URL userinfo (``security.redact``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from copilot_repl.config import ProviderSettings
from copilot_repl.errors import (
    AuthError,
    ConnectError,
    ContextTooLong,
    InsecureTransport,
    ModelNotFound,
    ProviderError,
    RateLimited,
    ReplError,
    ServerError,
    StreamError,
    UsageError,
)
from copilot_repl.providers.base import (
    REQUEST_HEADERS,
    AskFn,
    DeltaFn,
    Provider,
    ReplyEnd,
    StatusFn,
    ToolCall,
)
from copilot_repl.providers.priority import CURRENT_HOLD, CURRENT_SENDS
from copilot_repl.providers.security import check_api_key, check_transport_security, redact
from copilot_repl.providers.wire import (
    MAX_WAIT,
    SSEReader,
    _check_event_stream,
    _error_message,
    model_ids,
    parse_chunk,
    retry_after,
)
from copilot_repl.sanitize import one_line, short_error

if TYPE_CHECKING:
    import httpx

ERROR_BODY_BYTES = 64 * 1024  # read of an error answer
MODELS_BODY_BYTES = 8 * 1024 * 1024  # read of a /models answer
EVENT_SLACK = 64 * 1024  # an event may be this much larger than max_reply_chars x 6
SSE_HEADERS = {"Accept": "text/event-stream", "Cache-Control": "no-store"}


class _Retry(Exception):
    def __init__(self, error: ProviderError, wait: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


@dataclass
class _Received:
    """What one attempt has received so far."""

    parts: list[str] = field(default_factory=list)
    chars: int = 0
    reasoning: int = 0  # characters of reasoning (capped like the text)
    progress: int = 0  # events that carried text, reasoning or a finish
    started: bool = False
    finish: str | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    calls: dict[int, list[str]] = field(default_factory=dict)  # index: [id, name, args...]

    def end(self) -> ReplyEnd:
        calls = [
            ToolCall(parts[0] or f"call_{index}", parts[1], "".join(parts[2:]))
            for index, parts in sorted(self.calls.items())
        ]
        return ReplyEnd(
            "".join(self.parts), self.finish, self.completion_tokens, self.prompt_tokens, calls
        )

    def call_piece(self, index: int, ident: str, name: str, args: str) -> None:
        parts = self.calls.setdefault(index, ["", ""])
        parts[0] = parts[0] or ident
        parts[1] = parts[1] or name
        if args:
            parts.append(args)


class OpenAIProvider(Provider):
    """Streams chat completions from ``config.base_url``."""

    follows_hold = True

    def __init__(
        self,
        config: ProviderSettings,
        env: Mapping[str, str],
        *,
        allow_insecure: bool = False,
        transport: Any = None,
    ) -> None:
        self.config = config
        self._env = env
        self.allow_insecure = allow_insecure
        self._transport = transport
        self._client: httpx.AsyncClient | None = None

    @property
    def url(self) -> str:
        return self.config.base_url.rstrip("/")

    def _key(self) -> str:
        return self._env.get(self.config.api_key_env, "") if self.config.api_key_env else ""

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx  # start-up: httpx (~25 ms) loads with the first request

            key = self._key()
            check_api_key(self.config.api_key_env, key)
            check_transport_security(self.url, bool(key), self.allow_insecure)
            try:
                url = httpx.URL(self.url)
                _ = url.host  # the host is decoded (IDNA) here
            except (httpx.InvalidURL, ValueError) as exc:
                raise self._transport_error(httpx.InvalidURL(str(exc)), "") from None
            timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
            headers = dict(self.config.headers)
            if key:
                headers["Authorization"] = f"Bearer {key}"
            limits = httpx.Limits(max_connections=max(self.config.max_parallel, 1) + 2)
            self._client = httpx.AsyncClient(
                timeout=timeout,
                headers=headers,
                transport=self._transport,
                limits=limits,
                verify=_plain_http_context() if url.scheme == "http" else True,
            )
        return self._client

    def prepare(self) -> None:
        """httpx and the client (~25-70 ms, more when httpx's own command line
        loads with it) are loaded when a session is opened, not in the first
        send; a missing key or bad URL is said by that send."""
        with contextlib.suppress(ReplError):
            self._http()

    def _redacted(self, exc: ProviderError) -> ProviderError:
        """``exc`` on one clean line, without the key, key-shaped values or URL
        userinfo in it."""
        text = one_line(redact(str(exc), [self._key()]))
        if text == str(exc):
            return exc
        try:
            return type(exc)(text, status_code=exc.status_code)
        except TypeError:
            return ProviderError(text, status_code=exc.status_code)

    async def forget_session(self, session_id: str) -> None:
        return None  # stateless: the whole history is sent each turn

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def insecure_host(self) -> str | None:
        """The host an API key would go to in clear text, if any (not yet allowed)."""
        try:
            check_transport_security(self.url, bool(self._key()), self.allow_insecure)
        except InsecureTransport as exc:
            return exc.host
        except UsageError:
            return None
        return None

    # -- /models ------------------------------------------------------------------

    async def list_models(self) -> list[str]:
        try:
            return await self._list_models()
        except ProviderError as exc:
            raise self._redacted(exc) from None

    async def _list_models(self) -> list[str]:
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        url = f"{self.url}/models"
        what = f"cannot list the models of {self.config.name}"
        try:
            async with self._http().stream("GET", url) as resp:
                status = resp.status_code
                if status in (401, 403):
                    msg = _error_message(await _read_capped(resp), status)
                    raise self._auth_error(msg, status)
                if status != 200:
                    msg = _error_message(await _read_capped(resp), status)
                    raise ServerError(
                        f"{what}: {url} answered HTTP {status}: {msg}", status_code=status
                    )
                raw = await _read_capped(resp, MODELS_BODY_BYTES)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._transport_error(exc, what) from None
        models = model_ids(raw)
        if models is None:
            raise ServerError(f"{what}: {url} did not answer with a model list")
        return models

    # -- chat ---------------------------------------------------------------------

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
        try:
            return await self._stream(model, messages, on_delta, on_status, params or {}, tools)
        except ProviderError as exc:
            raise self._redacted(exc) from None

    async def _stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        params: Mapping[str, Any],
        tools: list[dict[str, Any]] | None = None,
    ) -> ReplyEnd:
        body = self._body(model, messages)
        body.update(params)
        if tools:  # tool_choice left out, as the CLI does: "auto" is the default
            body["tools"] = tools
        attempt = 0
        while True:
            try:
                return await self._stream_once(model, body, on_delta)
            except _Retry as retry:
                attempt += 1
                if attempt > self.config.max_retries:
                    raise retry.error from None
                wait = min(retry.wait or 0.5 * 2 ** (attempt - 1), MAX_WAIT)
                what = {RateLimited: "rate limited", StreamError: "connection closed"}.get(
                    type(retry.error), "server error"
                )
                shown = f"{wait:.1f}" if wait < 10 else f"{wait:.0f}"  # never "0 s"
                on_status(f"{what}, retrying in {shown} s ({attempt}/{self.config.max_retries})")
                await asyncio.sleep(wait)

    def _body(self, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
        wire = self.config.wire_model or model
        body: dict[str, Any] = {"model": wire, "messages": messages, "stream": True}
        body.update(self.config.params)
        if self.config.kind == "openai":
            body["stream_options"] = {"include_usage": True}
        return body

    async def _stream_once(self, model: str, body: dict[str, Any], on_delta: DeltaFn) -> ReplyEnd:
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        url = f"{self.url}/chat/completions"
        got = _Received()
        hold = CURRENT_HOLD.get()
        # the hold follows the request out (providers/priority.py)
        ext = {"trace": hold.trace} if hold is not None and not hold.done else None
        extra = REQUEST_HEADERS.get()
        headers = {**SSE_HEADERS, **extra} if extra else SSE_HEADERS
        try:
            # The first-text deadline; once text flows, moved on by each event.
            async with asyncio.timeout(self.config.first_token_timeout) as deadline:
                client = self._http()
                async with client.stream(
                    "POST", url, json=body, headers=headers, extensions=ext
                ) as resp:
                    if hold is not None:
                        hold.release()
                    if resp.status_code != 200:
                        await self._raise_status(resp, model)
                    _check_event_stream(resp, url)
                    return await self._read_events(resp, on_delta, got, deadline)
        except (TimeoutError, httpx.HTTPError, httpx.InvalidURL) as exc:
            if got.finish is not None:
                return got.end()  # complete: only the usage or [DONE] was lost
            raise self._failure(exc, got) from None

    def _failure(self, exc: Exception, got: _Received) -> Exception:
        """The error for a stream that failed with ``exc`` after ``got``."""
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        name = self.config.name
        if isinstance(exc, TimeoutError) and not got.started:
            return StreamError(
                f"{name} sent no reply within {self.config.first_token_timeout:g} s "
                "(first_token_timeout in the provider config)"
            )
        if isinstance(exc, TimeoutError | httpx.ReadTimeout) and got.started:
            return self._silent()
        if isinstance(exc, httpx.ReadTimeout):
            return StreamError(
                f"{name} sent nothing for {self.config.read_timeout:g} s before the reply "
                "started (read_timeout in the provider config)"
            )
        if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
            if got.chars:
                return StreamError(
                    f"the connection to {self.url} dropped in the middle of the reply"
                )
            error = StreamError(f"the connection to {self.url} closed before the reply started")
            return _Retry(error, 0.0)
        return self._transport_error(exc, f"request to {self.url} failed")

    def _silent(self) -> StreamError:
        return StreamError(
            f"{self.config.name} sent nothing for {self.config.read_timeout:g} s; "
            "the reply was cut (read_timeout in the provider config)"
        )

    def _transport_error(self, exc: Exception, what: str) -> ProviderError:
        import httpx  # start-up: httpx (~25 ms) loads with the first request

        if isinstance(exc, httpx.ConnectTimeout):
            return ConnectError(
                f"timed out connecting to {self.url}; check --base-url or the provider config"
            )
        if isinstance(exc, httpx.ConnectError):
            return ConnectError(
                f"cannot connect to {self.url} ({short_error(exc)}); "
                "check --base-url or the provider config"
            )
        if isinstance(exc, httpx.InvalidURL):
            return ConnectError(
                f"{self.url} is not a valid URL ({short_error(exc)}); "
                "check --base-url or the provider config"
            )
        if isinstance(exc, httpx.TimeoutException):
            return StreamError(
                f"{what}: no answer within {self.config.read_timeout:g} s "
                "(read_timeout in the provider config)"
            )
        return StreamError(f"{what}: {short_error(exc)}")

    async def _read_events(
        self,
        resp: httpx.Response,
        on_delta: DeltaFn,
        got: _Received,
        deadline: asyncio.Timeout,
    ) -> ReplyEnd:
        cfg = self.config
        reader = SSEReader(6 * cfg.max_reply_chars + EVENT_SLACK, cfg.name)
        if not await self._pump(resp, reader, on_delta, got, deadline):
            for event, data in reader.close():
                if self._take(event, data, on_delta, got):
                    break
        if got.finish is None:
            raise StreamError(
                f"the reply stream from {self.url} ended before the reply was complete"
            )
        return got.end()

    async def _pump(
        self,
        resp: httpx.Response,
        reader: SSEReader,
        on_delta: DeltaFn,
        got: _Received,
        deadline: asyncio.Timeout,
    ) -> bool:
        """Feed the body to ``reader`` and the events to ``got``; True at [DONE]."""
        loop = asyncio.get_running_loop()
        sends = CURRENT_SENDS.get()
        async for piece in resp.aiter_text():
            if sends is not None and sends.held:  # a new request is about to leave: it goes first
                await sends.wait()
            before = got.progress
            for event, data in reader.feed(piece):
                if self._take(event, data, on_delta, got):
                    return True
            # once a piece, not an event (a timer each is ~10%); chunks that carry
            # nothing (heartbeats) are not progress: they do not move the deadline
            if got.progress != before and got.started:
                deadline.reschedule(loop.time() + self.config.read_timeout)
        return False

    def _take(self, event: str, data: str, on_delta: DeltaFn, got: _Received) -> bool:
        """Apply one event to ``got``; True at the end of the stream. Once per
        streamed piece: each step is taken only when the chunk carries it."""
        if data.strip() == "[DONE]":
            return True
        cfg = self.config
        chunk = parse_chunk(data, cfg.name, event, got.started, cfg.merge_choices)
        if chunk.progress:
            got.started = True
            got.progress += 1
        if chunk.reasoning:
            got.reasoning += chunk.reasoning
            if got.reasoning > cfg.max_reply_chars:
                raise StreamError(
                    f"the reasoning from {cfg.name} passed {cfg.max_reply_chars:,} "
                    f"characters and was cut (max_reply_chars in [providers.{cfg.name}])"
                )
        if chunk.completion_tokens is not None:
            got.completion_tokens = chunk.completion_tokens
        if chunk.prompt_tokens is not None:
            got.prompt_tokens = chunk.prompt_tokens
        if chunk.finish:
            got.finish = chunk.finish
        if chunk.tool_calls:
            self._take_calls(chunk.tool_calls, got)
        text = chunk.text
        if text:
            room = cfg.max_reply_chars - got.chars
            if len(text) > room:
                self._cut(text, room, on_delta, got)
            got.parts.append(text)
            got.chars += len(text)
            on_delta(text)
        return False

    def _take_calls(self, pieces: list[tuple[int, str, str, str]], got: _Received) -> None:
        cfg = self.config
        for index, ident, name, args in pieces:
            got.call_piece(index, ident, name, args)
            got.chars += len(args)
            if got.chars > cfg.max_reply_chars:
                raise StreamError(
                    f"the tool calls from {cfg.name} passed {cfg.max_reply_chars:,} "
                    f"characters (max_reply_chars in [providers.{cfg.name}])"
                )

    def _cut(self, text: str, room: int, on_delta: DeltaFn, got: _Received) -> NoReturn:
        """A piece past ``max_reply_chars``: what fits is kept, then the error."""
        cfg = self.config
        if room > 0:
            got.parts.append(text[:room])
            got.chars += room
            on_delta(text[:room])
        raise StreamError(
            f"the reply from {cfg.name} passed {cfg.max_reply_chars:,} characters "
            f"and was cut (max_reply_chars in [providers.{cfg.name}])"
        )

    async def _raise_status(self, resp: httpx.Response, model: str) -> NoReturn:
        msg = _error_message(await _read_capped(resp), resp.status_code)
        status = resp.status_code
        name = self.config.name
        if status in (401, 403):
            raise self._auth_error(msg, status)
        if status == 404:
            raise ModelNotFound(await self._unknown_model(model, msg), status_code=status)
        if status == 429:
            raise _Retry(
                RateLimited(f"{name} is rate limiting requests: {msg}", status_code=status),
                retry_after(resp.headers.get("retry-after")),
            )
        if status >= 500:
            raise _Retry(
                ServerError(f"{name} answered HTTP {status}: {msg}", status_code=status),
                retry_after(resp.headers.get("retry-after")),
            )
        if re.search(r"context|too long|maximum.*tokens", msg, re.I):
            text = f"the conversation is too long for {model}: {msg}"
            raise ContextTooLong(text, status_code=status)
        raise ServerError(f"{name} answered HTTP {status}: {msg}", status_code=status)

    def _auth_error(self, msg: str, status: int) -> AuthError:
        env = self.config.api_key_env or "an API key variable (api_key_env)"
        return AuthError(
            f"authentication failed for {self.config.name} ({self.url}): {msg}; set {env}",
            status_code=status,
        )

    async def _unknown_model(self, model: str, msg: str) -> str:
        text = f"{self.config.name} does not know the model {model!r}: {msg}"
        try:
            models = await self._list_models()
        except ProviderError:
            return text
        if models:
            models = sorted(models)
            shown = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "")
            text += f" (available: {shown})"
        return text


def _plain_http_context() -> ssl.SSLContext:
    """The TLS context of a client that only speaks plain http (every URL is
    the provider's base URL, redirects are not followed): no CA bundle read
    (httpx's default context costs 40-90 ms to build), and as it trusts no
    certificate, an https request through it would fail, not go unchecked."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


async def _read_capped(resp: httpx.Response, limit: int = ERROR_BODY_BYTES) -> bytes:
    """At most ``limit`` bytes of the body (an endless body is not read to its end)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= limit:
            break
    return b"".join(chunks)[:limit]
