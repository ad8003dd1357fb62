"""Blind comparisons for every front end: what a pending comparison shows
(its prompt and replies, read from the session files), casting a vote and
the reveal that follows, and the vote queue of a batch (``compare
--blind``), walked one pair at a time. No terminal here: ``:vote`` in the
shell and ``copilot-repl vote`` draw it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from copilot_repl.errors import SessionNotFound, UsageError
from copilot_repl.history.blinds import BlindStore, Pending
from copilot_repl.history.exchange import record_extras
from copilot_repl.repl.wording import figures_line

if TYPE_CHECKING:
    from pathlib import Path

    from copilot_repl.history.store import Store
    from copilot_repl.history.votes import Vote

EXTRA_VERDICTS = ("tie", "bad")
# the queue's keys: verdicts, and "skip" (ask later) / "quit"
KEYS = {"a": "A", "b": "B", "t": "tie", "x": "bad", "s": "skip", "q": "quit"}


@dataclass(frozen=True)
class Reply:
    """One side of a pending comparison as its session file holds it."""

    label: str
    session: str
    text: str
    status: str  # done, interrupted, error, ... ; "waiting": no reply yet; "streaming"
    figures: dict[str, Any]

    @property
    def ready(self) -> bool:
        return self.status not in ("waiting", "streaming")


def replies(store: Store, pending: Pending) -> list[Reply]:
    """Each label's reply, in label order."""
    out = []
    for label, side in sorted(pending.labels.items()):
        try:
            loaded = store.load(side.session)
        except SessionNotFound:
            out.append(Reply(label, side.session, "", "missing", {}))
            continue
        msgs = loaded.data.messages
        last = next((m for m in reversed(msgs) if m.role == "assistant"), None)
        figures: dict[str, Any] = {}
        if loaded.parts:
            status, text = "streaming", ""
        elif last is None:
            status, text = "waiting", ""
        else:
            extras = record_extras(store.path(side.session)).get(last.id, {}) if last.id else {}
            found = extras.get("figures")
            figures = dict(found) if isinstance(found, dict) else {}
            status, text = last.status, last.content
        out.append(Reply(label, side.session, text, status, figures))
    return out


def parse_verdict(pending: Pending, text: str) -> str:
    """``a``/``A`` -> ``A``; ``tie``, ``bad``; anything else: ``UsageError``."""
    if text.upper() in pending.labels:
        return text.upper()
    if text.lower() in EXTRA_VERDICTS:
        return text.lower()
    raise UsageError(f"vote {'|'.join(sorted(pending.labels))}|tie|bad, not {text!r}")


def find(data_dir: Path, name: str = "") -> Pending:
    """The pending comparison to vote on: ``name`` (a blind round or a batch
    pair), else the newest blind round (not a batch pair)."""
    store = BlindStore(data_dir)
    if name:
        return store.get(name)
    rounds = [p for p in store.pending() if not p.run]
    if not rounds:
        queued = {p.run for p in store.pending()}
        hint = f"; :vote alone walks the queue of {', '.join(sorted(queued))}" if queued else ""
        raise UsageError(
            f"no blind comparison waits for a vote{hint}; :blind A,B PROMPT starts one"
        )
    return max(rounds, key=lambda p: p.ts)


def cast(data_dir: Path, store: Store, pending: Pending, verdict: str, **extra: Any) -> Vote:
    """Record ``verdict`` on ``pending`` (every reply must have ended)."""
    got = replies(store, pending)
    gone = [r.session for r in got if r.status == "missing"]
    if gone:
        raise UsageError(
            f"{', '.join(gone)} no longer exists; :blinds drop {pending.name} abandons it"
        )
    waiting = [r.label for r in got if not r.ready]
    if waiting:
        raise UsageError(f"{', '.join(waiting)} still answering; :wait, then :vote")
    return BlindStore(data_dir).cast(pending, verdict, **extra)


def reveal_rows(store: Store, vote: Vote, figures: dict[str, str]) -> list[list[str]]:
    """``label, model, from, session, figures, mark`` for each side of a
    vote just cast; ``figures`` by label (else from the session file)."""
    saved = {}
    if len(figures) < len(vote.labels):
        pending = Pending(vote.name or "x", vote.prompt, vote.labels)
        saved = {r.label: figures_line(r.figures, short=True) for r in replies(store, pending)}
    rows = []
    for label, side in sorted(vote.labels.items()):
        mark = "← your pick" if label == vote.verdict else ""
        shown = figures.get(label, saved.get(label, ""))
        rows.append([label, side.model, side.source, side.session, shown, mark])
    return rows


REVEAL_HEADER = ["label", "model", "from", "session", "figures", ""]


# -- the queue of a batch ------------------------------------------------------
@dataclass(frozen=True)
class Item:
    """One pair of the queue, with its place: ``number`` of ``total``."""

    pending: Pending
    number: int
    total: int
    replies: list[Reply]


class Queue:
    """The pairs of the batch runs waiting for votes, oldest run first; a
    skipped pair comes again after the others (and in the next walk)."""

    def __init__(self, data_dir: Path, store: Store, run: str = "") -> None:
        self.data_dir = data_dir
        self.store = store
        self.run = run
        self.skipped: set[str] = set()
        self.voted = 0

    def pairs(self) -> list[Pending]:
        """What waits: blind rounds (``:blind``) first, then batch pairs."""
        every = BlindStore(self.data_dir).pending()
        if self.run:
            every = [p for p in every if p.run == self.run]
        return every

    def next(self) -> Item | None:
        """The next pair whose replies are in, or None when none is left.
        Session files are read only up to the pair shown."""
        pairs = self.pairs()
        found = self._first_ready([p for p in pairs if p.name not in self.skipped])
        if found is None:
            found = self._first_ready([p for p in pairs if p.name in self.skipped])
            self.skipped.clear()  # the skipped ones again, in order
        if found is None:
            return None
        pending, got = found
        run_pairs = [p for p in pairs if p.run == pending.run] if pending.run else [pending]
        total = pending.of or len(run_pairs)
        done = total - len(run_pairs)
        ahead = sum(1 for p in run_pairs if p.name in self.skipped)
        return Item(pending, done + ahead + 1, total, got)

    def _first_ready(self, pairs: list[Pending]) -> tuple[Pending, list[Reply]] | None:
        for p in pairs:
            got = replies(self.store, p)
            if all(r.status in ("done", "truncated", "filtered") for r in got):
                return p, got
        return None

    def answer(self, item: Item, key: str) -> Vote | None:
        """What a key does: a verdict is cast (the Vote), ``skip`` puts the
        pair after the others (None)."""
        what = KEYS.get(key.lower(), key)
        if what == "skip":
            self.skipped.add(item.pending.name)
            return None
        verdict = parse_verdict(item.pending, what)
        vote = BlindStore(self.data_dir).cast(item.pending, verdict)
        self.voted += 1
        return vote

    def left(self) -> int:
        return len(self.pairs())
