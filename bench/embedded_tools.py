"""Can the embedded model call tools? llama-cpp-python's server with the
``chatml-function-calling`` chat format (its function calling for ChatML
models, which SmolLM2 is), the bundled SmolLM2-135M, and M requests that
each offer tools and ask for one of them, as copilot-repl's openai provider
sends them (``tools``, no ``tool_choice``: the model chooses). A try counts
as a valid call when the reply has a call of the right tool whose arguments
are a JSON object with the required fields, of the right types.

    python bench/embedded_tools.py [--tries M] [--choice auto|required]

Prints one line per try and the count (recorded in bench/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from typing import Any

import httpx

from copilot_repl.providers.local import bundled_model_path, cpu_count

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "The city"}},
            "required": ["city"],
        },
    },
}
ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}
CITIES = ["Paris", "Oslo", "Lima", "Tokyo", "Cairo", "Berlin", "Quito", "Delhi", "Rome", "Perth"]
SUMS = [(2, 40), (7, 5), (13, 29), (100, 1), (3, 4), (8, 8), (21, 21), (9, 1), (50, 6), (11, 12)]
# (prompt, the tool expected, a check of its arguments)
CASES: list[tuple[str, str, Any]] = [
    (f"What is the weather in {c}? Use the get_weather tool.", "get_weather",
     lambda a, c=c: a.get("city", "").lower() == c.lower())
    for c in CITIES
] + [
    (f"What is {x} plus {y}? Use the add tool.", "add",
     lambda a, x=x, y=y: a.get("a") == x and a.get("b") == y)
    for x, y in SUMS
]  # fmt: skip


def start(port: int) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "copilot_repl.providers.llama_server",
        "--model", str(bundled_model_path()), "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096",
        "--n_threads", str(cpu_count()), "--chat_format", "chatml-function-calling",
        "--verbose", "False",
    ]  # fmt: skip
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit("the llama.cpp server did not start")


def judge(reply: dict[str, Any], tool: str, check: Any) -> str:
    message = reply["choices"][0]["message"]
    calls = message.get("tool_calls") or []
    if not calls:
        return "no call: " + json.dumps((message.get("content") or "")[:60])
    call = calls[0]["function"]
    try:
        args = json.loads(call["arguments"])
    except ValueError:
        return f"bad JSON: {call['arguments'][:60]!r}"
    if call["name"] != tool:
        return f"wrong tool {call['name']}"
    if not isinstance(args, dict) or not check(args):
        return f"wrong arguments {json.dumps(args)[:60]}"
    return "valid"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=len(CASES))
    parser.add_argument("--choice", choices=["auto", "required"], default="auto")
    opts = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    proc = start(port)
    valid = 0
    try:
        wait_up(url, proc)
        for prompt, tool, check in CASES[: opts.tries]:
            body: dict[str, Any] = {
                "model": "smollm2",
                "messages": [{"role": "user", "content": prompt}],
                "tools": [WEATHER, ADD],
                "max_tokens": 128,
                "temperature": 0,
            }
            if opts.choice == "required":
                body["tool_choice"] = {"type": "function", "function": {"name": tool}}
            try:
                reply = httpx.post(f"{url}/chat/completions", json=body, timeout=300).json()
                verdict = judge(reply, tool, check)
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                verdict = f"error: {type(exc).__name__}: {str(exc)[:60]}"
            valid += verdict == "valid"
            print(f"{prompt[:48]:48}  {verdict}", flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    n = min(opts.tries, len(CASES))
    print(f"valid calls: {valid} of {n} (tool_choice {opts.choice}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
