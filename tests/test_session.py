"""Pure functions over sessions: names, free names, history trimming, API messages."""

from __future__ import annotations

import pytest

from copilot_repl.errors import BadSessionName, UserError
from copilot_repl.history.messages import (
    DONE,
    INTERRUPTED,
    Message,
    api_messages,
    estimate_tokens,
    trim_history,
)
from copilot_repl.history.names import free_name, validate_name


@pytest.mark.parametrize(
    "name",
    ["main", "a", "A1", "chat-1", "my_chat.v2", "0", "x" * 64, "a..b", "con1", "console"],
)
def test_valid_names_are_returned_unchanged(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "../etc",
        "a/b",
        "a\\b",
        ".hidden",
        "",
        "x" * 65,
        "a\x00b",
        "\x00",
        "con",
        "CON",
        "con.txt",
        "nul",
        "com1",
        "lpt9",
        "-dash",
        "_under",
        "has space",
        "tab\t",
        "new\nline",
        "é",
        "/abs",
        "..",
        ".",
        "~",
    ],
)
def test_invalid_names_are_refused(name: str) -> None:
    with pytest.raises(BadSessionName) as info:
        validate_name(name)
    message = str(info.value)
    assert "\n" not in message and "\x00" not in message
    assert isinstance(info.value, UserError)


def test_empty_name_message_says_empty() -> None:
    with pytest.raises(BadSessionName, match="empty"):
        validate_name("")


def test_reserved_name_message_says_reserved() -> None:
    with pytest.raises(BadSessionName, match="reserved"):
        validate_name("con")


def test_nul_is_shown_visibly_not_raw() -> None:
    with pytest.raises(BadSessionName) as info:
        validate_name("a\x00b")
    assert "a\\\\0b" in str(info.value) or "a\\0b" in str(info.value)


def test_free_name_picks_the_first_gap() -> None:
    assert free_name([]) == "chat-1"
    assert free_name(["chat-1", "chat-2", "main"]) == "chat-3"
    assert free_name(["chat-2"]) == "chat-1"
    assert free_name(["x-1"], base="x") == "x-2"
    assert validate_name(free_name(["chat-1"])) == "chat-2"


def _msgs(*contents: str) -> list[Message]:
    roles = ("user", "assistant")
    return [Message(roles[i % 2], text) for i, text in enumerate(contents)]


def test_trim_history_keeps_everything_when_it_fits() -> None:
    msgs = _msgs("hello", "hi", "how are you", "fine")
    kept, dropped = trim_history(msgs, "be brief", 10_000)
    assert kept == msgs
    assert dropped == 0


def test_trim_history_empty() -> None:
    assert trim_history([], "system", 10) == ([], 0)


def test_trim_history_drops_oldest_first_and_counts_them() -> None:
    big = "x" * 400  # about 104 tokens each
    msgs = _msgs("old-" + big, "old-reply-" + big, "mid-" + big, "mid-reply-" + big, "new")
    budget = estimate_tokens("new") + 2 * estimate_tokens("mid-" + big) + 5
    kept, dropped = trim_history(msgs, "", budget)
    assert [m.content for m in kept] == [m.content for m in msgs[2:]]
    assert dropped == 2
    assert kept[-1].content == "new"


def test_trim_history_counts_the_system_prompt() -> None:
    big = "y" * 400
    msgs = _msgs("a-" + big, "b-" + big, "c")
    budget = estimate_tokens("c") + estimate_tokens("b-" + big) + estimate_tokens("a-" + big)
    kept, dropped = trim_history(msgs, "", budget)
    assert dropped == 0
    kept, dropped = trim_history(msgs, "s" * 400, budget)
    assert dropped >= 1
    assert kept[-1].content == "c"


def test_trim_history_always_keeps_the_newest_message_even_over_budget() -> None:
    msgs = _msgs("old", "reply", "z" * 100_000)
    kept, dropped = trim_history(msgs, "system prompt", 10)
    assert [m.content for m in kept] == ["z" * 100_000]
    assert dropped == 2


def test_trim_history_never_starts_with_an_assistant_reply() -> None:
    big = "q" * 400
    msgs = _msgs("u1-" + big, "a1-" + big, "u2", "a2", "u3")
    # room for a1 and the rest, but a1 answers nothing once u1 is dropped
    budget = sum(estimate_tokens(m.content) for m in msgs[1:])
    kept, dropped = trim_history(msgs, "", budget)
    assert kept[0].role == "user"
    assert [m.content for m in kept] == ["u2", "a2", "u3"]
    assert dropped == 2
    assert dropped + len(kept) == len(msgs)


def test_api_messages_puts_the_system_prompt_first() -> None:
    msgs = _msgs("hello", "hi there")
    assert api_messages("be brief", msgs) == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "hello"},
        {"role": "assistant", "content": "hi there"},
    ]


def test_api_messages_without_system_prompt() -> None:
    assert api_messages("", _msgs("hello")) == [{"role": "user", "content": "hello"}]


def test_api_messages_skips_empty_replies_and_extra_fields() -> None:
    msgs = [
        Message("user", "q1", ts=1.0),
        Message("assistant", "", status=INTERRUPTED),
        Message("user", "q2"),
        Message("assistant", "partial", status=INTERRUPTED, model="openai:x", tokens=3),
    ]
    out = api_messages("", msgs)
    assert out == [
        {"role": "user", "content": "q1"},
        {"role": "user", "content": "q2"},
        {"role": "assistant", "content": "partial"},
    ]
    assert all(set(m) == {"role", "content"} for m in out)


def test_message_defaults() -> None:
    m = Message("user", "x")
    assert m.status == DONE
    assert m.to_api() == {"role": "user", "content": "x"}
