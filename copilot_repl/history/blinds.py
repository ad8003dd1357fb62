"""Blind comparisons waiting for their vote, on disk, so that a vote can be
cast after a restart or from another process, and every process knows which
sessions' models to hide.

One file per pending comparison, ``DATA_DIR/blind/NAME.json`` (0600, written
whole: temp file, then rename)::

    {"t": "blind", "v": 1, "id": "…", "name": "blind-7f3a", "prompt": "…",
     "ts": 1717000000.0, "labels": {"A": {"session": "blind-7f3a-A",
     "model": "openai:gpt-4o-mini", "contestant": "…", "source": "a"}, "B": {…}},
     "run": "", "index": 0, "of": 0, "tag": ""}

``run``, ``index`` and ``of`` place a pair in a batch's vote queue (``compare
--blind``): the queue is the pending pairs of a run in ``index`` order.
``tag`` is the prompt's category (``# tag: code`` in a prompts file).

Casting a vote appends it to ``votes.jsonl`` under the pending file's ``id``,
then removes the file: a crash between the two leaves a pending comparison
whose vote is already in, which ``BlindStore.pending`` drops when it sees it
(a vote is never counted twice). Dropping a pending comparison (abandoned)
removes its file only; its sessions stay, their models no longer hidden.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_repl.errors import StoreError, UsageError
from copilot_repl.history import files
from copilot_repl.history.files import why

if TYPE_CHECKING:  # votes.py is imported when a vote is read or cast, not at start
    from copilot_repl.history.votes import Side, Vote

SUBDIR = "blind"
VERSION = 1
HIDDEN = "hidden"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


@dataclass(frozen=True)
class Pending:
    """A blind comparison whose vote is not in yet."""

    name: str
    prompt: str
    labels: Mapping[str, Side]
    ts: float = field(default_factory=time.time)
    id: str = field(default_factory=lambda: os.urandom(8).hex())
    run: str = ""
    index: int = 0
    of: int = 0
    tag: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a blind comparison's name")
        if len(self.labels) < 2:
            raise ValueError("a blind comparison has two replies or more")

    @property
    def sessions(self) -> dict[str, str]:
        """session -> its model, for every label."""
        return {s.session: s.model for s in self.labels.values()}

    def vote(self, verdict: str, **extra: Any) -> Vote:
        from copilot_repl.history.votes import Vote  # start-up: when a vote is read

        return Vote(
            prompt=self.prompt,
            labels=self.labels,
            verdict=verdict,
            name=self.name,
            id=self.id,
            run=self.run,
            tag=self.tag,
            **extra,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "t": "blind",
            "v": VERSION,
            "id": self.id,
            "name": self.name,
            "prompt": self.prompt,
            "ts": self.ts,
            "labels": {k: s.to_dict() for k, s in sorted(self.labels.items())},
            "run": self.run,
            "index": self.index,
            "of": self.of,
            "tag": self.tag,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Pending:
        if not isinstance(d, dict) or d.get("t") != "blind":
            raise ValueError("not a pending blind comparison")
        if not isinstance(d.get("v"), int) or d["v"] > VERSION:
            raise ValueError(f"format {d.get('v')!r} is not known (a newer copilot-repl?)")
        from copilot_repl.history.votes import Vote  # start-up: when a vote is read

        probe = {**d, "t": "vote", "verdict": "tie", "v": 1}
        vote = Vote.from_dict(probe)  # the shared fields, checked the same way
        try:
            return cls(
                name=vote.name,
                prompt=vote.prompt,
                labels=vote.labels,
                ts=vote.ts,
                id=vote.id,
                run=str(d.get("run", "")),
                index=int(d.get("index", 0)),
                of=int(d.get("of", 0)),
                tag=str(d.get("tag", "")),
            )
        except (TypeError, ValueError) as exc:
            raise ValueError(f"run, index, of or tag mistyped: {exc}") from None


class BlindStore:
    """The pending blind comparisons of one data dir."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.dir = self.root / SUBDIR
        self.warnings: list[str] = []
        self._seen: tuple[int, int] | None = None
        self._hidden: dict[str, str] = {}

    def path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    # -- writing ---------------------------------------------------------------
    def save(self, pending: Pending) -> None:
        """Write ``pending`` whole (replacing an older state of it)."""
        data = json.dumps(pending.to_dict(), ensure_ascii=False).encode()
        try:
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            files.write_atomic(self.path(pending.name), data)
        except OSError as exc:
            raise StoreError(f"cannot write {self.path(pending.name)}: {why(exc)}") from None

    def drop(self, name: str) -> bool:
        """Forget ``name`` (its models are shown from now on); False if it was
        not pending."""
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot remove {self.path(name)}: {why(exc)}") from None
        return True

    def cast(self, pending: Pending, verdict: str, **extra: Any) -> Vote:
        """Record the vote on ``pending``, then forget it."""
        from copilot_repl.history.votes import VoteStore  # start-up: when votes are

        vote = pending.vote(verdict, **extra)
        VoteStore(self.root).append(vote)
        self.drop(pending.name)
        return vote

    # -- reading ---------------------------------------------------------------
    def get(self, name: str) -> Pending:
        """The pending comparison ``name``; ``UsageError`` if there is none."""
        found = self._read(self.path(name))
        if found is None:
            raise UsageError(f"no blind comparison {name!r} waits for a vote")
        return found

    def pending(self, run: str | None = None) -> list[Pending]:
        """Every pending comparison (of ``run`` only, if given), oldest first,
        a batch's in queue order; those whose vote is already in are dropped."""
        self.warnings = []
        try:
            entries = sorted(p for p in self.dir.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise StoreError(f"cannot read {self.dir}: {why(exc)}") from None
        out = [p for p in (self._read(e) for e in entries) if p is not None]
        if run is not None:
            out = [p for p in out if p.run == run]
        voted = self._voted(out)
        for p in out:
            if p.id in voted:  # the vote is in; a crash kept the file
                with contextlib.suppress(StoreError):
                    self.drop(p.name)
        out = [p for p in out if p.id not in voted]
        out.sort(key=lambda p: (p.run != "", p.run, p.index, p.ts))
        return out

    def _voted(self, pending: list[Pending]) -> set[str]:
        if not pending:
            return set()
        from copilot_repl.history.votes import VoteStore  # start-up: when votes are

        votes, _ = VoteStore(self.root).load()
        return {v.id for v in votes}

    def _read(self, path: Path) -> Pending | None:
        try:
            fd = files.open_regular(path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warnings.append(f"{path} skipped: {why(exc)}")
            return None
        try:
            raw = files.read_from(fd, 0, os.fstat(fd).st_size)
        finally:
            os.close(fd)
        try:
            return Pending.from_dict(json.loads(raw))
        except ValueError as exc:
            self.warnings.append(f"{path} skipped: {exc}")
            return None

    def hidden(self) -> dict[str, str]:
        """session -> model of every session in a pending comparison; read
        again only when the directory changed (a ``stat`` per call)."""
        try:
            st = os.stat(self.dir)
            key = (st.st_mtime_ns, st.st_ino)
        except OSError:
            key = None
        if key is None:
            self._seen, self._hidden = None, {}
            return self._hidden
        if key != self._seen:
            hidden: dict[str, str] = {}
            with contextlib.suppress(StoreError):
                for p in self.pending_raw():
                    hidden.update(p.sessions)
            self._seen, self._hidden = key, hidden
        return self._hidden

    def pending_raw(self) -> list[Pending]:
        """The pending files as they are (no look at the votes: cheap)."""
        try:
            entries = sorted(p for p in self.dir.iterdir() if p.suffix == ".json")
        except OSError:
            return []
        return [p for p in (self._read(e) for e in entries) if p is not None]


def mask_document(doc: dict[str, Any]) -> dict[str, Any]:
    """An exported session document with its models and figures taken out
    (a session whose blind comparison waits for its vote)."""
    messages = [mask_message(m) for m in doc["messages"]]
    return {**doc, "session": mask_session(doc["session"]), "messages": messages}


def mask_session(session: dict[str, Any]) -> dict[str, Any]:
    """An exported document's ``session``, its model taken out."""
    return {**session, "model": HIDDEN}


def mask_message(message: dict[str, Any]) -> dict[str, Any]:
    """An exported message, its model and figures taken out."""
    item = {k: v for k, v in message.items() if k != "figures"}
    if item.get("model"):
        item["model"] = HIDDEN
    return item
