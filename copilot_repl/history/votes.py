"""Votes of blind comparisons, on disk: ``DATA_DIR/votes.jsonl``, one JSON
object a line, append-only like the session files::

    {"t": "vote", "v": 1, "id": "…", "ts": 1717000000.0, "name": "blind-7f3a",
     "prompt": "…", "verdict": "A",
     "labels": {"A": {"session": "blind-7f3a-A", "model": "openai:gpt-4o-mini",
                      "contestant": "openai:gpt-4o-mini", "source": "a"}, "B": {…}}}

``verdict`` is a label, ``"tie"`` or ``"bad"`` (all replies bad). Optional
keys (absent in older files): ``run`` (the batch comparison it belongs to),
``tag`` (the prompt's category), ``by`` (``"human"``, the default, or
``"judge"``), ``judge`` (the judging model) and ``reason`` (its one line). The
``contestant`` is what ratings are computed for: the model, or the model and
the source session when one vote compared a model with itself (two local
sessions with different system prompts are a valid A/B).

A vote is written whole under an exclusive ``flock`` (every byte or none; a
torn last line left by a crash is closed before the next append), the file is
created 0600 and never opened through a symlink. Reading never raises for a
bad line: it is skipped and reported.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_repl.history.jsonl import append_record, read_records

FILENAME = "votes.jsonl"
VERSION = 1
VERDICTS_EXTRA = ("tie", "bad")
HUMAN = "human"
JUDGE = "judge"


@dataclass(frozen=True)
class Side:
    """One reply of a blind comparison, under its label."""

    session: str
    model: str
    contestant: str
    source: str = ""

    def to_dict(self) -> dict[str, str]:
        out = {"session": self.session, "model": self.model, "contestant": self.contestant}
        if self.source:
            out["source"] = self.source
        return out


@dataclass(frozen=True)
class Vote:
    prompt: str
    labels: Mapping[str, Side]
    verdict: str
    name: str = ""
    ts: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: os.urandom(8).hex())
    run: str = ""
    tag: str = ""
    by: str = HUMAN
    judge: str = ""
    reason: str = ""

    def __post_init__(self) -> None:
        if self.by not in (HUMAN, JUDGE):
            raise ValueError(f"a vote is by {HUMAN!r} or {JUDGE!r}, not {self.by!r}")
        if len(self.labels) < 2:
            raise ValueError("a vote compares two replies or more")
        if self.verdict not in self.labels and self.verdict not in VERDICTS_EXTRA:
            raise ValueError(f"verdict {self.verdict!r} is not a label, 'tie' or 'bad'")

    @property
    def contestants(self) -> tuple[str, ...]:
        return tuple(side.contestant for _, side in sorted(self.labels.items()))

    @property
    def winner(self) -> str | None:
        """The winning contestant; None for a tie or all bad."""
        side = self.labels.get(self.verdict)
        return side.contestant if side is not None else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": "vote",
            "v": VERSION,
            "id": self.id,
            "ts": self.ts,
            "name": self.name,
            "prompt": self.prompt,
            "verdict": self.verdict,
            "labels": {k: s.to_dict() for k, s in sorted(self.labels.items())},
            **{k: v for k, v in self._extras().items() if v},
        }

    def _extras(self) -> dict[str, str]:
        extras = {"run": self.run, "tag": self.tag, "judge": self.judge, "reason": self.reason}
        return {**extras, "by": "" if self.by == HUMAN else self.by}

    @classmethod
    def from_dict(cls, d: Any) -> Vote:
        """A vote read back; ``ValueError`` saying what is wrong if it is not one."""
        if not isinstance(d, dict) or d.get("t") != "vote":
            raise ValueError("not a vote record")
        if not isinstance(d.get("v"), int) or d["v"] > VERSION:
            raise ValueError(f"vote format {d.get('v')!r} is not known (a newer copilot-repl?)")
        labels = d.get("labels")
        if not isinstance(labels, dict):
            raise ValueError("labels missing")
        sides = {}
        for label, s in labels.items():
            if not isinstance(s, dict):
                raise ValueError(f"label {label!r} is not an object")
            parts = [s.get(k, "") for k in ("session", "model", "contestant", "source")]
            if not all(isinstance(p, str) for p in parts) or not all(parts[:3]):
                raise ValueError(f"label {label!r} lacks session, model or contestant")
            sides[str(label)] = Side(*parts)
        strings = [d.get(k) for k in ("id", "prompt", "verdict", "name")]
        if not all(isinstance(x, str) for x in strings):
            raise ValueError("id, prompt, verdict and name must be strings")
        ts = d.get("ts")
        if not isinstance(ts, int | float) or isinstance(ts, bool):
            raise ValueError("ts must be a number")
        extras = {k: d.get(k, "") for k in ("run", "tag", "judge", "reason")}
        if not all(isinstance(x, str) for x in extras.values()):
            raise ValueError("run, tag, judge and reason must be strings")
        return cls(
            **extras,
            by=str(d.get("by") or HUMAN),
            prompt=d["prompt"],
            labels=sides,
            verdict=d["verdict"],
            name=d["name"],
            ts=float(ts),
            id=d["id"],
        )


class VoteStore:
    """The votes file of one data dir."""

    def __init__(self, root: Path) -> None:
        self.path = Path(root) / FILENAME

    def append(self, vote: Vote) -> None:
        """Write ``vote`` whole, or raise ``StoreError`` leaving the file as it was."""
        append_record(self.path, vote.to_dict())

    def load(self) -> tuple[list[Vote], list[str]]:
        """Every vote, oldest first, and one warning per line that is not one."""
        votes: list[Vote] = []
        warnings: list[str] = []
        for number, obj in read_records(self.path, warnings):
            try:
                votes.append(Vote.from_dict(obj))
            except ValueError as exc:
                warnings.append(f"{self.path} line {number} skipped: {exc}")
        return votes, warnings
