"""A thousand users in one process, through the Python API (``make bench``:
users). One child program per measurement, so each starts from a fresh
interpreter:

    python bench/many_users.py resident N URL
        N sessions created and kept open: the process's resident memory
        (VmRSS) before the first and after the last, in kB.
    python bench/many_users.py stream N DELTAS URL
        N sessions each send one prompt at once and wait for its reply of
        DELTAS deltas: the wall time from the first send to the last reply
        (and the process's CPU time over it). The sessions are created
        before, which loads their provider's HTTP client, as the floor
        makes its client before its clock starts.
    python bench/many_users.py floor N DELTAS URL
        The floor of ``stream``: N concurrent bare async httpx streams of the
        same request (httpx.AsyncClient, aiter_lines, json.loads per event).
    python bench/many_users.py probe N DELTAS URL PROBE_URL
        N - 1 sessions stream long replies from URL; then one more session
        sends to PROBE_URL (bench/arrival.py notes when its request arrives):
        prints the monotonic time of that send, for the caller to subtract.
        Another session has used PROBE_URL's provider once before.
    python bench/many_users.py probe-floor N DELTAS URL PROBE_URL
        The floor of ``probe``: N - 1 bare async httpx streams (as ``floor``),
        then one bare request to PROBE_URL from a client used once before.

Prints one JSON object. COPILOT_REPL_HOME must name a scratch dir.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def configure(url: str, probe_url: str = "") -> None:
    """Providers for the run: ``bench`` (URL) and ``probe``, both allowing
    every session a request at once (a server for one user per session)."""
    home = Path(os.environ["COPILOT_REPL_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    text = f'[providers.bench]\nbase_url = "{url}"\nmax_parallel = 1024\n'
    if probe_url:
        text += f'[providers.probe]\nbase_url = "{probe_url}"\nmax_parallel = 8\n'
    (home / "config.toml").write_text(text)


async def resident(n: int, url: str) -> dict[str, Any]:
    from copilot_repl.api.client import CopilotClient

    configure(url)
    async with CopilotClient() as client:
        first = await client.create_session(model="bench:m", streaming=True)
        before = rss_kb()
        sessions = [first]
        for _ in range(n - 1):
            sessions.append(await client.create_session(model="bench:m", streaming=True))
        after = rss_kb()
        return {"before_kb": before, "after_kb": after, "sessions": len(sessions)}


async def stream(n: int, deltas: int, url: str) -> dict[str, Any]:
    from copilot_repl.api.client import CopilotClient

    configure(url)
    async with CopilotClient() as client:
        sessions = [await client.create_session(model="bench:m") for _ in range(n)]
        t0, c0 = time.perf_counter(), time.process_time()
        replies = await asyncio.gather(
            *(s.send_and_wait(f"go #deltas={deltas}", timeout=600) for s in sessions)
        )
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sizes = [len(r.data.content) if r is not None else 0 for r in replies]
    return {"wall": wall, "cpu": cpu, "chars": sum(sizes), "empty": sizes.count(0)}


def _body(prompt: str) -> dict[str, Any]:
    return {
        "model": "m",
        "messages": [{"role": "user", "content": prompt}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }


async def _bare_stream(http: Any, url: str, body: dict[str, Any], on_event: Any = None) -> int:
    """One bare streamed request: aiter_lines, json.loads per event."""
    got = 0
    async with http.stream("POST", f"{url}/chat/completions", json=body) as resp:
        async for line in resp.aiter_lines():
            if not line.startswith("data:") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[5:]).get("choices") or ():
                got += len((choice.get("delta") or {}).get("content") or "")
            if on_event is not None:
                on_event()
    return got


async def floor(n: int, deltas: int, url: str) -> dict[str, Any]:
    import httpx

    body = _body(f"go #deltas={deltas}")

    async def one(http: httpx.AsyncClient) -> int:
        return await _bare_stream(http, url, body)

    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    async with httpx.AsyncClient(timeout=600, limits=limits) as http:
        t0, c0 = time.perf_counter(), time.process_time()
        sizes = await asyncio.gather(*(one(http) for _ in range(n)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"wall": wall, "cpu": cpu, "chars": sum(sizes), "empty": sizes.count(0)}


async def probe(n: int, deltas: int, url: str, probe_url: str) -> dict[str, Any]:
    from copilot_repl.api.client import CopilotClient

    configure(url, probe_url)
    async with CopilotClient() as client:
        busy = [await client.create_session(model="bench:m", streaming=True) for _ in range(n - 1)]
        last = await client.create_session(model="probe:m", streaming=True)
        # the probe's provider already in use, as a server's would be (its
        # first request also builds its HTTP client: ~0.3 s, measured apart)
        await (await client.create_session(model="probe:m")).send_and_wait("hi", timeout=60)
        started = asyncio.Event()
        streaming: set[str] = set()

        def seen(session_id: str) -> Any:
            def on(event: Any) -> None:
                if event.type == "assistant.message_delta":
                    streaming.add(session_id)
                    if len(streaming) == len(busy):
                        started.set()

            return on

        for s in busy:
            s.on(seen(s.session_id))
        if not busy:
            started.set()
        prompt = f"go #deltas={deltas}"
        waits = [asyncio.ensure_future(s.send_and_wait(prompt, timeout=600)) for s in busy]
        await asyncio.wait_for(started.wait(), 300)  # all of them mid-reply
        still = sum(not w.done() for w in waits)
        sent = time.monotonic()
        await last.send_and_wait("one more question", timeout=60)
        await asyncio.gather(*waits)
    return {"sent": sent, "streaming_when_sent": still}


async def probe_floor(n: int, deltas: int, url: str, probe_url: str) -> dict[str, Any]:
    """The floor of ``probe``: N - 1 bare async httpx streams, then one more
    bare request to PROBE_URL from its own client (used once before)."""
    import httpx

    limits = httpx.Limits(max_connections=n + 8, max_keepalive_connections=n + 8)
    async with (
        httpx.AsyncClient(timeout=600, limits=limits) as http,
        httpx.AsyncClient(timeout=60) as other,
    ):
        await _bare_stream(other, probe_url, _body("hi"))
        started = asyncio.Event()
        streaming: set[int] = set()

        def seen(i: int) -> Any:
            def on() -> None:
                streaming.add(i)
                if len(streaming) == n - 1:
                    started.set()

            return on

        body = _body(f"go #deltas={deltas}")
        runs = (_bare_stream(http, url, body, seen(i)) for i in range(n - 1))
        waits = [asyncio.ensure_future(r) for r in runs]
        await asyncio.wait_for(started.wait(), 300)
        sent = time.monotonic()
        await _bare_stream(other, probe_url, _body("one more question"))
        still = sum(not w.done() for w in waits)
        await asyncio.gather(*waits)
    return {"sent": sent, "streaming_when_sent": still}


def main(argv: list[str]) -> dict[str, Any]:
    mode = argv[0]
    if mode == "resident":
        return asyncio.run(resident(int(argv[1]), argv[2]))
    if mode == "stream":
        return asyncio.run(stream(int(argv[1]), int(argv[2]), argv[3]))
    if mode == "floor":
        return asyncio.run(floor(int(argv[1]), int(argv[2]), argv[3]))
    if mode == "probe-floor":
        return asyncio.run(probe_floor(int(argv[1]), int(argv[2]), argv[3], argv[4]))
    if mode == "probe":
        return asyncio.run(probe(int(argv[1]), int(argv[2]), argv[3], argv[4]))
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
