"""The floors: the least a client can do to print a streamed reply.

Each is a ``python -c`` program (so interpreter start is counted as it is for
copilot-repl) taking the base URL and the prompt as arguments, sending the
same request body copilot-repl sends, and writing every delta to stdout.
"""

from __future__ import annotations

SYNC_FLOOR = """\
import json, sys
import httpx
from httpx_sse import connect_sse
url, prompt = sys.argv[1], sys.argv[2]
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}],
        "stream": True, "stream_options": {"include_usage": True}}
out = sys.stdout
with httpx.Client(timeout=60) as client:
    with connect_sse(client, "POST", url + "/chat/completions", json=body) as source:
        for event in source.iter_sse():
            if event.data == "[DONE]":
                break
            for choice in json.loads(event.data).get("choices") or ():
                text = (choice.get("delta") or {}).get("content")
                if text:
                    out.write(text)
out.write("\\n")
out.flush()
"""

ASYNC_FLOOR = """\
import asyncio, json, sys
import httpx
from httpx_sse import aconnect_sse
url, prompt = sys.argv[1], sys.argv[2]
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}],
        "stream": True, "stream_options": {"include_usage": True}}

async def main() -> None:
    out = sys.stdout
    async with httpx.AsyncClient(timeout=60) as client:
        async with aconnect_sse(client, "POST", url + "/chat/completions", json=body) as source:
            async for event in source.aiter_sse():
                if event.data == "[DONE]":
                    break
                for choice in json.loads(event.data).get("choices") or ():
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        out.write(text)
    out.write("\\n")
    out.flush()

asyncio.run(main())
"""

# The least a streaming client can do (issue 26's floor): httpx.stream,
# iter_lines, json.loads per event, each delta written and flushed as it
# arrives. Faster than SYNC_FLOOR, whose httpx-sse parses each event fully.
BARE_FLOOR = """\
import json, sys
import httpx
url, prompt = sys.argv[1], sys.argv[2]
body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}],
        "stream": True, "stream_options": {"include_usage": True}}
out = sys.stdout
with httpx.stream("POST", url + "/chat/completions", json=body, timeout=60) as resp:
    for line in resp.iter_lines():
        if not line.startswith("data:") or line == "data: [DONE]":
            continue
        for choice in json.loads(line[5:]).get("choices") or ():
            text = (choice.get("delta") or {}).get("content")
            if text:
                out.write(text)
                out.flush()
out.write("\\n")
out.flush()
"""

# One turn with one tool call: the request offering the tool, the streamed
# tool_calls assembled, the function run, the second request carrying the
# call and its result, the reply printed.
TOOL_FLOOR = """\
import json, sys
import httpx
from httpx_sse import connect_sse
url, prompt = sys.argv[1], sys.argv[2]
tools = [{"type": "function", "function": {"name": "add", "description": "Add two integers",
          "parameters": {"type": "object", "properties": {"a": {"type": "integer"},
                         "b": {"type": "integer"}}, "required": ["a", "b"]}}}]
messages = [{"role": "user", "content": prompt}]
out = sys.stdout
with httpx.Client(timeout=60) as client:
    for _ in range(2):
        body = {"model": "gpt-4o-mini", "messages": messages, "stream": True,
                "stream_options": {"include_usage": True}, "tools": tools}
        calls = {}
        with connect_sse(client, "POST", url + "/chat/completions", json=body) as source:
            for event in source.iter_sse():
                if event.data == "[DONE]":
                    break
                for choice in json.loads(event.data).get("choices") or ():
                    delta = choice.get("delta") or {}
                    if delta.get("content"):
                        out.write(delta["content"])
                    for call in delta.get("tool_calls") or ():
                        c = calls.setdefault(call["index"], {"id": "", "name": "", "args": ""})
                        c["id"] = c["id"] or call.get("id") or ""
                        fn = call.get("function") or {}
                        c["name"] = c["name"] or fn.get("name") or ""
                        c["args"] += fn.get("arguments") or ""
        if not calls:
            break
        wire = [{"id": c["id"], "type": "function",
                 "function": {"name": c["name"], "arguments": c["args"]}} for c in calls.values()]
        messages.append({"role": "assistant", "content": "", "tool_calls": wire})
        for c in calls.values():
            args = json.loads(c["args"])
            messages.append({"role": "tool", "tool_call_id": c["id"],
                             "content": str(args["a"] + args["b"])})
out.write("\\n")
out.flush()
"""

# The same turn through copilot_repl's API (a Tool with a plain handler: no
# pydantic, as the floor has none).
TOOL_REPL = """\
import asyncio, sys
from copilot_repl import CopilotClient
from copilot_repl.tools import Tool, ToolResult
url, prompt = sys.argv[1], sys.argv[2]

async def add(invocation):
    return ToolResult(str(invocation.arguments["a"] + invocation.arguments["b"]))

schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
          "required": ["a", "b"]}

async def main():
    async with CopilotClient(base_url=url) as client:
        session = await client.create_session(
            model="openai:gpt-4o-mini",
            tools=[Tool("add", "Add two integers", add, schema, skip_permission=True)])
        reply = await session.send_and_wait(prompt)
        sys.stdout.write(reply.data.content + "\\n")

asyncio.run(main())
"""

NOTHING = "pass"
IMPORTS = "import httpx, json"  # what any httpx client must load
