"""Compaction of a session with tool rounds: a call and its result are
summarised together, the rounds kept are sent whole, and no request ever
holds a tool result without its call. Against the loopback server's
tool-calling model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fakeserver import FakeServer, Reply
from pydantic import BaseModel

from copilot_repl import CopilotClient
from copilot_repl.history.compact import plan
from copilot_repl.history.messages import Message
from copilot_repl.session import PermissionHandler
from copilot_repl.tools import define_tool


class CityParams(BaseModel):
    city: str


@define_tool(description="The weather in a city")
def get_weather(params: CityParams) -> str:
    return f"sunny in {params.city}"


def orphans(messages: list[dict[str, Any]]) -> list[str]:
    """Tool results whose call is not in an assistant message before them."""
    called: set[str] = set()
    out = []
    for m in messages:
        for call in m.get("tool_calls") or []:
            called.add(call["id"])
        if m["role"] == "tool" and m["tool_call_id"] not in called:
            out.append(m["tool_call_id"])
    return out


async def test_compaction_summarises_calls_with_their_results_and_keeps_pairs(
    server: FakeServer, home: Path
) -> None:
    async with CopilotClient(data_dir=str(home), base_url=server.url) as client:
        session = await client.create_session(
            session_id="trip",
            tools=[get_weather],
            on_permission_request=PermissionHandler.approve_all,
        )
        for city in ("Oslo", "Lima", "Pune", "Kyiv", "Baku", "Nuuk"):
            await session.send_and_wait(f'weather? #call=get_weather:{{"city":"{city}"}}')
        server.queue(Reply(text="SUMMARY: asked the weather of six cities"))
        compaction = await session.compact()
        asked = server.requests[-1]["body"]["messages"]
        await session.send_and_wait('and? #call=get_weather:{"city":"Rome"}')
        sent = [r["body"]["messages"] for r in server.requests[-2:]]
    assert [m["role"] for m in asked] == ["system", "user"]
    summarised = asked[-1]["content"]
    assert '(called the tool get_weather with {"city":"Oslo"}; result: sunny in Oslo)' in summarised
    assert 2 <= compaction.upto < 12
    for body in sent:  # the prompt's request, then the one carrying its tool result
        assert orphans(body) == []
        assert "sunny in Oslo" not in json.dumps(body[1:])  # summarised, not sent again
        assert "SUMMARY: asked the weather" in body[0]["content"]
    kept = [m for m in sent[0] if m["role"] == "tool"]
    assert kept and all(m["content"].startswith("sunny in ") for m in kept)


def test_the_plan_counts_a_replys_tool_rounds() -> None:
    big = {
        "text": "",
        "calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        "results": [{"tool_call_id": "c1", "content": "x" * 40_000, "ok": True}],
    }
    messages = [
        Message("user", "u0"),
        Message("assistant", "a0", tools=[big]),
        Message("user", "u1"),
        Message("assistant", "a1"),
        Message("user", "u2"),
        Message("assistant", "a2"),
    ]
    # the 10,000-token round does not fit in 1,000 tokens: it is summarised
    assert plan(messages, keep_tokens=1000, keep=2) == 2
