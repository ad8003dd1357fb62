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

NOTHING = "pass"
IMPORTS = "import httpx, json"  # what any httpx client must load
