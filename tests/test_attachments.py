"""Images attached to a prompt (issue 25): ``-f`` and ``:file`` send PNG,
JPEG, GIF and WebP files (known by their first bytes) as OpenAI image
content parts, data URLs; text files as fenced blocks, as before. The
request body the loopback server received is what is checked, and what the
session file holds."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import run_cli
from fakeserver import FakeServer

from copilot_repl.history.store import Store

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(40))
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(30)
GIF = b"GIF89a" + bytes(30)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(30)


def image_parts(body: dict[str, object], index: int = -1) -> list[dict[str, object]]:
    messages = body["messages"]
    assert isinstance(messages, list)
    content = messages[index]["content"]
    assert isinstance(content, list), content
    return content


def data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


@pytest.mark.parametrize(
    ("data", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_an_image_goes_as_an_image_part_by_its_bytes_not_its_name(
    server: FakeServer, tmp_path: Path, data: bytes, mime: str
) -> None:
    picture = tmp_path / "picture.dat"  # the name says nothing
    picture.write_bytes(data)
    notes = tmp_path / "notes.png"  # a text file, whatever its name
    notes.write_text("the notes\n")
    r = run_cli(["--base-url", server.url, "-f", str(picture), "-f", str(notes), "-p", "what?"])
    assert r.code == 0, r.err
    parts = image_parts(server.requests[-1]["body"])
    assert parts[0]["type"] == "text"
    assert str(parts[0]["text"]).startswith("what?\n\nnotes.png:\n```\nthe notes\n```")
    assert parts[1:] == [{"type": "image_url", "image_url": {"url": data_url(mime, data)}}]


def test_an_image_is_saved_with_its_prompt_sent_again_and_shown_in_history(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    cat = tmp_path / "cat.png"
    cat.write_bytes(PNG)
    url = ["--base-url", server.url, "--session", "pics"]
    assert run_cli([*url, "-f", str(cat), "-p", "what is this?"]).code == 0
    first = Store(home).load("pics").data.messages[0]
    saved = (first.data or {})["attachments"]
    assert saved == [
        {
            "type": "blob",
            "mime_type": "image/png",
            "data": base64.b64encode(PNG).decode(),
            "display_name": "cat.png",
            "byte_length": len(PNG),
        }
    ]
    # the next prompt of the session sends the image again, with its first prompt
    assert run_cli([*url, "-p", "and its colour?"]).code == 0
    body = server.requests[-1]["body"]
    assert image_parts(body, 0)[1] == {
        "type": "image_url",
        "image_url": {"url": data_url("image/png", PNG)},
    }
    assert body["messages"][-1]["content"] == "and its colour?"
    r = run_cli(["--base-url", server.url, "--session", "pics"], ":history\n")
    assert r.code == 0, r.err
    assert f"=== image ===\ncat.png (image/png, {len(PNG)} bytes)\n" in r.out


def test_an_image_over_the_cap_is_refused_before_anything_is_sent(
    server: FakeServer, tmp_path: Path
) -> None:
    big = tmp_path / "big.png"
    big.write_bytes(PNG + bytes(5 * 1024 * 1024))
    r = run_cli(["--base-url", server.url, "-f", str(big), "-p", "hi"])
    assert (r.code, r.err) == (2, f"copilot-repl: error: cannot attach {big}: larger than 5 MB\n")
    assert server.requests == []


def test_file_command_attaches_to_the_next_prompt_or_sends_now(
    server: FakeServer, tmp_path: Path
) -> None:
    (tmp_path / "a cat.png").write_bytes(PNG)
    (tmp_path / "dog.gif").write_bytes(GIF)
    cat, dog = tmp_path / "a cat.png", tmp_path / "dog.gif"
    script = f":file '{cat}'\nwhat is it?\n:file {dog} -- and this?\n"
    r = run_cli(["--base-url", server.url], script)
    assert r.code == 0, r.err
    assert "attached to the next prompt: a cat.png" in r.err
    chats = [q["body"] for q in server.requests if "messages" in q["body"]]
    first, second = chats[-2], chats[-1]
    assert image_parts(first)[0] == {"type": "text", "text": "what is it?"}
    assert image_parts(first)[1]["image_url"] == {"url": data_url("image/png", PNG)}
    assert image_parts(second)[0] == {"type": "text", "text": "and this?"}
    assert image_parts(second)[1]["image_url"] == {"url": data_url("image/gif", GIF)}
    assert len(image_parts(second)) == 2  # the cat went with the first prompt only


def test_sdk_send_with_an_image_attachment(server: FakeServer, home: Path, tmp_path: Path) -> None:
    import asyncio

    from copilot_repl import CopilotClient

    cat = tmp_path / "cat.webp"
    cat.write_bytes(WEBP)

    async def go() -> list[object]:
        client = CopilotClient({"base_url": server.url})
        await client.start()
        try:
            session = await client.create_session({"model": "openai:echo"})
            await session.send_and_wait("look", attachments=[{"type": "file", "path": str(cat)}])
            events = await session.get_events()
            return [e.data.attachments for e in events if e.type.value == "user.message"]
        finally:
            await client.stop()

    (attachments,) = asyncio.run(go())
    assert server.requests[-1]["body"]["messages"][-1]["content"][1]["image_url"] == {
        "url": data_url("image/webp", WEBP)
    }
    assert attachments is not None and len(attachments) == 1


def test_the_embedded_model_refuses_images_in_one_line(home: Path, tmp_path: Path) -> None:
    """Refused before the model server is started: nothing to download or run."""
    cat = tmp_path / "cat.jpg"
    cat.write_bytes(JPEG)
    r = run_cli(["-m", "local:smollm2", "-f", str(cat), "-p", "what is this?"])
    assert r.code == 1
    lines = [ln for ln in r.err.splitlines() if "error" in ln]
    assert lines == [
        "copilot-repl: error: the embedded model cannot take images; send them to a vision "
        "model (a session on one: :new NAME --model PROVIDER:MODEL)"
    ], r.err


def test_file_then_ask_sends_the_image_to_each_session(server: FakeServer, tmp_path: Path) -> None:
    cat = tmp_path / "cat.jpg"
    cat.write_bytes(JPEG)
    r = run_cli(["--base-url", server.url], f":new b\n:file {cat}\n:ask main,b what is it?\n")
    assert r.code == 0, r.err
    chats = [q["body"] for q in server.requests if "messages" in q["body"]][-2:]
    for body in chats:
        assert image_parts(body)[1]["image_url"] == {"url": data_url("image/jpeg", JPEG)}
