"""Property-based tests of what the provider parses from a server: chunks,
the event stream, error bodies, model lists and Retry-After. Whatever the
input, the only error is the documented one (``StreamError``), and what is
returned has the documented shape."""

from __future__ import annotations

import json
import math
import string
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_repl.errors import StreamError
from copilot_repl.providers.wire import (
    MAX_TOKENS,
    MAX_WAIT,
    Chunk,
    SSEReader,
    _error_message,
    model_ids,
    parse_chunk,
    retry_after,
)
from copilot_repl.sanitize import REDACTED, redact

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
field_values = json_values | st.sampled_from(["\ud800", "text", "", "stop", "length"])
# Chunks near the documented shape, with any value in any place.
near_chunks = st.fixed_dictionaries(
    {},
    optional={
        "choices": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "index": field_values,
                    "delta": st.fixed_dictionaries(
                        {}, optional={"content": field_values, "role": field_values}
                    )
                    | field_values,
                    "finish_reason": field_values,
                },
            )
            | field_values,
            max_size=3,
        )
        | field_values,
        "usage": st.fixed_dictionaries(
            {},
            optional={"completion_tokens": field_values, "prompt_tokens": field_values},
        )
        | field_values,
        "error": field_values,
    },
)
events = st.sampled_from(["", "message", "error", "ping"]) | st.text(max_size=10)


def check(data: str, event: str) -> None:
    try:
        chunk = parse_chunk(data, "fuzz", event)
    except StreamError as exc:
        assert "\n" not in str(exc)
        return
    assert isinstance(chunk, Chunk)
    assert isinstance(chunk.text, str)
    chunk.text.encode("utf-8")  # never a lone surrogate
    assert chunk.finish is None or isinstance(chunk.finish, str)
    for count in (chunk.completion_tokens, chunk.prompt_tokens):
        assert count is None or (type(count) is int and 0 <= count < MAX_TOKENS)


@given(st.text(), events)
def test_parse_chunk_of_any_text(data: str, event: str) -> None:
    check(data, event)


@given(json_values, events)
def test_parse_chunk_of_any_json(value: Any, event: str) -> None:
    check(json.dumps(value), event)


@given(near_chunks, events)
@settings(max_examples=500)
def test_parse_chunk_of_near_chunks(value: dict[str, Any], event: str) -> None:
    check(json.dumps(value), event)


def parsed(value: Any, event: str) -> Chunk | str:
    try:
        return parse_chunk(json.dumps(value), "fuzz", event)
    except StreamError as exc:
        return str(exc).split(": ", 1)[0]  # the kind of error, not the data it quotes


@given(
    st.one_of(st.none(), field_values),
    st.one_of(st.none(), field_values),
    st.sampled_from([0, None, 1, True]),
    events,
)
@settings(max_examples=500)
def test_a_key_that_says_nothing_does_not_change_what_a_delta_says(
    content: Any, finish: Any, index: Any, event: str
) -> None:
    """A delta of its content alone is read by a shortcut (most chunks); with
    a ``role`` or an unknown key beside it, by the general path: both the
    same, whatever the values."""
    choice: dict[str, Any] = {"index": index, "delta": {"content": content}}
    if finish is not None:
        choice["finish_reason"] = finish
    alone = parsed({"choices": [choice]}, event)
    for extra in ({"role": "assistant"}, {"x_note": 1}, {"tool_calls": None}):
        other = {**choice, "delta": {**extra, "content": content}}
        assert parsed({"choices": [other]}, event) == alone


@given(st.lists(st.text(max_size=30), max_size=12), st.data())
def test_sse_reader_is_the_same_however_the_text_is_split(
    lines: list[str], data: st.DataObject
) -> None:
    """Events do not depend on where the network cut the text, CRLF included."""
    eol = data.draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = "".join(line + eol for line in lines)
    whole = _events([text])
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=6)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    assert _events(pieces) == whole


def _events(pieces: list[str], limit: int = 10_000) -> list[tuple[str, str]] | str:
    reader = SSEReader(limit, "fuzz")
    out: list[tuple[str, str]] = []
    try:
        for piece in pieces:
            out.extend(reader.feed(piece))
        out.extend(reader.close())
    except StreamError as exc:
        return str(exc)
    return out


@given(st.lists(st.text(), max_size=8), st.integers(1, 50))
def test_sse_reader_never_holds_more_than_its_limit(pieces: list[str], limit: int) -> None:
    result = _events(pieces, limit)
    if isinstance(result, str):
        assert "an event longer than" in result
    else:
        assert all(len(data) <= limit for _, data in result)


def test_sse_reader_fields() -> None:
    text = ": keep-alive\n\nevent: error\ndata: a\ndata:b\nid: 7\n\ndata: [DONE]"
    assert _events([text]) == [("error", "a\nb"), ("", "[DONE]")]


@given(st.text())
def test_retry_after_of_any_header_is_a_bounded_wait(header: str) -> None:
    wait = retry_after(header)
    assert math.isfinite(wait) and 0.0 <= wait <= MAX_WAIT


@given(st.binary() | st.builds(lambda v: json.dumps(v).encode(), json_values), st.integers())
def test_error_message_of_any_body_is_one_short_line(raw: bytes, status: int) -> None:
    msg = _error_message(raw, status)
    assert msg and "\n" not in msg and len(msg) <= 301


@given(st.binary() | st.builds(lambda v: json.dumps({"data": v}).encode(), json_values))
def test_model_ids_of_any_body(raw: bytes) -> None:
    ids = model_ids(raw)
    assert ids is None or all(isinstance(i, str) and "\n" not in i for i in ids)


@given(
    st.text(),
    st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8),
)
def test_redact_never_leaves_a_known_secret(text: str, secret: str) -> None:
    if secret in REDACTED:
        return
    half = len(text) // 2
    assert secret not in redact(text[:half] + secret + text[half:], [secret])


# -- the event stream, as servers write it ---------------------------------------------
# A value on a field line: any text but a line end.
field_text = st.text(st.characters(exclude_characters="\r\n"), max_size=12)
fields = st.one_of(
    st.tuples(st.just("data"), field_text),
    st.tuples(st.just("event"), field_text),
    st.tuples(st.sampled_from(["id", "retry", "x-other", ""]), field_text),  # ignored
)


@st.composite
def sse_streams(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]]]:
    """Server-sent events as a server may write them, in pieces as a network
    may cut them (empty pieces too), with the events they hold."""
    events = draw(st.lists(st.lists(fields, max_size=5), max_size=5))
    lines: list[str] = []
    expected: list[tuple[str, str]] = []
    for n, block in enumerate(events):
        kind, data = "", []
        for name, value in block:
            if draw(st.booleans()):
                lines.append(": keep-alive " + value)  # a comment, anywhere
            space = " " if value.startswith(" ") or draw(st.booleans()) else ""
            lines.append(f"{name}:{space}{value}" if name else f":{space}{value}")
            if name == "data":
                data.append(value)
            elif name == "event":
                kind = value
        if data:
            expected.append((kind, "\n".join(data)))
        if n < len(events) - 1 or draw(st.booleans()):  # the last may end with the stream
            lines.append("")
    text = "\ufeff" if draw(st.booleans()) else ""  # a byte-order mark may open it
    previous = ""
    for line in lines:
        ends = ["\n", "\r\n", "\r"]
        if previous == "\r" and not line:
            ends = ["\r\n", "\r"]  # CR, then LF, would be one CRLF
        previous = draw(st.sampled_from(ends))
        text += line + previous
    cuts = draw(st.lists(st.integers(0, len(text)), max_size=8))
    after_cr = [k + 1 for k, c in enumerate(text) if c == "\r"]
    if after_cr:  # where a cut is hardest to get right
        cuts += draw(st.lists(st.sampled_from(after_cr), max_size=3))
    cuts.sort()
    pieces = []
    for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True):
        pieces += [text[a:b], ""] if draw(st.booleans()) else [text[a:b]]
    return pieces, expected


@given(sse_streams())
@settings(max_examples=500)
def test_sse_reader_reads_the_events_a_server_wrote(
    stream: tuple[list[str], list[tuple[str, str]]],
) -> None:
    pieces, expected = stream
    assert _events(pieces) == expected


def test_sse_reader_an_empty_piece_between_cr_and_lf_ends_one_line() -> None:
    assert _events(["data: a\r", "", "\ndata: b\r\n\r\n"]) == [("", "a\nb")]


def test_sse_reader_strips_a_byte_order_mark_opening_the_stream() -> None:
    assert _events(["\ufeffdata: a\n\n"]) == [("", "a")]
    assert _events(["", "\ufeff", "data: a\n\n"]) == [("", "a")]
    # only the first: later, it is part of a field's name
    assert _events(["data: a\n\n\ufeffdata: b\n\n"]) == [("", "a")]
