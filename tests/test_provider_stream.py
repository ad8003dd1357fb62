"""The OpenAI-compatible provider against the loopback server: what it does
with streams of an unexpected shape, resets, slow or endless servers.

Each test drives ``OpenAIProvider.stream`` directly (the provider layer) and
checks three things: the one error (its class and words), what was passed to
``on_delta`` (never lost), and how many requests the server saw."""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
from fakeserver import FakeServer, Reply, count_prompt_tokens

from copilot_repl.config import ProviderSettings
from copilot_repl.errors import (
    AuthError,
    CopilotError,
    ModelNotFound,
    ProviderError,
    ServerError,
    StreamError,
)
from copilot_repl.providers.base import ReplyEnd
from copilot_repl.providers.copilot import turn_error
from copilot_repl.providers.openai import OpenAIProvider, _plain_http_context
from copilot_repl.providers.wire import MAX_WAIT, retry_after

TEXT = "echo: one two three"
KEPT = "echo: one "  # the two deltas a fault leaves through


@dataclass
class Outcome:
    deltas: list[str] = field(default_factory=list)
    status: list[str] = field(default_factory=list)
    end: ReplyEnd | None = None
    error: ProviderError | None = None

    @property
    def text(self) -> str:
        return "".join(self.deltas)


async def ask(server: FakeServer, prompt: str = "hello", **settings: object) -> Outcome:
    """One streamed reply; ``settings`` override the provider config."""
    values: dict[str, object] = {"max_retries": 2, "read_timeout": 10.0, "connect_timeout": 2.0}
    values.update(settings)
    config = ProviderSettings(name="openai", base_url=server.url, **values)  # type: ignore[arg-type]
    provider = OpenAIProvider(config, {})
    out = Outcome()
    messages = [{"role": "user", "content": prompt}]
    try:
        out.end = await provider.stream(
            "gpt-4o-mini", messages, out.deltas.append, out.status.append
        )
    except ProviderError as exc:
        out.error = exc
    finally:
        await provider.aclose()
    return out


def chunk(delta: str) -> str:
    return 'data: {"choices":[{"index":0,"delta":' + delta + "}]}\n\n"


# -- valid JSON of an unexpected shape -------------------------------------------------

MALFORMED = {
    "lone surrogate": chunk('{"content":"\\ud800"}'),
    "number content": chunk('{"content":123}'),
    "list content": chunk('{"content":["x"]}'),
    "object content": chunk('{"content":{"text":"x"}}'),
    "string delta": 'data: {"choices":[{"index":0,"delta":"text"}]}\n\n',
    "string choice": 'data: {"choices":["oops"]}\n\n',
    "object choices": 'data: {"choices":{"0":{}}}\n\n',
    "number finish": 'data: {"choices":[{"index":0,"delta":{},"finish_reason":5}]}\n\n',
    "top-level number": "data: 123\n\n",
    "top-level list": 'data: ["x"]\n\n',
    "top-level string": 'data: "text"\n\n',
    "top-level null": "data: null\n\n",
    "deep nesting": "data: " + "[" * 100_000 + "\n\n",
}


@pytest.mark.parametrize("event", MALFORMED.values(), ids=MALFORMED.keys())
async def test_unexpected_shape_is_malformed_data_and_keeps_the_text(
    server: FakeServer, event: str
) -> None:
    server.queue(Reply(text=TEXT, fault="inject", inject=[event]))
    out = await ask(server)
    assert isinstance(out.error, StreamError), out.error
    assert str(out.error).startswith("malformed data in the stream from openai: ")
    assert out.text == KEPT
    assert len(server.requests) == 1  # content had arrived: never retried


@pytest.mark.parametrize(
    "usage",
    [
        '{"completion_tokens":null}',
        '{"completion_tokens":"n/a","prompt_tokens":"n/a"}',
        '{"completion_tokens":-3}',
        '{"completion_tokens":1.5}',
        '{"completion_tokens":true}',
        '"n/a"',
        "[1,2]",
        "null",
    ],
)
async def test_a_bad_usage_is_ignored(server: FakeServer, usage: str) -> None:
    server.queue(Reply(text=TEXT, usage_json=usage))
    out = await ask(server)
    assert out.error is None
    assert out.end is not None
    assert (out.end.text, out.end.finish_reason) == (TEXT, "stop")
    assert out.end.completion_tokens is None
    assert out.text == TEXT


async def test_other_choices_and_keep_alive_data_do_not_count(server: FakeServer) -> None:
    extra = [
        'data: {"choices":[{"index":1,"delta":{"content":"other choice"}}]}\n\n',
        'data: {"choices":null}\n\n',
        'data: {"choices":[{"index":0,"delta":null}]}\n\n',
        ": comment\n\n",
    ]
    server.queue(Reply(text=TEXT, fault="inject", inject=extra))
    out = await ask(server)
    assert out.error is None and out.end is not None
    assert out.end.text == TEXT == out.text


@pytest.mark.parametrize("reason", ["length", "content_filter", "stop"])
async def test_finish_reason_and_prompt_tokens_are_returned(
    server: FakeServer, reason: str
) -> None:
    prompt = f"say it #finish={reason}"
    out = await ask(server, prompt)
    assert out.end is not None, out.error
    assert out.end.finish_reason == reason
    body = {"messages": [{"role": "user", "content": prompt}]}
    assert out.end.prompt_tokens == count_prompt_tokens(body)
    assert out.end.completion_tokens == len(out.deltas)


async def test_error_event_without_an_error_key_keeps_the_servers_message(
    server: FakeServer,
) -> None:
    server.queue(Reply(text=TEXT, fault="error_event"))
    out = await ask(server)
    assert isinstance(out.error, StreamError)
    assert str(out.error) == (
        "openai reported an error in the middle of the reply: upstream overloaded"
    )
    assert out.text == KEPT


async def test_error_event_before_any_text_says_so(server: FakeServer) -> None:
    server.queue(
        Reply(text=TEXT, fault="inject", deltas=[], inject=["event: error\ndata: busy\n\n"])
    )
    out = await ask(server)
    assert str(out.error) == "openai reported an error before the reply started: busy"
    assert out.text == ""


# -- resets and Retry-After ------------------------------------------------------------


@pytest.mark.parametrize("fault", ["reset_before_content", "reset_before_headers"])
async def test_reset_before_any_content_is_retried(server: FakeServer, fault: str) -> None:
    server.queue(Reply(fault=fault), Reply(text="recovered"))
    out = await ask(server)
    assert out.error is None, out.error
    assert out.text == "recovered"
    assert out.status == ["connection closed, retrying in 0.5 s (1/2)"]
    assert len(server.requests) == 2


async def test_reset_before_content_says_so_after_the_retries(server: FakeServer) -> None:
    server.queue(*[Reply(fault="reset_before_content")] * 3)
    out = await ask(server, max_retries=1)
    assert isinstance(out.error, StreamError)
    assert str(out.error) == f"the connection to {server.url} closed before the reply started"
    assert len(server.requests) == 2


async def test_reset_after_content_is_not_retried(server: FakeServer) -> None:
    out = await ask(server, "story #deltas=20 #fault=drop")
    assert "dropped in the middle of the reply" in str(out.error)
    assert len(out.deltas) == 10
    assert len(server.requests) == 1


@pytest.mark.parametrize("header", [float("nan"), -5.0])
async def test_unusable_retry_after_uses_the_backoff(server: FakeServer, header: float) -> None:
    server.queue(Reply(status=503, retry_after=header), Reply(text="fine"))
    out = await ask(server)
    assert out.text == "fine"
    assert out.status == ["server error, retrying in 0.5 s (1/2)"]


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("2", 2.0),
        ("0.25", 0.25),
        ("nan", 0.0),
        ("-1", 0.0),
        ("inf", MAX_WAIT),
        ("1e9", MAX_WAIT),
        ("", 0.0),
        ("soon", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # in the past
        ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_WAIT),
    ],
)
def test_retry_after_is_bounded(header: str, wait: float) -> None:
    assert retry_after(header) == wait


# -- deadlines and caps ----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["trickle", "keepalive"])
async def test_no_text_within_the_first_token_timeout(server: FakeServer, fault: str) -> None:
    server.queue(Reply(text=TEXT, fault=fault))
    out = await ask(server, first_token_timeout=1.0, read_timeout=3.0)
    assert isinstance(out.error, StreamError)
    assert str(out.error) == (
        "openai sent no reply within 1 s (first_token_timeout in the provider config)"
    )
    assert out.text == ""
    assert len(server.requests) == 1


async def test_keep_alives_after_text_are_cut_at_the_read_timeout(server: FakeServer) -> None:
    server.queue(Reply(text=TEXT, fault="keepalive_mid"))
    out = await ask(server, read_timeout=1.0)
    assert str(out.error) == (
        "openai sent nothing for 1 s; the reply was cut (read_timeout in the provider config)"
    )
    assert out.text == KEPT


async def test_heartbeats_after_text_are_cut_at_the_read_timeout(server: FakeServer) -> None:
    """Chunks that carry nothing are not progress: they do not keep a stream alive."""
    server.queue(Reply(text=TEXT, fault="heartbeat_mid"))
    out = await ask(server, read_timeout=1.0)
    assert str(out.error) == (
        "openai sent nothing for 1 s; the reply was cut (read_timeout in the provider config)"
    )
    assert out.text == KEPT


async def test_endless_reasoning_is_cut_at_max_reply_chars(server: FakeServer) -> None:
    server.queue(Reply(fault="endless_reasoning"))
    async with asyncio.timeout(120):  # a guard against a stream that never ends, not timing
        out = await ask(server, max_reply_chars=100_000)
    assert str(out.error) == (
        "the reasoning from openai passed 100,000 characters and was cut "
        "(max_reply_chars in [providers.openai])"
    )
    assert out.text == ""


async def test_an_endless_reply_is_cut_at_max_reply_chars(server: FakeServer) -> None:
    server.queue(Reply(fault="endless"))
    out = await ask(server, max_reply_chars=100_000)
    assert isinstance(out.error, StreamError)
    assert str(out.error) == (
        "the reply from openai passed 100,000 characters and was cut "
        "(max_reply_chars in [providers.openai])"
    )
    assert len(out.text) == 100_000  # the text up to the cap is kept
    assert out.text.startswith("endless endless")


async def test_an_endless_event_is_refused(server: FakeServer) -> None:
    huge = "data: " + "x" * 700_000 + "\n\n"
    server.queue(Reply(text=TEXT, fault="inject", inject=[huge]))
    out = await ask(server, max_reply_chars=100_000)
    assert isinstance(out.error, StreamError)
    assert "an event longer than" in str(out.error)
    assert out.text == KEPT


async def test_an_endless_error_body_is_read_only_in_part(server: FakeServer) -> None:
    server.queue(Reply(fault="endless_error"))
    out = await ask(server, max_retries=0)
    assert isinstance(out.error, ServerError) and out.error.status_code == 500
    assert str(out.error).startswith('openai answered HTTP 500: {"error": {"message": "xxx')
    assert len(str(out.error)) < 400


async def test_a_drop_after_the_finish_keeps_the_reply_complete(server: FakeServer) -> None:
    server.queue(Reply(text=TEXT, fault="drop_after_finish"))
    out = await ask(server)
    assert out.error is None, out.error
    assert out.end is not None
    assert (out.end.text, out.end.finish_reason, out.end.completion_tokens) == (TEXT, "stop", None)
    assert len(server.requests) == 1


@pytest.mark.parametrize("url", ["http://xn--a.com/v1", "http://a\x00b/v1"])
async def test_a_url_httpx_cannot_use_is_one_clean_line(url: str) -> None:
    config = ProviderSettings(name="byok", base_url=url, max_retries=0)
    provider = OpenAIProvider(config, {})
    errors: list[ProviderError] = []
    for call in (
        lambda: provider.stream("m", [{"role": "user", "content": "x"}], print, print),
        provider.list_models,
    ):
        try:
            await call()
        except ProviderError as exc:
            errors.append(exc)
    await provider.aclose()
    assert len(errors) == 2
    for error in errors:
        assert " is not a valid URL (" in str(error)
        assert str(error).isprintable()


async def test_a_status_after_the_retries_is_on_the_error(server: FakeServer) -> None:
    server.queue(Reply(status=429), Reply(status=429))
    out = await ask(server, max_retries=1)
    assert out.error is not None and out.error.status_code == 429


@pytest.mark.parametrize(
    ("fields", "kind", "status"),
    [
        ({"error_type": "authentication", "status_code": 401}, AuthError, 401),
        ({"error_type": "query", "status_code": 404}, ModelNotFound, 404),
        ({"error_type": "query", "status_code": 500}, CopilotError, 500),
        ({"error_type": "query"}, CopilotError, None),  # an SDK without the field
        ({"status_code": "500"}, CopilotError, None),  # not a number: not a status
    ],
)
def test_copilot_turn_errors_carry_the_status(
    fields: dict[str, object], kind: type[ProviderError], status: int | None
) -> None:
    # the SDK's session.error event data, as the Copilot provider is given it
    error = turn_error(SimpleNamespace(message="it failed", **fields))
    assert type(error) is kind and error.status_code == status


def test_a_plain_http_client_trusts_no_certificate() -> None:
    """Issue 26: a provider at an http:// URL builds its client without
    reading the CA bundle (40-90 ms); its TLS context, never used, would
    refuse any certificate rather than accept one unchecked."""
    context = _plain_http_context()
    assert context.cert_store_stats()["x509_ca"] == 0
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
