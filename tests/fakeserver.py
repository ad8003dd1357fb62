"""A small, fast OpenAI-compatible Chat Completions server for tests and benchmarks.

Standard library only.  Use it in-process::

    with FakeServer() as server:
        server.queue(Reply(text="hello"), Reply(status=500))
        ...  # point a client at server.url

or as a program (``python tests/fakeserver.py [--port N]``), which prints the
base URL on its first stdout line and serves until killed.

``server.responders[MODEL] = fn`` answers that model's requests with
``fn(body)`` (a ``Reply``; None: as below), so a test can play a model whose
answers depend on what it is asked (a judge, say).

``FakeServer(hold_replies=True)`` records every chat request but answers none
until ``server.release_replies()``: a reply that cannot reach the client before
a point of its own (say, the end of its program), however loaded the machine.
``hold_models=True`` does the same for ``GET /models`` (``release_models()``).

When the reply queue is empty the server answers from the last user message:
``#key=value`` directives steer it (``#delay=0.05``, ``#first_delay=2``,
``#deltas=N``, ``#status=500``, ``#fault=drop``, ``#retry_after=1``,
``#finish=length``), and the reply is ``"echo: "`` plus the message with the
directives removed, split into word deltas.  The model ``"slow"`` defaults to a per-delta delay of
``SLOW_MODEL_DELAY`` seconds.

Faults (``Reply.fault`` or ``#fault=``): ``drop`` (close mid-stream),
``drop_after_finish`` (close after the finish chunk: no usage, no ``[DONE]``),
``no_finish``, ``malformed`` (a line that is not JSON), ``error_in_stream``
(``{"error": ...}``), ``error_event`` (``event: error`` whose data has no
``error`` key), ``inject`` (``Reply.inject``'s raw events after two deltas),
``html200``, ``silent`` (hang after two deltas), ``keepalive`` /
``keepalive_mid`` (only ``: keep-alive`` comments, from the start / after two
deltas), ``heartbeat_mid`` (after two deltas, only chunks with an empty
delta), ``endless_reasoning`` (reasoning deltas that never end), ``trickle``
(the response head one byte every ``TRICKLE_INTERVAL`` seconds),
``reset_before_headers`` / ``reset_before_content`` (close before the status
line / after the headers, nothing sent), ``endless`` (content that never
ends), ``endless_error`` (HTTP 500 whose body never ends), ``invalid_utf8``,
``huge`` and ``escape``. ``Reply.usage_json`` replaces the usage object's JSON.

A model that calls tools: when a request offers ``tools`` and its last message
is the user's, each ``#call=NAME:ARGS`` in that message (ARGS: raw text without
spaces, sent as is, so ``#call=f:{bad`` is malformed JSON; no ``:ARGS`` means
``{}``) becomes one streamed ``tool_calls`` entry, its arguments split across
three chunks, and the reply ends with ``finish_reason: "tool_calls"``. When the
last message is a ``tool`` result, the reply is ``"tools: "`` plus the tool
results in order, joined with `` | ``. ``Reply.tool_calls`` scripts the same.

Lone surrogates ``\\udc80``-``\\udcff`` in a delta are sent as the raw bytes
``0x80``-``0xff`` (``surrogateescape``), which is how the ``invalid_utf8`` fault
puts invalid UTF-8 on the wire.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import enum
import json
import re
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import urlsplit

__all__ = [
    "DEFAULT_MODELS",
    "ESCAPE_TEXT",
    "FAULTS",
    "FakeServer",
    "Reply",
    "markdown_deltas",
    "parse_directives",
    "split_words",
]

DEFAULT_MODELS = ["gpt-4o-mini", "echo", "slow"]
DEFAULT_MODEL = "gpt-4o-mini"
SLOW_MODEL_DELAY = 0.05
BATCH_BYTES = 64 * 1024
SILENT_SECONDS = 30.0
TRICKLE_INTERVAL = 0.5
KEEPALIVE_INTERVAL = 0.2
FAULTS = frozenset(
    {
        "drop",
        "drop_after_finish",
        "no_finish",
        "malformed",
        "error_in_stream",
        "error_event",
        "inject",
        "html200",
        "silent",
        "keepalive",
        "keepalive_mid",
        "heartbeat_mid",
        "endless_reasoning",
        "trickle",
        "reset_before_headers",
        "reset_before_content",
        "endless",
        "endless_error",
        "invalid_utf8",
        "huge",
        "escape",
    }
)
ESCAPE_TEXT = (
    "Escapes: clear \x1b[2J then clipboard \x1b]52;c;SGVsbG8=\x07 then a "
    "\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\ and [bold red]not markup[/] end."
)
INVALID_UTF8_DELTA = "\udcff\udcfe"  # sent as the raw bytes b"\xff\xfe"
HUGE_DELTAS = 10_000
HUGE_DELTA_CHARS = 1_000
HTML_BODY = b"<html><body>Gateway error</body></html>"
MALFORMED_EVENT = "data: {not json\n\n"
STREAM_ERROR_EVENT = 'data: {"error":{"message":"model overloaded"}}\n\n'
ERROR_EVENT = 'event: error\ndata: {"message":"upstream overloaded","type":"overloaded"}\n\n'
KEEPALIVE_EVENT = ": keep-alive\n\n"
ENDLESS_DELTA = "endless " * 128
DONE_EVENT = "data: [DONE]\n\n"

_DIRECTIVE_KEYS = ("delay", "first_delay", "deltas", "status", "fault", "retry_after", "finish")
_DIRECTIVE_RE = re.compile(r"[ \t]*#(" + "|".join(_DIRECTIVE_KEYS) + r")=(\S+)")
_COMPACT = (",", ":")
_WORD_RE = re.compile(r"^\s+|\S+\s*")
_ERROR_KINDS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    429: ("rate_limit_error", "rate_limit_exceeded"),
}


@dataclass
class Reply:
    """One scripted answer to a chat request."""

    text: str = ""
    deltas: list[str] | None = None
    status: int = 200
    message: str = ""
    retry_after: float | None = None
    delay: float = 0.0
    first_delay: float = 0.0
    fault: str | None = None
    usage: bool = True
    finish_reason: str = "stop"
    inject: list[str] = field(default_factory=list)  # raw SSE text for fault "inject"
    usage_json: str | None = None  # the usage object as raw JSON, instead of the real one
    gate: threading.Event | None = None  # answer only once it is set (a reply held back)
    tool_calls: list[tuple[str, str]] | None = None  # (name, raw arguments) streamed as calls


# --------------------------------------------------------------------------- text helpers


def split_words(text: str) -> list[str]:
    """Split into word deltas that keep their trailing whitespace (join == text)."""
    return _WORD_RE.findall(text)


_MD_BLOCKS = (
    "Streaming text arrives in small pieces, and the renderer has to keep up with "
    "every one of them without flicker or lost characters.\n\n",
    "- first item with `inline code`\n- second item with **bold** words\n"
    "- third item, plain and short\n\n",
    '```python\ndef greet(name: str) -> str:\n    return f"hello {name}"\n\n\n'
    'for who in ("world", "tests"):\n    print(greet(who))\n```\n\n',
    "Numbers 1, 2 and 3 follow; *emphasis* and a [link](https://example.com) "
    "close the section.\n\n",
)


def markdown_deltas(n: int) -> list[str]:
    """Deterministic Markdown-like reply of exactly ``n`` word-sized deltas."""
    out: list[str] = []
    section = 0
    while len(out) < n:
        section += 1
        out.extend(split_words(f"## Section {section}\n\n" + "".join(_MD_BLOCKS)))
    return out[:n]


def huge_deltas() -> list[str]:
    """10,000 deltas of 1,000 characters each (about 10 MB)."""
    line = ("0123456789abcdefghijklmnopqrstuvwxyz " * 30)[: HUGE_DELTA_CHARS - 1] + "\n"
    return [line] * HUGE_DELTAS


def parse_directives(text: str) -> tuple[dict[str, str], str]:
    """Return the ``#key=value`` directives of ``text`` and the text without them."""
    found = {m.group(1): m.group(2) for m in _DIRECTIVE_RE.finditer(text)}
    if not found:
        return {}, text
    return found, _DIRECTIVE_RE.sub("", text).strip()


_CALL_RE = re.compile(r"#call=([A-Za-z0-9_.-]+)(?::(\S+))?")


def tool_calls_in(prompt: str) -> list[tuple[str, str]]:
    """The ``#call=NAME:ARGS`` directives of a prompt, in order."""
    return [(m.group(1), m.group(2) or "{}") for m in _CALL_RE.finditer(prompt)]


def reply_for_tools(body: dict[str, Any]) -> Reply | None:
    """The tool-calling model's reply, or None when it has nothing to do."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not isinstance(messages[-1], dict):
        return None
    last = messages[-1]
    if last.get("role") == "tool":
        results = []
        for message in reversed(messages):
            if not isinstance(message, dict) or message.get("role") != "tool":
                break
            results.append(content_text(message.get("content")))
        return Reply(text="tools: " + " | ".join(reversed(results)))
    if last.get("role") != "user" or not body.get("tools"):
        return None
    calls = tool_calls_in(content_text(last.get("content")))
    return Reply(tool_calls=calls, finish_reason="tool_calls") if calls else None


def reply_from_prompt(prompt: str, model: str) -> Reply:
    """Build the default reply for a prompt (echo, steered by directives)."""
    found, rest = parse_directives(prompt)
    reply = Reply(text="echo: " + rest)
    if model == "slow":
        reply.delay = SLOW_MODEL_DELAY
    if "deltas" in found:
        reply.deltas = markdown_deltas(int(found["deltas"]))
    if "status" in found:
        reply.status = int(found["status"])
        reply.message = f"scripted failure {reply.status}"
    for key in ("delay", "first_delay", "retry_after"):
        if key in found:
            setattr(reply, key, float(found[key]))
    reply.fault = found.get("fault", reply.fault)
    reply.finish_reason = found.get("finish", reply.finish_reason)
    return reply


def reply_deltas(reply: Reply) -> list[str]:
    """The deltas a reply streams, after applying content-changing faults."""
    if reply.fault == "huge":
        return huge_deltas()
    if reply.fault == "escape":
        return split_words(ESCAPE_TEXT)
    deltas = list(reply.deltas) if reply.deltas is not None else split_words(reply.text)
    if reply.fault == "invalid_utf8":
        deltas.insert(min(1, len(deltas)), INVALID_UTF8_DELTA)
    return deltas


def content_text(content: Any) -> str:
    """Text of a message ``content`` (string or list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return ""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def count_prompt_tokens(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 1
    words = sum(
        len(content_text(m.get("content")).split()) for m in messages if isinstance(m, dict)
    )
    return max(1, words)


def error_body(status: int, message: str) -> dict[str, Any]:
    kind, code = _ERROR_KINDS.get(status, ("server_error" if status >= 500 else "api_error", None))
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------- SSE events


class Op(enum.Enum):
    """Non-data steps of a stream."""

    PAUSE = "pause"  # flush, then wait the per-delta delay
    FLUSH = "flush"
    DROP = "drop"  # flush, then close the connection without finishing
    SILENT = "silent"  # flush, then hang until SILENT_SECONDS or server stop
    KEEPALIVE = "keepalive"  # flush, then only keep-alive comments until SILENT_SECONDS
    HEARTBEAT = "heartbeat"  # flush, then wait KEEPALIVE_INTERVAL (abort after SILENT_SECONDS)


@dataclass
class Plan:
    """A reply resolved against one request."""

    reply: Reply
    deltas: list[str]
    model: str
    stream: bool
    include_usage: bool
    prompt_tokens: int
    ident: str = field(default_factory=lambda: f"chatcmpl-fake{time.monotonic_ns()}")
    created: int = field(default_factory=lambda: int(time.time()))

    def usage(self) -> dict[str, int]:
        n = len(self.deltas)
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": n,
            "total_tokens": self.prompt_tokens + n,
        }


class ChunkFormatter:
    """Pre-renders the constant parts of ``chat.completion.chunk`` events."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        head = json.dumps(
            {
                "id": plan.ident,
                "object": "chat.completion.chunk",
                "created": plan.created,
                "model": plan.model,
            },
            separators=_COMPACT,
        )
        self.head = "data: " + head[:-1] + ","
        self.content_prefix = self.head + '"choices":[{"index":0,"delta":{"content":'
        self.content_suffix = '},"finish_reason":null}]}\n\n'

    def role(self) -> str:
        return self.head + (
            '"choices":[{"index":0,"delta":{"role":"assistant","content":""},'
            '"finish_reason":null}]}\n\n'
        )

    def content(self, text: str) -> str:
        return self.content_prefix + json.dumps(text, ensure_ascii=False) + self.content_suffix

    def heartbeat(self) -> str:
        """A chunk that carries nothing (some servers send these to keep a stream open)."""
        return self.head + '"choices":[{"index":0,"delta":{},"finish_reason":null}]}\n\n'

    def reasoning(self, text: str) -> str:
        return (
            self.head
            + '"choices":[{"index":0,"delta":{"reasoning_content":'
            + json.dumps(text)
            + '},"finish_reason":null}]}\n\n'
        )

    def finish(self) -> str:
        reply = self.plan.reply
        stop = reply.tool_calls and reply.finish_reason == "stop"
        reason = json.dumps("tool_calls" if stop else reply.finish_reason)
        return self.head + f'"choices":[{{"index":0,"delta":{{}},"finish_reason":{reason}}}]}}\n\n'

    def tool_call(self, index: int, call_id: str, name: str, arguments: str) -> str:
        call: dict[str, Any] = {"index": index}
        if call_id:
            call.update(id=call_id, type="function", function={"name": name, "arguments": ""})
        else:
            call["function"] = {"arguments": arguments}
        delta = json.dumps({"tool_calls": [call]}, separators=_COMPACT, ensure_ascii=False)
        return self.head + f'"choices":[{{"index":0,"delta":{delta},"finish_reason":null}}]}}\n\n'

    def usage(self) -> str:
        raw = self.plan.reply.usage_json
        usage = raw if raw is not None else json.dumps(self.plan.usage(), separators=_COMPACT)
        return self.head + '"choices":[],"usage":' + usage + "}\n\n"


def _cut_index(fault: str | None, n: int) -> int:
    if fault == "drop":
        return n // 2
    if fault in ("keepalive", "reset_before_content"):
        return 0
    if fault in (
        "silent",
        "malformed",
        "error_in_stream",
        "error_event",
        "inject",
        "keepalive_mid",
        "heartbeat_mid",
    ):
        return min(2, n)
    return n


def _content_events(fmt: ChunkFormatter, deltas: list[str], delay: float) -> Iterator[str | Op]:
    if not delay:
        for delta in deltas:
            yield fmt.content(delta)
        return
    for delta in deltas:
        yield Op.PAUSE
        yield fmt.content(delta)
        yield Op.FLUSH


def stream_events(plan: Plan) -> Iterator[str | Op]:
    """Every step of an SSE stream, faults included."""
    fmt = ChunkFormatter(plan)
    fault, delay, deltas = plan.reply.fault, plan.reply.delay, plan.deltas
    cut = _cut_index(fault, len(deltas))
    yield fmt.role()
    for index, (name, arguments) in enumerate(plan.reply.tool_calls or []):
        yield fmt.tool_call(index, f"call_{plan.ident[-8:]}_{index}", name, "")
        third = max(len(arguments) // 3, 1)
        for start in range(0, len(arguments), third):
            yield fmt.tool_call(index, "", name, arguments[start : start + third])
    if fault == "endless":
        while True:
            yield fmt.content(ENDLESS_DELTA)
    if fault == "endless_reasoning":
        while True:
            yield fmt.reasoning(ENDLESS_DELTA)
    yield from _content_events(fmt, deltas[:cut], delay)
    if fault in ("drop", "reset_before_content"):
        yield Op.DROP
        return
    if fault == "silent":
        yield Op.SILENT
        return
    if fault in ("keepalive", "keepalive_mid"):
        yield Op.KEEPALIVE
        return
    if fault == "heartbeat_mid":  # paced: one empty chunk every KEEPALIVE_INTERVAL
        for _ in range(int(SILENT_SECONDS / KEEPALIVE_INTERVAL)):
            yield fmt.heartbeat()
            yield Op.HEARTBEAT
        yield Op.DROP
        return
    if fault in ("error_in_stream", "error_event"):
        yield STREAM_ERROR_EVENT if fault == "error_in_stream" else ERROR_EVENT
        yield DONE_EVENT
        return
    if fault == "inject":
        yield from plan.reply.inject
    if fault == "malformed":
        yield MALFORMED_EVENT
    yield from _content_events(fmt, deltas[cut:], delay)
    if fault != "no_finish":
        yield fmt.finish()
        if fault == "drop_after_finish":
            yield Op.DROP
            return
        if plan.include_usage and plan.reply.usage:
            yield fmt.usage()
    yield DONE_EVENT


def completion_json(plan: Plan) -> bytes:
    finish = None if plan.reply.fault == "no_finish" else plan.reply.finish_reason
    message: dict[str, Any] = {"role": "assistant", "content": "".join(plan.deltas)}
    if plan.reply.tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{plan.ident[-8:]}_{index}",
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }
            for index, (name, arguments) in enumerate(plan.reply.tool_calls)
        ]
    body = {
        "id": plan.ident,
        "object": "chat.completion",
        "created": plan.created,
        "model": plan.model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
            }
        ],
        "usage": plan.usage(),
    }
    return encode(json.dumps(body, ensure_ascii=False))


# --------------------------------------------------------------------------- HTTP handler


class _Aborted(Exception):
    """The stream was cut on purpose (fault or server stop)."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "fakeserver/1.0"

    @property
    def fake(self) -> FakeServer:
        return cast(_Server, self.server).fake

    # -- connection lifecycle ---------------------------------------------------------

    def setup(self) -> None:
        super().setup()
        self.fake._track(self.connection)

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, _Aborted):
            self.close_connection = True

    def finish(self) -> None:
        self.fake._untrack(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _abort(self) -> None:
        self.close_connection = True
        _shutdown(self.connection)
        raise _Aborted

    def _wait(self, seconds: float) -> None:
        """Sleep, aborting the connection if the server stops meanwhile."""
        if seconds > 0 and self.fake._stopping.wait(seconds):
            self._abort()

    # -- routing ----------------------------------------------------------------------

    def do_GET(self) -> None:
        path = urlsplit(self.path).path.rstrip("/")
        if path in ("/v1/models", "/models"):
            self.fake._count_models_request()
            self.fake._models_released.wait()  # hold_models: until release_models()
            if self.fake._stopping.is_set():
                self._abort()
            data = [{"id": m, "object": "model", "owned_by": "fake"} for m in self.fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_json(404, error_body(404, f"Unknown path {path}"))

    def do_POST(self) -> None:
        raw = self._read_body()
        path = urlsplit(self.path).path.rstrip("/")
        if path.endswith("/chat/completions"):
            self._chat(raw)
        else:
            self._send_json(404, error_body(404, f"Unknown path {path}"))

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    # -- responses --------------------------------------------------------------------

    def _send_bytes(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_json(
        self, status: int, obj: dict[str, Any], extra: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, json.dumps(obj).encode(), "application/json", extra)

    def _send_error_reply(self, reply: Reply) -> None:
        extra = {}
        if reply.retry_after is not None:
            extra["Retry-After"] = f"{reply.retry_after:g}"
        message = reply.message or f"scripted failure {reply.status}"
        self._send_json(reply.status, error_body(reply.status, message), extra)

    # -- chat -------------------------------------------------------------------------

    def _chat(self, raw: bytes) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        self.fake._record({"path": self.path, "headers": headers, "body": body})
        if not isinstance(body, dict):
            self._send_json(400, error_body(400, "Request body is not a JSON object"))
            return
        if headers.get("authorization") == "Bearer bad-key":
            err = error_body(401, "Incorrect API key provided")
            self._send_json(401, err)
            return
        model = str(body.get("model") or DEFAULT_MODEL)
        if self.fake._model_missing(model):
            err = error_body(404, f"The model `{model}` does not exist")
            err["error"]["code"] = "model_not_found"
            self._send_json(404, err)
            return
        reply = self.fake._next_reply()
        responder = self.fake.responders.get(model)
        if reply is None and responder is not None:
            reply = responder(body)
        if reply is None:
            reply = reply_for_tools(body)
        if reply is None:
            reply = reply_from_prompt(last_user_text(body), model)
            reply.first_delay = max(reply.first_delay, self.fake.first_delay)
        self._answer(self._plan(reply, body, model))

    def _plan(self, reply: Reply, body: dict[str, Any], model: str) -> Plan:
        options = body.get("stream_options")
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return Plan(
            reply=reply,
            deltas=reply_deltas(reply),
            model=model,
            stream=bool(body.get("stream")),
            include_usage=include_usage,
            prompt_tokens=count_prompt_tokens(body),
        )

    def _answer(self, plan: Plan) -> None:
        reply = plan.reply
        if reply.gate is not None:
            reply.gate.wait(SILENT_SECONDS)
        if not self.fake._released.is_set():  # every reply held (hold_replies)
            self.fake._released.wait()
            if self.fake._stopping.is_set():
                self._abort()
        self._wait(reply.first_delay)
        if reply.fault == "reset_before_headers":
            self._abort()
        elif reply.fault == "trickle":
            self._trickle()
        elif reply.fault == "endless_error":
            self._endless_error()
        elif reply.fault == "html200":
            self._send_bytes(200, HTML_BODY, "text/html; charset=utf-8")
        elif reply.status != 200:
            self._send_error_reply(reply)
        elif plan.stream:
            self._stream(plan)
        else:
            self._complete(plan)

    def _complete(self, plan: Plan) -> None:
        fault = plan.reply.fault
        self._wait(plan.reply.delay * len(plan.deltas))
        if fault == "malformed":
            self._send_bytes(200, b"{not json", "application/json")
            return
        if fault == "error_in_stream":
            self._send_json(200, {"error": {"message": "model overloaded"}})
            return
        body = completion_json(plan)
        if fault not in ("drop", "silent"):
            self._send_bytes(200, body, "application/json")
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if fault == "drop" else b"")
        self._wait(SILENT_SECONDS if fault == "silent" else 0)
        self._abort()

    def _trickle(self) -> None:
        """The response head, one byte every TRICKLE_INTERVAL s, never finished."""
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Padding: " + b"." * 200
        deadline = time.monotonic() + SILENT_SECONDS
        for byte in head:
            if time.monotonic() > deadline:
                break
            self.wfile.write(bytes([byte]))
            self.wfile.flush()
            self._wait(TRICKLE_INTERVAL)
        self._abort()

    def _endless_error(self) -> None:
        """HTTP 500 with a JSON-looking body that never ends."""
        self.send_response(500)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._write_chunk(b'{"error": {"message": "')
        piece = b"x" * BATCH_BYTES
        deadline = time.monotonic() + SILENT_SECONDS
        while time.monotonic() < deadline and not self.fake._stopping.is_set():
            self._write_chunk(piece)
        self._abort()

    # -- streaming --------------------------------------------------------------------

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))

    def _stream(self, plan: Plan) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._pump(stream_events(plan), plan.reply.delay)
        self.wfile.write(b"0\r\n\r\n")

    def _pump(self, events: Iterable[str | Op], delay: float) -> None:
        """Write events in large batches; honour pauses and faults."""
        pending: list[str] = []
        size = 0
        for event in events:
            if isinstance(event, str):
                pending.append(event)
                size += len(event)
                if size < BATCH_BYTES:
                    continue
            self._write_chunk(encode("".join(pending)))
            pending.clear()
            size = 0
            if event is Op.PAUSE:
                self._wait(delay)
            elif event is Op.DROP:
                self._abort()
            elif event is Op.SILENT:
                self._wait(SILENT_SECONDS)
                self._abort()
            elif event is Op.KEEPALIVE:
                self._keep_alive()
            elif event is Op.HEARTBEAT:
                self._wait(KEEPALIVE_INTERVAL)
        self._write_chunk(encode("".join(pending)))

    def _keep_alive(self) -> None:
        """Only keep-alive comments, until SILENT_SECONDS or the server stops."""
        deadline = time.monotonic() + SILENT_SECONDS
        while time.monotonic() < deadline:
            self._write_chunk(KEEPALIVE_EVENT.encode())
            self._wait(KEEPALIVE_INTERVAL)
        self._abort()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], fake: FakeServer) -> None:
        self.fake = fake
        super().__init__(address, _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError) or self.fake._stopping.is_set():
            return
        super().handle_error(request, client_address)


# --------------------------------------------------------------------------- public server


class FakeServer:
    """OpenAI-compatible chat server on a background thread."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        models: list[str] | None = None,
        strict_models: bool = False,
        tls: ssl.SSLContext | None = None,
        first_delay: float = 0.0,
        hold_replies: bool = False,
        hold_models: bool = False,
    ) -> None:
        self.tls = tls
        self.first_delay = first_delay  # at least this long before any reply built from a prompt
        # hold_replies: every chat request is recorded but answered only after
        # release_replies() (or stop(), which drops it): a reply that cannot
        # arrive before a given point of the client's, whatever the machine's load
        self._released = threading.Event()
        if not hold_replies:
            self._released.set()
        # hold_models: the model list is answered only after release_models()
        self._models_released = threading.Event()
        if not hold_models:
            self._models_released.set()
        self.host = host
        self.port = port
        self.models: list[str] = list(models if models is not None else DEFAULT_MODELS)
        self.strict_models = strict_models
        # model -> a function of the request body giving its reply (None: the default)
        self.responders: dict[str, Callable[[dict[str, Any]], Reply | None]] = {}
        self.requests: list[dict[str, Any]] = []
        self.models_requests = 0
        self._replies: collections.deque[Reply] = collections.deque()
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------

    def start(self) -> FakeServer:
        if self._server is not None:
            return self
        self._stopping = threading.Event()
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"fakeserver-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        self._released.set()  # a held reply is dropped (the handler sees _stopping)
        self._models_released.set()
        server.shutdown()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            _shutdown(conn)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{self.host}:{self.port}/v1"

    # -- scripting --------------------------------------------------------------------

    def queue(self, *replies: Reply) -> None:
        """Queue replies (FIFO) for the next chat requests."""
        with self._lock:
            self._replies.extend(replace(r) for r in replies)

    def release_replies(self) -> None:
        """Answer the requests held by ``hold_replies`` (and the next ones at once)."""
        self._released.set()

    def release_models(self) -> None:
        """Answer the model lists held by ``hold_models`` (and the next ones at once)."""
        self._models_released.set()

    def clear(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()
            self.models_requests = 0
            self.responders.clear()

    # -- used by the handler ----------------------------------------------------------

    def _next_reply(self) -> Reply | None:
        with self._lock:
            return self._replies.popleft() if self._replies else None

    def _record(self, request: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(request)

    def _count_models_request(self) -> None:
        with self._lock:
            self.models_requests += 1

    def _model_missing(self, model: str) -> bool:
        return model == "missing-model" or (self.strict_models and model not in self.models)

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.discard(conn)


# --------------------------------------------------------------------------- program


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--strict-models", action="store_true")
    args = parser.parse_args(argv)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    server = FakeServer(args.host, args.port, strict_models=args.strict_models).start()
    print(server.url, flush=True)
    try:
        while not done.wait(1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
