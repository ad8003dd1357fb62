"""A minimal in-process chat server that notes when each request arrives.

Used to time "start to request on the wire" for a client in another process:
both sides read ``time.monotonic()`` (CLOCK_MONOTONIC, shared by all processes
on Linux). Every POST gets a tiny, complete SSE reply ("ok").
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

_EVENTS: list[dict[str, Any]] = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
    {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": None}]},
    {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}},
]
_BODY = (
    "".join(
        "data: " + json.dumps({"id": "x", "object": "chat.completion.chunk", **e}) + "\n\n"
        for e in _EVENTS
    )
    + "data: [DONE]\n\n"
).encode()
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%b" % (len(_BODY), _BODY)
)


@dataclass
class Arrival:
    first_byte: float  # time.monotonic() when the request's first bytes arrived
    body_bytes: int
    messages: int


class ArrivalServer:
    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.arrivals: list[Arrival] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/v1"

    def __enter__(self) -> ArrivalServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        self._thread.join(timeout=2)

    def take(self) -> list[Arrival]:
        with self._lock:
            out, self.arrivals = self.arrivals, []
        return out

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = conn.recv(1 << 16)
            first = time.monotonic()
            while b"\r\n\r\n" not in data:
                more = conn.recv(1 << 16)
                if not more:
                    return
                data += more
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            while len(body) < length:
                more = conn.recv(1 << 20)
                if not more:
                    break
                body += more
            if head.startswith(b"POST"):
                try:
                    messages = len(json.loads(body).get("messages", []))
                except ValueError:
                    messages = -1
                with self._lock:
                    self.arrivals.append(Arrival(first, len(body), messages))
                conn.sendall(_RESPONSE)
            else:
                conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
