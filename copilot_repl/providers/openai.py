"""Any OpenAI-compatible Chat Completions server, streamed over httpx + httpx-sse."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from copilot_repl.config import ProviderConfig
from copilot_repl.errors import (
    AuthError,
    ConnectError,
    ContextTooLong,
    InsecureTransport,
    ModelNotFound,
    ProviderError,
    RateLimited,
    ServerError,
    StreamError,
    UsageError,
)
from copilot_repl.providers.base import DeltaFn, Provider, ReplyEnd, StatusFn
from copilot_repl.providers.security import check_transport_security
from copilot_repl.sanitize import one_line, short_error

if TYPE_CHECKING:
    import httpx

MAX_WAIT = 60.0


class _Retry(Exception):
    def __init__(self, error: ProviderError, wait: float) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class OpenAIProvider(Provider):
    """Streams chat completions from ``config.base_url``."""

    def __init__(
        self,
        config: ProviderConfig,
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
            import httpx

            check_transport_security(self.url, bool(self._key()), self.allow_insecure)
            timeout = httpx.Timeout(self.config.read_timeout, connect=self.config.connect_timeout)
            headers = {"Authorization": f"Bearer {self._key()}"} if self._key() else {}
            limits = httpx.Limits(max_connections=max(self.config.max_parallel, 1) + 2)
            self._client = httpx.AsyncClient(
                timeout=timeout, headers=headers, transport=self._transport, limits=limits
            )
        return self._client

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

    async def list_models(self) -> list[str]:
        import httpx

        try:
            resp = await self._http().get(f"{self.url}/models")
            resp.raise_for_status()
            return sorted(str(m["id"]) for m in resp.json()["data"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise ProviderError(f"cannot list models of {self.config.name}: {exc}") from None

    async def stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        *,
        session_id: str = "",
    ) -> ReplyEnd:
        body = self._body(model, messages)
        attempt = 0
        while True:
            try:
                return await self._stream_once(model, body, on_delta)
            except _Retry as retry:
                attempt += 1
                if attempt > self.config.max_retries:
                    raise retry.error from None
                wait = min(retry.wait or 0.5 * 2 ** (attempt - 1), MAX_WAIT)
                what = "rate limited" if isinstance(retry.error, RateLimited) else "server error"
                shown = f"{wait:.1f}" if wait < 10 else f"{wait:.0f}"  # never "0 s"
                on_status(f"{what}, retrying in {shown} s ({attempt}/{self.config.max_retries})")
                await asyncio.sleep(wait)

    def _body(self, model: str, messages: list[dict[str, str]]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        body.update(self.config.params)
        if self.config.kind == "openai":
            body["stream_options"] = {"include_usage": True}
        return body

    async def _stream_once(self, model: str, body: dict[str, Any], on_delta: DeltaFn) -> ReplyEnd:
        import httpx
        from httpx_sse import aconnect_sse

        url = f"{self.url}/chat/completions"
        try:
            async with aconnect_sse(self._http(), "POST", url, json=body) as source:
                resp = source.response
                if resp.status_code != 200:
                    await self._raise_status(resp, model)
                _check_event_stream(resp, url)
                return await self._read_events(source, on_delta)
        except httpx.ConnectTimeout:
            raise ConnectError(
                f"timed out connecting to {self.url}; check --base-url or the provider config"
            ) from None
        except httpx.ConnectError as exc:
            raise ConnectError(
                f"cannot connect to {self.url} ({short_error(exc)}); "
                "check --base-url or the provider config"
            ) from None
        except httpx.ReadTimeout:
            raise StreamError(
                f"{self.config.name} sent nothing for {self.config.read_timeout:g} s; "
                "the reply was cut (read_timeout in the provider config)"
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError):
            raise StreamError(
                f"the connection to {self.url} dropped in the middle of the reply"
            ) from None
        except httpx.HTTPError as exc:
            raise StreamError(f"request to {self.url} failed: {short_error(exc)}") from None

    async def _read_events(self, source: Any, on_delta: DeltaFn) -> ReplyEnd:
        parts: list[str] = []
        finish: str | None = None
        tokens: int | None = None
        async for event in source.aiter_sse():
            data = event.data
            if data == "[DONE]":
                break
            chunk = _parse_chunk(data, self.config.name)
            usage = chunk.get("usage")
            if isinstance(usage, dict) and "completion_tokens" in usage:
                tokens = int(usage["completion_tokens"])
            for choice in chunk.get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    parts.append(text)
                    on_delta(text)
                finish = choice.get("finish_reason") or finish
        if finish is None:
            raise StreamError(
                f"the reply stream from {self.url} ended before the reply was complete"
            )
        return ReplyEnd("".join(parts), finish, tokens)

    async def _raise_status(self, resp: httpx.Response, model: str) -> None:
        raw = await resp.aread()
        msg = _error_message(raw, resp.status_code)
        status = resp.status_code
        name = self.config.name
        if status in (401, 403):
            env = self.config.api_key_env or "an API key variable (api_key_env)"
            raise AuthError(f"authentication failed for {name} ({self.url}): {msg}; set {env}")
        if status == 404:
            raise ModelNotFound(await self._unknown_model(model, msg))
        if status == 429:
            raise _Retry(
                RateLimited(f"{name} is rate limiting requests: {msg}"), _retry_after(resp)
            )
        if status >= 500:
            raise _Retry(ServerError(f"{name} answered HTTP {status}: {msg}"), _retry_after(resp))
        if re.search(r"context|too long|maximum.*tokens", msg, re.I):
            raise ContextTooLong(f"the conversation is too long for {model}: {msg}")
        raise ServerError(f"{name} answered HTTP {status}: {msg}")

    async def _unknown_model(self, model: str, msg: str) -> str:
        text = f"{self.config.name} does not know the model {model!r}: {msg}"
        try:
            models = await self.list_models()
        except ProviderError:
            return text
        if models:
            shown = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "")
            text += f" (available: {shown})"
        return text


def _parse_chunk(data: str, name: str) -> dict[str, Any]:
    try:
        chunk = json.loads(data)
    except ValueError:
        raise StreamError(f"malformed data in the stream from {name}: {data[:60]!r}") from None
    if not isinstance(chunk, dict):
        raise StreamError(f"malformed data in the stream from {name}: {data[:60]!r}")
    if "error" in chunk:
        err = chunk["error"]
        msg = err.get("message", err) if isinstance(err, dict) else err
        raise StreamError(f"{name} reported an error in the middle of the reply: {msg}")
    return chunk


def _check_event_stream(resp: httpx.Response, url: str) -> None:
    ctype = resp.headers.get("content-type", "")
    if "text/event-stream" in ctype:
        return
    kind = "an HTML page" if "html" in ctype else f"{ctype or 'untyped data'}"
    raise StreamError(f"{url} answered with {kind} instead of an event stream (wrong --base-url?)")


def _error_message(raw: bytes, status: int) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:
        body = json.loads(text)
        err = body.get("error", body) if isinstance(body, dict) else body
        if isinstance(err, dict):
            err = err.get("message") or err
        return one_line(str(err), 300)
    except ValueError:
        if "<html" in text[:200].lower():
            title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
            return f"an HTML error page ({title.group(1).strip() if title else 'no title'})"
        return one_line(text, 300) or f"HTTP {status}"


def _retry_after(resp: httpx.Response) -> float:
    try:
        return max(float(resp.headers.get("retry-after", "")), 0.0)
    except ValueError:
        return 0.0
