"""The OpenAI Chat Completions wire format, as pure functions: server-sent
events read with bounds (``SSEReader``), one ``chat.completion.chunk``
checked and parsed (``parse_chunk``), error bodies, ``/models`` answers and
``Retry-After``. No I/O here: ``openai.py`` feeds it what httpx reads."""

from __future__ import annotations

import email.utils
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any, NoReturn

from copilot_repl.errors import StreamError
from copilot_repl.sanitize import one_line

if TYPE_CHECKING:
    import httpx

MAX_WAIT = 60.0  # the longest wait between retries, whatever Retry-After says
MAX_TOKENS = 2**53  # a token count above this is not one
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# json.loads less its whitespace matches (as history/records.py reads its lines)
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _loads(data: str) -> Any:
    """``json.loads(data)``: a value alone is scanned directly (once per
    event: json.loads's own steps were ~10% of a reply); anything else
    (whitespace around it, not JSON) goes through json.loads, its errors too."""
    try:
        obj, end = _scan(data, 0)
    except (StopIteration, ValueError, RecursionError):
        return json.loads(data)
    return obj if end == len(data) else json.loads(data)


@dataclass(slots=True)
class Chunk:
    """What one ``chat.completion.chunk`` says."""

    text: str = ""
    finish: str | None = None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    progress: bool = False  # it carried text, reasoning or a finish (not a keep-alive)
    reasoning: int = 0  # characters of reasoning it carried (shown nowhere, but counted)
    # pieces of tool calls: (index, id, name, arguments piece), in order
    tool_calls: list[tuple[int, str, str, str]] | None = None


# -- the event stream ---------------------------------------------------------------


class SSEReader:
    """Server-sent events from pieces of text, as ``(event, data)`` pairs.

    Lines end in CR, LF or CRLF (also split across pieces, empty ones
    included); a byte-order mark opening the stream is dropped; ``data:``
    lines are joined with LF, comments (``: keep-alive``) and other fields
    are skipped. A line or an event longer than ``limit`` characters is a
    ``StreamError``: a server cannot make us hold an endless event.
    """

    def __init__(self, limit: int, name: str) -> None:
        self.limit = limit
        self.name = name
        self._line: list[str] = []  # the unfinished line, in pieces
        self._line_size = 0
        self._cr = False  # the last piece ended in CR (an LF may follow)
        self._opened = False  # some text came (a byte-order mark only opens it)
        self._event = ""
        self._data: list[str] = []
        self._size = 0

    def feed(self, text: str) -> list[tuple[str, str]]:
        if not self._opened and text:
            self._opened = True
            text = text.removeprefix("\ufeff")
        if not text:
            return []  # a CR before it still waits for its LF
        if self._cr and text.startswith("\n"):
            text = text[1:]
        self._cr = False
        if "\r" in text:  # every line end as LF; a CR last may have its LF next time
            self._cr = text.endswith("\r")
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")  # str.split: the regex's per-line cost was ~10% of a reply
        rest = lines.pop()
        out: list[tuple[str, str]] = []
        if lines and self._line:
            self._line.append(lines[0])
            lines[0] = "".join(self._line)
            self._line.clear()
            self._line_size = 0
        for line in lines:  # the two lines of most events inline, the rest in _field
            if not line:
                if self._data:
                    data = self._data
                    out.append((self._event, data[0] if len(data) == 1 else "\n".join(data)))
                    self._data = []
                self._event, self._size = "", 0
            elif line.startswith("data: "):
                value = line[6:]
                self._data.append(value)
                self._size += len(value) + 1
                if self._size > self.limit:
                    self._too_big()
            else:
                self._field(line, out)
        if rest:
            self._line.append(rest)
            self._line_size += len(rest)
            if self._line_size > self.limit:
                self._too_big()
        return out

    def close(self) -> list[tuple[str, str]]:
        """Events left at the end of the stream (an unterminated last event)."""
        out: list[tuple[str, str]] = []
        if self._line:
            self._field("".join(self._line), out)
            self._line.clear()
        self._field("", out)
        return out

    def _field(self, line: str, out: list[tuple[str, str]]) -> None:
        if not line:
            if self._data:
                out.append((self._event, "\n".join(self._data)))
            self._event, self._data, self._size = "", [], 0
            return
        if line.startswith(":"):
            return
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            self._data.append(value)
            self._size += len(value) + 1
            if self._size > self.limit:
                self._too_big()
        elif name == "event":
            self._event = value

    def _too_big(self) -> NoReturn:
        raise StreamError(
            f"malformed data in the stream from {self.name}: "
            f"an event longer than {self.limit:,} characters"
        )


def parse_chunk(
    data: str, name: str, event: str = "", started: bool = False, merge_choices: bool = False
) -> Chunk:
    """One event's data as a ``Chunk``; ``StreamError`` for anything that is
    not a chunk (or an error the server reports). ``merge_choices``: the
    Copilot API sends consecutive assistant messages of one reply as choices
    0, 1, ... (text in one, tool calls in the next), which make one reply;
    elsewhere a choice past the first is another of n replies, ignored."""
    try:
        obj: Any = _loads(data)
    except (ValueError, RecursionError):
        if event == "error":
            _reported(name, one_line(data, 300) or "no message", started)
        _malformed(name, data, "not JSON")
    if event == "error" or (isinstance(obj, dict) and obj.get("error") is not None):
        _reported(name, _error_text(obj), started)
    if not isinstance(obj, dict):
        _malformed(name, data, "not an object")
    chunk = Chunk()
    usage = obj.get("usage")
    if isinstance(usage, dict):  # a usage of another shape is ignored
        chunk.completion_tokens = _count(usage.get("completion_tokens"))
        chunk.prompt_tokens = _count(usage.get("prompt_tokens"))
    choices = obj.get("choices")
    if choices is None:
        return chunk
    if not isinstance(choices, list):
        _malformed(name, data, "choices is not a list")
    for choice in choices:
        _apply_choice(choice, chunk, name, data, merge_choices)
    return chunk


def _apply_choice(choice: Any, chunk: Chunk, name: str, data: str, merge: bool = False) -> None:
    if not isinstance(choice, dict):
        _malformed(name, data, "a choice is not an object")
    number = choice.get("index")
    offset = 0
    if number not in (0, None):
        if not merge or not isinstance(number, int) or not 0 < number < 64:
            return  # another of n choices: only the first is the reply
        offset = number * 1024  # its tool calls come after those of the choices before it
    delta = choice.get("delta")
    if delta is None:
        delta = {}
    if not isinstance(delta, dict):
        _malformed(name, data, "delta is not an object")
    text = delta.get("content")
    if text is not None:
        if not isinstance(text, str):
            _malformed(name, data, "content is not a string")
        if not text.isascii() and _SURROGATE.search(text):
            _malformed(name, data, "content is not valid Unicode")
        chunk.text += text
    finish = choice.get("finish_reason")
    if finish is not None:
        if not isinstance(finish, str):
            _malformed(name, data, "finish_reason is not a string")
        chunk.finish = finish
    if text is not None and len(delta) == 1:  # most chunks: the content alone
        chunk.progress = chunk.progress or bool(text or finish or chunk.tool_calls)
        return
    calls = delta.get("tool_calls")
    if calls is not None:
        _apply_tool_calls(calls, chunk, name, data, offset)
    reasoning = delta.get("reasoning_content") or delta.get("reasoning")
    chunk.progress = chunk.progress or bool(
        text or finish or isinstance(reasoning, str) or chunk.tool_calls
    )
    if isinstance(reasoning, str):
        chunk.reasoning += len(reasoning)


def _apply_tool_calls(calls: Any, chunk: Chunk, name: str, data: str, offset: int = 0) -> None:
    """``delta.tool_calls``: the first piece of a call names it (``id``,
    ``function.name``), the next ones carry more of its ``arguments``."""
    if not isinstance(calls, list):
        _malformed(name, data, "tool_calls is not a list")
    pieces = chunk.tool_calls if chunk.tool_calls is not None else []
    for call in calls:
        if not isinstance(call, dict):
            _malformed(name, data, "a tool call is not an object")
        index = call.get("index", 0)
        function = call.get("function") or {}
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 1024:
            _malformed(name, data, "a tool call's index is not a small number")
        if not isinstance(function, dict):
            _malformed(name, data, "a tool call's function is not an object")
        ident, fname, args = (
            call.get("id") or "",
            function.get("name") or "",
            function.get("arguments") or "",
        )
        if not (isinstance(ident, str) and isinstance(fname, str) and isinstance(args, str)):
            _malformed(name, data, "a tool call's id, name or arguments is not a string")
        if _SURROGATE.search(args + fname):
            _malformed(name, data, "a tool call is not valid Unicode")
        pieces.append((offset + index, ident, fname, args))
    chunk.tool_calls = pieces


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_TOKENS:
        return value
    return None


def _malformed(name: str, data: str, what: str) -> NoReturn:
    raise StreamError(f"malformed data in the stream from {name}: {data[:60]!r} ({what})")


def _reported(name: str, message: str, started: bool) -> NoReturn:
    when = "in the middle of the reply" if started else "before the reply started"
    raise StreamError(f"{name} reported an error {when}: {message}")


# -- answers that are not a stream ------------------------------------------------------


def _check_event_stream(resp: httpx.Response, url: str) -> None:
    ctype = resp.headers.get("content-type", "")
    if "text/event-stream" in ctype:
        return
    kind = "an HTML page" if "html" in ctype else f"{one_line(ctype, 60) or 'untyped data'}"
    raise StreamError(f"{url} answered with {kind} instead of an event stream (wrong --base-url?)")


def _error_text(obj: Any) -> str:
    """The message in an error body of any of the usual shapes, on one line."""
    err = obj
    if isinstance(err, dict):
        err = next((err[k] for k in ("error", "message", "detail") if err.get(k)), err)
    if isinstance(err, dict):
        err = err.get("message") or err.get("detail") or err
    try:
        text = err if isinstance(err, str) else json.dumps(err, ensure_ascii=False)
    except (ValueError, RecursionError):
        text = ""
    return one_line(text, 300) or "no message"


def _error_message(raw: bytes, status: int) -> str:
    text = raw.decode("utf-8", "replace").strip()
    try:
        return _error_text(json.loads(text))
    except (ValueError, RecursionError):
        if "<html" in text[:200].lower():
            title = re.search(r"<title>(.*?)</title>", text, re.I | re.S)
            shown = one_line(title.group(1), 100) if title else "no title"
            return f"an HTML error page ({shown})"
        return one_line(text, 300) or f"HTTP {status}"


def model_ids(raw: bytes) -> list[str] | None:
    """The model ids of a ``/models`` answer (``{"data": [{"id": ...}]}``, or a
    bare list of those or of names), in the server's order (its first is
    the default when only a server is named); None if it is not one."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    items = body.get("data") if isinstance(body, dict) else body
    if not isinstance(items, list):
        return None
    ids = [item.get("id") if isinstance(item, dict) else item for item in items]
    names = [one_line(i, 200) for i in ids if isinstance(i, str)]
    return names if len(names) == len(ids) else None


def retry_after(value: str | None) -> float:
    """Seconds a ``Retry-After`` header asks to wait, within ``0..MAX_WAIT``;
    0 (use the backoff) when absent, in the past, negative or not a number."""
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = _http_date_delay(value)
    if math.isnan(seconds) or seconds <= 0:
        return 0.0
    return min(seconds, MAX_WAIT)


def _http_date_delay(value: str) -> float:
    try:
        when = email.utils.parsedate_to_datetime(value)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp() - time.time()
    except (TypeError, ValueError, IndexError, OverflowError):
        return 0.0
