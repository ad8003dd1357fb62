"""With only a server named (--base-url), new sessions use the first model
that server lists, not a guess; a server that does not answer leaves the
configured default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import run_cli
from fakeserver import FakeServer


@pytest.fixture
def qwen() -> Iterator[FakeServer]:
    server = FakeServer(models=["qwen2.5", "other"]).start()
    yield server
    server.stop()


def test_the_servers_first_model_is_the_default(qwen: FakeServer) -> None:
    r = run_cli(["--base-url", qwen.url], "hi\n:model\n")
    assert r.code == 0, r.err
    assert "main uses openai:qwen2.5" in r.out + r.err
    chats = [q for q in qwen.requests if q["path"].endswith("/chat/completions")]
    assert chats and chats[-1]["body"]["model"] == "qwen2.5"


def test_a_model_given_wins(qwen: FakeServer) -> None:
    r = run_cli(["--base-url", qwen.url, "--model", "other"], ":model\n")
    assert r.code == 0, r.err
    assert "openai:other" in r.out + r.err
    assert not [q for q in qwen.requests if q["path"].endswith("/models")]


def test_a_server_that_is_down_leaves_the_default() -> None:
    down = FakeServer().start()
    url = down.url
    down.stop()
    r = run_cli(["--base-url", url], ":model\n")
    assert r.code == 0, r.err
    assert "main uses openai:gpt-4o-mini" in r.out + r.err
