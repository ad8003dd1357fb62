"""Saved sessions written straight to disk, in copilot-repl's session format
(see ``copilot_repl/store.py``): a header line, then one ``msg`` record per
message, as the client itself writes them."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

MODEL = "openai:gpt-4o-mini"
_VOCABULARY = (
    "the a of to and in is for on that with as this by from it be are or an at which "
    "stream reply session model token server client prompt render markdown terminal "
    "python async buffer write read file disk line record header parse list item code"
)
_WORDS = _VOCABULARY.split()


def _text(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        out.append(rng.choice(_WORDS))
        if i % 23 == 22:
            out.append(".\n\n" if i % 69 == 68 else ".")
    return " ".join(out)


def _dumps(rec: dict[str, object]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"


class Texts:
    """Pools of prompts (15-40 words) and replies (80-250 words) to draw from:
    generating every message afresh would make the set-up slower than the bench."""

    def __init__(self, rng: random.Random, size: int = 256) -> None:
        self.rng = rng
        self.prompts = [_text(rng, rng.randint(15, 40)) for _ in range(size)]
        self.replies = [_text(rng, rng.randint(80, 250)) for _ in range(size)]

    def prompt(self) -> str:
        return self.rng.choice(self.prompts)

    def reply(self) -> str:
        return self.rng.choice(self.replies)


def write_session(
    sessions_dir: Path, name: str, messages: int, *, created: float, texts: Texts
) -> int:
    """Write ``name`` with ``messages`` alternating user / assistant messages;
    returns its size in bytes."""
    lines = [
        _dumps(
            {
                "t": "session",
                "schema": 1,
                "name": name,
                "model": MODEL,
                "system": "",
                "created": created,
            }
        )
    ]
    ts = created
    for i in range(messages):
        ts += 7.0
        if i % 2 == 0:
            lines.append(_dumps({"t": "msg", "role": "user", "content": texts.prompt(), "ts": ts}))
        else:
            content = texts.reply()
            lines.append(
                _dumps(
                    {
                        "t": "msg",
                        "id": f"1-{i}-{int(ts * 1e9)}",
                        "role": "assistant",
                        "content": content,
                        "ts": ts,
                        "status": "done",
                        "model": MODEL,
                        "tokens": len(content) // 4,
                    }
                )
            )
    data = "".join(lines).encode()
    path = sessions_dir / f"{name}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.utime(path, (ts, ts))
    return len(data)


def make_store(
    root: Path, sessions: int, messages: int, *, prefix: str = "s", seed: int = 7
) -> int:
    """A data dir with ``sessions`` sessions of ``messages`` messages each;
    returns the total size in bytes."""
    sessions_dir = root / "sessions"
    sessions_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    texts = Texts(random.Random(seed))
    total = 0
    base = 1_700_000_000.0
    for i in range(sessions):
        total += write_session(
            sessions_dir, f"{prefix}{i:04d}", messages, created=base + i * 3600.0, texts=texts
        )
    return total
