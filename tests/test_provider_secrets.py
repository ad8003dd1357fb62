"""Secrets: a key that cannot go in a header is named (never shown), no error
message carries a key or URL userinfo, child processes do not inherit our
secrets, and bidi controls are shown rather than obeyed."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply

from copilot_repl.config import BUILTIN_PROVIDERS, ProviderSettings
from copilot_repl.errors import AuthError, ConnectError, ProviderError
from copilot_repl.providers.childproc import Child, child_env
from copilot_repl.providers.copilot_cli import CliProcess, cli_env
from copilot_repl.providers.local import LocalServer
from copilot_repl.providers.openai import OpenAIProvider
from copilot_repl.sanitize import clean, one_line, redact

KEY = "sk-test-CANARY-9f8e7d6c5b4a3210"
SECRET = "hunter2-CANARY-pw"
DUMP_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


def provider(url: str, key: str | None = None) -> OpenAIProvider:
    config = ProviderSettings(
        name="openai", base_url=url, api_key_env="OPENAI_API_KEY", max_retries=0
    )
    return OpenAIProvider(config, {} if key is None else {"OPENAI_API_KEY": key})


async def send(p: OpenAIProvider) -> ProviderError:
    try:
        await p.stream("gpt-4o-mini", [{"role": "user", "content": "hi"}], print, print)
    except ProviderError as exc:
        return exc
    finally:
        await p.aclose()
    raise AssertionError("the request succeeded")


async def models(p: OpenAIProvider) -> ProviderError:
    try:
        await p.list_models()
    except ProviderError as exc:
        return exc
    finally:
        await p.aclose()
    raise AssertionError("the request succeeded")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the key is checked before use -----------------------------------------------------

BAD_KEYS = {
    "trailing CR": (KEY + "\r", "a control character (U+000D"),
    "trailing LF": (KEY + "\n", "a control character (U+000A"),
    "CRLF": (KEY + "\r\n", "a control character (U+000D"),
    "NUL": (KEY[:5] + "\x00" + KEY[5:], "a control character (U+0000"),
    "zero-width space": (KEY[:10] + "\u200b" + KEY[10:], "a control character (U+200B"),
    "BOM": ("\ufeff" + KEY, "a control character (U+FEFF"),
    "no-break space": (KEY + "\u00a0", "a space (U+00A0"),
    "inner space": (KEY[:8] + " " + KEY[8:], "a space (U+0020"),
    "curly quote": ("\u201c" + KEY + "\u201d", "a non-ASCII character (U+201C"),
}


@pytest.mark.parametrize(("key", "words"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
@pytest.mark.parametrize("call", [send, models], ids=["stream", "list_models"])
async def test_a_bad_key_is_named_and_never_sent(
    server: FakeServer, key: str, words: str, call: object
) -> None:
    assert callable(call)
    error = await call(provider(server.url, key))
    assert isinstance(error, AuthError)
    assert str(error).startswith(f"OPENAI_API_KEY contains {words}")
    assert KEY not in str(error) and KEY[:12] not in str(error)
    assert "\n" not in str(error)
    assert server.requests == [] and server.models_requests == 0


async def test_a_good_key_is_sent(server: FakeServer) -> None:
    p = provider(server.url, KEY)
    try:
        end = await p.stream("gpt-4o-mini", [{"role": "user", "content": "hi"}], print, print)
    finally:
        await p.aclose()
    assert end.text == "echo: hi"
    assert server.requests[0]["headers"]["authorization"] == f"Bearer {KEY}"


# -- no secret in any error ------------------------------------------------------------


async def test_a_server_quoting_the_key_is_redacted(server: FakeServer) -> None:
    server.queue(Reply(status=400, message=f"Incorrect API key provided: {KEY}."))
    error = await send(provider(server.url, KEY))
    assert "sk-test" not in str(error)
    assert str(error) == "openai answered HTTP 400: Incorrect API key provided: [redacted]."


async def test_a_server_quoting_another_key_shaped_value_is_redacted(server: FakeServer) -> None:
    other = "ghp_" + "A1b2" * 9
    server.queue(Reply(status=403, message=f"token {other} has no access"))
    error = await send(provider(server.url))
    assert other not in str(error) and "ghp_[redacted]" in str(error)


@pytest.mark.parametrize("call", [send, models], ids=["stream", "list_models"])
async def test_url_userinfo_is_redacted_and_models_says_cannot_connect(call: object) -> None:
    assert callable(call)
    port = closed_port()
    error = await call(provider(f"http://alice:{SECRET}@127.0.0.1:{port}/v1"))
    assert isinstance(error, ConnectError)
    assert SECRET not in str(error) and "alice" not in str(error)
    assert str(error).startswith(f"cannot connect to http://[redacted]@127.0.0.1:{port}/v1 (")
    assert str(error).endswith("check --base-url or the provider config")


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("Illegal header value b'Bearer sk-abcdefghijklmnop1234\\r'", "abcdefghijklmnop"),
        ("http://bob:p%40ss@host/v1 failed", "p%40ss"),
        ("https://user:pa@ss@host:8443/v1", "pa@ss"),
        ("GET https://x/v1/models?api_key=abc123secret&x=1", "abc123secret"),
        ("key sk-proj-AbCdEf0123456789xyz leaked", "AbCdEf0123456789xyz"),
        ("github_pat_11ABCDEFG0123456789_abcdefghijklmnop", "11ABCDEFG0123456789"),
        ("azure key 0123456789abcdef0123456789abcdef here", "0123456789abcdef0123456789abcdef"),
        ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA"),
    ],
)
def test_redact_removes_key_shaped_values(text: str, gone: str) -> None:
    assert gone not in redact(text)
    assert "[redacted]" in redact(text)


@pytest.mark.parametrize(
    "text",
    [
        "the model `qwen2.5-coder-32b-instruct` does not exist",
        "openai answered HTTP 500: token budget exceeded; basic plan",
        "cannot connect to http://127.0.0.1:8080/v1 (All connection attempts failed)",
    ],
)
def test_redact_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text


def test_redact_removes_known_secrets_with_or_without_whitespace() -> None:
    assert redact(f"x {KEY} y", [KEY + "\r\n"]) == "x [redacted] y"
    assert redact("short ab", ["ab"]) == "short ab"  # too short to be a secret


# -- child processes get a minimal environment -----------------------------------------


def test_child_env_keeps_what_a_program_needs_and_no_secret() -> None:
    source = {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "XDG_CACHE_HOME": "/c",
        "OPENAI_API_KEY": KEY,
        "GITHUB_TOKEN": KEY,
        "AWS_SECRET_ACCESS_KEY": KEY,
        "KEEP_ME": "1",
    }
    env = child_env(source, keep=["KEEP_ME"], extra={"SET": "2"})
    assert env == {
        "PATH": "/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": "/tmp/x",
        "XDG_CACHE_HOME": "/c",
        "KEEP_ME": "1",
        "SET": "2",
    }


def secret_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "GITHUB_TOKEN", "ANTHROPIC_API_KEY", "MY_DB_PASSWORD"):
        monkeypatch.setenv(name, KEY)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")


async def test_a_child_process_never_sees_our_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_env(monkeypatch)
    child = Child()
    proc = await child.spawn(
        [sys.executable, "-c", DUMP_ENV],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    out = (await proc.stdout.read()).decode()
    await child.stop()
    assert KEY not in out
    env = json.loads(out)
    assert env["PATH"] == os.environ["PATH"] and env["LC_ALL"] == "C.UTF-8"


def test_cli_env_offline_byok_gets_no_github_token() -> None:
    source = {
        "PATH": "/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "OPENAI_API_KEY": KEY,
        "GITHUB_TOKEN": KEY,
        "COPILOT_GITHUB_TOKEN": KEY,
        "COPILOT_REPL_BYOK_1234_KEY": KEY,
        "COPILOT_HOME": "/data/copilot",
        "COPILOT_OFFLINE": "true",
        "COPILOT_PROVIDER_BASE_URL": "http://127.0.0.1:1/v1",
    }
    assert cli_env(source) == {
        "PATH": "/bin",
        "HTTPS_PROXY": "http://proxy:3128",
        "COPILOT_HOME": "/data/copilot",
        "COPILOT_OFFLINE": "true",
        "COPILOT_PROVIDER_BASE_URL": "http://127.0.0.1:1/v1",
    }


def test_cli_env_with_github_keeps_the_github_token_only() -> None:
    source = {"PATH": "/bin", "GH_TOKEN": "t", "OPENAI_API_KEY": KEY, "COPILOT_HOME": "/h"}
    assert cli_env(source) == {"PATH": "/bin", "GH_TOKEN": "t", "COPILOT_HOME": "/h"}


async def test_the_copilot_cli_process_never_sees_our_secrets(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    secret_env(monkeypatch)
    env = {**os.environ, "COPILOT_HOME": str(tmp_path), "COPILOT_OFFLINE": "true"}
    env["COPILOT_REPL_BYOK_1234_KEY"] = KEY
    process = CliProcess(Path(sys.executable), ["-c", DUMP_ENV], env)
    await process.spawn()
    assert process.proc is not None and process.proc.stdout is not None
    out = (await process.proc.stdout.read()).decode()
    await process.stop()
    assert KEY not in out
    seen = json.loads(out)
    assert seen["COPILOT_HOME"] == str(tmp_path)
    assert seen["COPILOT_CONNECTION_TOKEN"] == process.token


@pytest.mark.local
async def test_the_local_model_server_never_sees_our_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pytest.importorskip("llama_cpp")
    secret_env(monkeypatch)
    server = LocalServer(BUILTIN_PROVIDERS["local"])
    try:
        await server.ensure(lambda _: None)
        assert server.proc is not None
        environ = Path(f"/proc/{server.proc.pid}/environ").read_bytes()
    finally:
        await server.stop()
    assert KEY.encode() not in environ
    assert b"PATH=" in environ


# -- bidi controls are shown, not obeyed -----------------------------------------------

BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]


@pytest.mark.parametrize("code", BIDI, ids=[f"U+{c:04X}" for c in BIDI])
def test_bidi_controls_are_shown_by_name(code: int) -> None:
    shown = clean(f"a{chr(code)}b")
    assert shown == f"a⟦U+{code:04X}⟧b"
    assert one_line(f"x{chr(code)}y") == f"x⟦U+{code:04X}⟧y"


def test_other_text_is_untouched_by_clean() -> None:
    text = "שלום world, مرحبا, 日本語, emoji 🙂, tab\tand newline\n"
    assert clean(text) == text


async def test_a_bad_byok_key_for_copilot_is_named_before_the_cli_starts(
    server: FakeServer, tmp_path: Path
) -> None:
    from copilot_repl.providers.copilot import CopilotProvider

    config = ProviderSettings(
        name="copilot",
        kind="copilot",
        byok_base_url=server.url,
        byok_api_key_env="BYOK_KEY",
        cli_path=str(tmp_path / "no-such-cli"),
    )
    p = CopilotProvider(config, {"BYOK_KEY": KEY + "\r\n"}, data_dir=tmp_path)
    try:
        with pytest.raises(AuthError) as info:
            await p.stream("m", [{"role": "user", "content": "hi"}], print, print)
    finally:
        await p.aclose()
    assert str(info.value).startswith("BYOK_KEY contains a control character (U+000D")
    assert KEY[:12] not in str(info.value)
