"""Tests for the fake OpenAI-compatible server used by the rest of the suite."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

# tests/ is not a package: pytest's default import mode puts it on sys.path.
from fakeserver import ESCAPE_TEXT, FakeServer, Reply, markdown_deltas
from helpers import wait_for
from httpx_sse import connect_sse


@dataclass
class Streamed:
    """What a client saw on one SSE stream."""

    parts: list[str] = field(default_factory=list)
    chunks: list[dict[str, Any]] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    done: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def finish_reasons(self) -> list[str]:
        return [
            c["finish_reason"] for ch in self.chunks for c in ch["choices"] if c["finish_reason"]
        ]


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def client(server: FakeServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10.0) as c:
        yield c


def chat_body(
    prompt: str, *, stream: bool = True, usage: bool = False, model: str = "echo"
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": model,
        "stream": stream,
        "messages": [{"role": "user", "content": prompt}],
    }
    if usage:
        body["stream_options"] = {"include_usage": True}
    return body


def stream_chat(
    client: httpx.Client, body: dict[str, Any], out: Streamed | None = None
) -> Streamed:
    seen = out if out is not None else Streamed()
    with connect_sse(client, "POST", "/chat/completions", json=body) as source:
        for event in source.iter_sse():
            seen.raw.append(event.data)
            if event.data == "[DONE]":
                seen.done = True
                break
            chunk = json.loads(event.data)
            seen.chunks.append(chunk)
            for choice in chunk["choices"]:
                seen.parts.append(choice["delta"].get("content") or "")
    return seen


def test_stream_joins_to_exact_text(client: httpx.Client) -> None:
    seen = stream_chat(client, chat_body("hello   world\n  second line "))
    assert seen.text == "echo: hello   world\n  second line "
    assert seen.chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    assert seen.chunks[0]["object"] == "chat.completion.chunk"
    assert seen.finish_reasons == ["stop"]
    assert seen.done


def test_directives_are_removed(client: httpx.Client) -> None:
    seen = stream_chat(client, chat_body("hello #delay=0.001 world"))
    assert seen.text == "echo: hello world"


def test_usage_chunk_only_when_asked(client: httpx.Client) -> None:
    seen = stream_chat(client, chat_body("one two three", usage=True))
    last = seen.chunks[-1]
    assert last["choices"] == []
    assert last["usage"]["completion_tokens"] == 4  # "echo: ", "one ", "two ", "three"
    assert last["usage"]["total_tokens"] == last["usage"]["prompt_tokens"] + 4
    plain = stream_chat(client, chat_body("one two three"))
    assert all("usage" not in chunk for chunk in plain.chunks)


def test_queue_is_fifo_then_default(server: FakeServer, client: httpx.Client) -> None:
    server.queue(Reply(text="first"), Reply(deltas=["sec", "ond"]))
    assert stream_chat(client, chat_body("x")).text == "first"
    assert stream_chat(client, chat_body("y")).text == "second"
    assert stream_chat(client, chat_body("z")).text == "echo: z"
    assert [r["body"]["messages"][0]["content"] for r in server.requests] == ["x", "y", "z"]
    assert server.requests[0]["path"] == "/v1/chat/completions"


def test_non_streaming_completion(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body("hi there", stream=False))
    data = response.json()
    assert data["object"] == "chat.completion"
    assert data["choices"][0]["message"] == {"role": "assistant", "content": "echo: hi there"}
    assert data["choices"][0]["finish_reason"] == "stop"


def test_models_endpoint(server: FakeServer, client: httpx.Client) -> None:
    data = client.get("/models").json()
    assert [m["id"] for m in data["data"]] == ["gpt-4o-mini", "echo", "slow"]
    assert server.models_requests == 1
    assert server.requests == []


def test_missing_model_is_404(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body("hi", model="missing-model"))
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == "The model `missing-model` does not exist"
    assert error["code"] == "model_not_found"


def test_bad_key_is_401(client: httpx.Client) -> None:
    headers = {"Authorization": "Bearer bad-key"}
    response = client.post("/chat/completions", json=chat_body("hi"), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Incorrect API key provided"


def test_scripted_status_and_retry_after(server: FakeServer, client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body("#status=500"))
    assert response.status_code == 500
    assert response.json()["error"]["message"] == "scripted failure 500"
    server.queue(Reply(status=429, message="slow down", retry_after=1.5))
    response = client.post("/chat/completions", json=chat_body("hi"))
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1.5"


def test_drop_fault_ends_without_done(client: httpx.Client) -> None:
    seen = Streamed()
    with pytest.raises(httpx.TransportError):
        stream_chat(client, chat_body("#deltas=40 #fault=drop"), seen)
    assert not seen.done
    assert seen.text == "".join(markdown_deltas(20))
    assert seen.finish_reasons == []


def test_no_finish_and_error_in_stream(server: FakeServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b c", fault="no_finish"))
    seen = stream_chat(client, chat_body("x"))
    assert seen.done and seen.finish_reasons == [] and seen.text == "a b c"
    server.queue(Reply(text="a b c d", fault="error_in_stream"))
    with connect_sse(client, "POST", "/chat/completions", json=chat_body("x")) as source:
        data = [event.data for event in source.iter_sse()]
    assert data[-2:] == ['{"error":{"message":"model overloaded"}}', "[DONE]"]


def test_escape_and_html_faults(server: FakeServer, client: httpx.Client) -> None:
    server.queue(Reply(fault="escape"), Reply(fault="html200"))
    assert stream_chat(client, chat_body("x")).text == ESCAPE_TEXT
    response = client.post("/chat/completions", json=chat_body("x"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")


def test_invalid_utf8_bytes_on_the_wire(server: FakeServer, client: httpx.Client) -> None:
    server.queue(Reply(text="a b", fault="invalid_utf8"))
    with client.stream("POST", "/chat/completions", json=chat_body("x")) as response:
        raw = response.read()
    assert b"\xff\xfe" in raw


def test_markdown_deltas_directive(client: httpx.Client) -> None:
    seen = stream_chat(client, chat_body("#deltas=300"))
    assert seen.parts[1:-1] == markdown_deltas(300)
    assert "```python\n" in seen.text and "- " in seen.text


def test_20000_delta_stream_is_complete(client: httpx.Client) -> None:
    seen = stream_chat(client, chat_body("#deltas=20000", usage=True))
    assert seen.done
    assert seen.text == "".join(markdown_deltas(20000))
    assert seen.chunks[-1]["usage"]["completion_tokens"] == 20000


def test_concurrent_delayed_streams(server: FakeServer) -> None:
    results: list[str] = []

    def worker(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=10.0) as c:
            results.append(stream_chat(c, chat_body(f"n{i} a b c d #delay=0.05")).text)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == sorted(f"echo: n{i} a b c d" for i in range(10))


def test_stop_ends_a_silent_stream() -> None:
    srv = FakeServer().start()
    srv.queue(Reply(text="a b c d", fault="silent"))
    got: list[str] = []

    def reader() -> None:
        client = httpx.Client(base_url=srv.url, timeout=30.0)
        with client, contextlib.suppress(httpx.TransportError):
            stream_chat(client, chat_body("x"), Streamed(parts=got))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    deadline = time.monotonic() + 5
    while "".join(got) != "a b " and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert "".join(got) == "a b "


def test_held_replies_are_recorded_and_answered_only_once_released() -> None:
    with FakeServer(hold_replies=True) as server, httpx.Client(base_url=server.url) as c:
        seen: list[Streamed] = []
        asking = threading.Thread(target=lambda: seen.append(stream_chat(c, chat_body("hi"))))
        asking.start()
        wait_for(lambda: server.requests)  # recorded, its reply held
        assert not seen
        server.release_replies()
        asking.join()
        assert seen[0].text == "echo: hi"
        assert stream_chat(c, chat_body("next")).text == "echo: next"  # released for good


def test_a_held_reply_is_dropped_when_the_server_stops() -> None:
    server = FakeServer(hold_replies=True).start()
    with httpx.Client(base_url=server.url) as c:
        failed: list[Exception] = []

        def ask() -> None:
            try:
                stream_chat(c, chat_body("hi"))
            except httpx.HTTPError as exc:
                failed.append(exc)

        asking = threading.Thread(target=ask)
        asking.start()
        wait_for(lambda: server.requests)
        server.stop()
        asking.join()
        assert failed  # no reply came: the connection was closed
