"""Commands that compare models: blind A/B rounds and votes, the
scoreboard, re-running the last prompt on other models, word diffs of two
replies, and batch comparisons.

Blind rounds: ``:blind a,b PROMPT`` makes one fresh session per source
session, each with the source's model and system prompt, named
``blind-ID-A``, ``blind-ID-B``, … with the labels dealt in random order. Their
models are hidden (``Repl.masks``) until ``:vote``, which records the
verdict (``history/votes.py``) and reveals them.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_repl.api.turn import Turn, TurnState
from copilot_repl.errors import SessionExists, UsageError
from copilot_repl.history.files import write_output
from copilot_repl.repl.commands.base import CommandGroup, positive
from copilot_repl.repl.parsing import Args, split_targets
from copilot_repl.repl.registry import BadArgs, command
from copilot_repl.repl.wording import count, excerpt, figures_line

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.history.comparisons import Plan
    from copilot_repl.history.messages import Message
    from copilot_repl.history.votes import Vote

LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class BlindRound:
    """A blind comparison started here: its turns, for the figures of the
    reveal (what waits for the vote is on disk: ``history/blinds.py``)."""

    name: str  # blind-7f3a
    turns: dict[str, Turn]


def contestants(sources: list[tuple[str, str]]) -> list[str]:
    """What each (source session, model) is rated as: its model, or the model
    and the session when one model is compared with itself."""
    models = [m for _, m in sources]
    return [m if models.count(m) == 1 else f"{m} ({s})" for s, m in sources]


def slug(model: str) -> str:
    return _UNSAFE.sub("-", model.partition(":")[2] or model).strip("-.") or "model"


class CompareCommands(CommandGroup):
    round: BlindRound | None = None  # the last :blind of this process

    # -- blind A/B --------------------------------------------------------
    @command(
        "blind",
        usage=":blind A,B,... PROMPT",
        help=(
            "blind comparison: PROMPT to fresh sessions with the models (and system prompts) "
            "of A, B, ..., shown as A, B, ... in random order; :vote reveals them"
        ),
        complete="session-list",
        nargs=None,
    )
    async def blind(self, args: str) -> None:
        # start-up: only this command needs it
        import random

        # start-up: as above
        from copilot_repl.history.blinds import BlindStore, Pending
        from copilot_repl.history.votes import Side

        wanted, prompt = split_targets(args)
        if len(wanted) < 2 or not prompt:
            raise BadArgs("name two sessions or more")
        blinds = BlindStore(self.client.config.data_dir)
        waiting = [p for p in blinds.pending() if not p.run]
        if waiting:
            name = waiting[-1].name
            raise UsageError(
                f"{name} waits for its vote: :vote A|B|tie|bad first (or :blinds drop {name})"
            )
        sources = [await self._session(n) for n in wanted]
        if len({s.session_id for s in sources}) < 2:
            raise BadArgs("name two different sessions")
        if len(sources) > len(LABELS):
            raise BadArgs(f"at most {len(LABELS)} sessions")
        order = list(sources)
        random.SystemRandom().shuffle(order)  # the labels' order: random per prompt
        name = self._free_round_name()
        rated = dict(
            zip(
                (s.session_id for s in sources),
                contestants([(s.session_id, s.model) for s in sources]),
                strict=True,
            )
        )
        sides = {
            label: Side(f"{name}-{label}", src.model, rated[src.session_id], src.session_id)
            for label, src in zip(LABELS, order, strict=False)
        }
        for side in sides.values():
            self.repl.masks.hide(side.session, side.model)  # before anything can be shown
        # on disk before any session exists: every process hides them from now on
        blinds.save(Pending(name, prompt, sides))
        sessions: list[CopilotSession] = []
        for label, src in zip(LABELS, order, strict=False):
            opts: dict[str, str] = {"session_id": sides[label].session, "model": src.model}
            if src.system_message:
                opts["system_message"] = src.system_message
            sessions.append(await self.client.create_session(opts))
        self.round = BlindRound(name, {})
        labels = ", ".join(sides)
        self.out.note(
            f"{name}: {labels} answer; models hidden until :vote {'|'.join(sides)}|tie|bad"
        )
        turns = await self.repl.fanout(sessions, prompt)
        self.round.turns = dict(zip(sides, turns, strict=True))
        if self.out.interactive:
            self.out.note(f":vote {'|'.join(sides)}|tie|bad — which reply is better?")

    def _free_round_name(self) -> str:
        from copilot_repl.history.blinds import BlindStore  # start-up: only this command needs it

        names = set(self.client.store.names())
        pending = BlindStore(self.client.config.data_dir).path
        while True:
            name = f"blind-{os.urandom(2).hex()}"
            taken = any(n.startswith(name + "-") for n in names) or pending(name).exists()
            if not taken:
                return name

    @command(
        "vote",
        usage=":vote [NAME] A|B|...|tie|bad | :vote",
        help=(
            "the verdict of the blind comparison (bad: all replies bad); then the models. "
            "Alone: vote through the queue of a batch (compare --blind), pair by pair"
        ),
        nargs=(0, 2),
    )
    async def vote(self, a: Args) -> None:
        from copilot_repl.repl import blind  # start-up: only this command needs it

        data_dir = self.client.config.data_dir
        if not a.positional:
            await self._walk_queue()
            return
        name = a.positional[0] if len(a.positional) == 2 else ""
        pending = blind.find(data_dir, name)
        try:
            verdict = blind.parse_verdict(pending, a.positional[-1])
        except UsageError as exc:
            raise BadArgs(str(exc)) from None
        rnd = self.round if self.round is not None and self.round.name == pending.name else None
        if rnd is not None:
            running = [label for label, t in rnd.turns.items() if t.running]
            if running:
                raise UsageError(f"{', '.join(running)} still answering; :wait, then :vote")
        vote = blind.cast(data_dir, self.client.store, pending, verdict)
        if rnd is not None:
            self.round = None
        for side in pending.labels.values():
            self.repl.masks.reveal(side.session)
        figures = {}
        if rnd is not None:
            figures = {k: figures_line(t.figures(), short=True) for k, t in rnd.turns.items()}
        self.out.table(blind.REVEAL_HEADER, blind.reveal_rows(self.client.store, vote, figures))
        what = {"tie": "a tie", "bad": "all bad"}.get(verdict, verdict)
        self.out.note(f"vote recorded ({what}); :scores shows the ratings")

    async def _walk_queue(self) -> None:
        from copilot_repl.repl import blind  # start-up: only this command needs it

        queue = blind.Queue(self.client.config.data_dir, self.client.store)
        if not queue.pairs():
            raise UsageError(
                "no blind comparison waits for a vote; :blind A,B PROMPT starts one, "
                "copilot-repl compare --blind makes a queue"
            )
        terminal = self.out.terminal  # the shell's; script mode has none
        if terminal is None:
            raise UsageError(
                f"{count(queue.left(), 'comparison')} wait for a vote; :vote A|B|tie|bad, "
                "or copilot-repl vote in a terminal for the queue"
            )
        await terminal.vote_queue(queue)
        self.out.note(f"{count(queue.voted, 'vote')} recorded; {queue.left()} waiting")

    @command(
        "blinds",
        usage=":blinds [drop NAME... | drop --all]",
        help="blind comparisons waiting for a vote (a batch's queue: one line); drop: abandon",
        nargs=None,
    )
    async def blinds(self, args: str) -> None:
        from copilot_repl.history.blinds import BlindStore  # start-up: only this command needs it

        store = BlindStore(self.client.config.data_dir)
        words = args.split()
        pending = store.pending()
        for w in store.warnings:
            self.out.warn(w)
        if words and words[0] == "drop":
            names = words[1:]
            if names == ["--all"]:
                names = [p.name for p in pending]
            elif not names:
                raise BadArgs("name the comparisons to drop (or --all)")
            runs = {p.run for p in pending if p.run}
            dropped = 0
            for name in names:
                # a batch's name: every pair of it
                mine = [p.name for p in pending if p.run == name] if name in runs else [name]
                for n in mine:
                    if not store.drop(n):
                        raise UsageError(f"no blind comparison {n!r} waits for a vote")
                    dropped += 1
            self.out.note(f"dropped {count(dropped, 'blind comparison')}; their models show now")
            return
        if words:
            raise BadArgs()
        if not pending:
            self.out.info("no blind comparison waits for a vote")
            return
        rows = [
            [p.name, str(len(p.labels)), _age(p.ts), excerpt(p.prompt)]
            for p in pending
            if not p.run
        ]
        by_run: dict[str, list[Any]] = {}
        for p in pending:
            if p.run:
                by_run.setdefault(p.run, []).append(p)
        for run, ps in by_run.items():
            total = ps[0].of or len(ps)
            left = f"{len(ps)} of {total} pairs left (:vote walks them)"
            rows.append([run, "queue", _age(min(p.ts for p in ps)), left])
        self.out.table(["name", "replies", "age", "prompt"], rows)

    # -- the scoreboard ----------------------------------------------------
    @command(
        "scores",
        usage=":scores [--by human|judge|all] [--tag TAG] [--json] [--html FILE]",
        help=(
            "ratings from the votes (Bradley-Terry, Elo scale, 95% interval), wins, losses; "
            "--by: people's votes (default) or a judge model's; --tag: one category"
        ),
        complete="path",
        flags={"--json": "json", "--by": "by", "--tag": "tag", "--html": "html"},
        switches=("json",),
    )
    async def scores(self, a: Args) -> None:
        # start-up: only this command needs it
        from copilot_repl.history.votes import VoteStore
        from copilot_repl.repl.judge import agreement
        from copilot_repl.repl.ratings import Match, forest, rate

        by = a.flags.get("by", "human")
        if by not in ("human", "judge", "all"):
            raise BadArgs(f"--by human, judge or all, not {by!r}")
        store = VoteStore(self.client.config.data_dir)
        every, warnings = store.load()
        for w in warnings:
            self.out.warn(w)
        votes = [v for v in every if by == "all" or v.by == by]
        tag = a.flags.get("tag")
        if tag is not None:
            votes = [v for v in votes if v.tag == tag]
        if "html" in a.flags:
            self._html(Path(a.flags["html"]).expanduser(), every)
            return
        ratings = rate([Match(v.contestants, v.winner, v.verdict == "bad") for v in votes])
        agreed, compared = agreement(every)
        if "json" in a.switches:
            doc = {
                "votes": len(votes),
                "by": by,
                "tag": tag,
                "models": [r.to_dict() for r in ratings],
                "agreement": {"agreed": agreed, "compared": compared},
            }
            self.out.info(json.dumps(doc, indent=2))
            return
        if not ratings:
            what = f" tagged {tag!r}" if tag is not None else ""
            whose = "" if by == "all" else by + " "
            self.out.info(f"no {whose}votes{what} yet; :blind A,B PROMPT, then :vote")
            return
        bars = forest(ratings)
        rows = [
            [
                r.name,
                f"{r.rating:.0f}",
                f"{r.low:.0f}–{r.high:.0f}",
                bar,
                str(r.votes),
                str(r.wins),
                str(r.losses),
                str(r.ties + r.bad),
            ]
            for r, bar in zip(ratings, bars, strict=True)
        ]
        header = ["model", "rating", "95% interval", "", "votes", "won", "lost", "tied"]
        self.out.table(header, rows)
        whose = {"human": "people's", "judge": "judges'", "all": ""}[by]
        self.out.status(
            f"from {count(len(votes), whose + ' vote' if whose else 'vote')}"
            + (f" tagged {tag!r}" if tag is not None else "")
            + f" in {store.path}"
        )
        if compared:
            self.out.status(
                f"judge and people agree on {agreed} of {count(compared, 'pair')} "
                f"({agreed / compared:.0%})"
            )
        elif by == "human" and any(v.by == "judge" for v in every):
            self.out.status("a judge voted too: :scores --by judge")

    def _html(self, path: Path, votes: list[Vote]) -> None:
        """``:scores --html FILE``: every vote, with the batch runs they came from."""
        # start-up: only this command needs it
        from copilot_repl.history.comparisons import load_run
        from copilot_repl.repl.report import report_html

        runs = []
        for name in dict.fromkeys(v.run for v in votes if v.run):
            try:
                plan, results, _ = load_run(self.client.config.data_dir, name)
            except UsageError:
                continue  # its journal is gone: the votes still count
            runs.append((plan, results))
        write_output(path, report_html(votes, runs, title="all votes"), overwrite=True)
        self.out.note(f"report written to {path}")

    # -- the same prompt, other models ---------------------------------------
    @command(
        "again",
        usage=":again M1[,M2...] | --model M",
        help=(
            "send the current session's last prompt, with the same history, to other models: "
            "each in a new session forked there (NAME-MODEL), side by side with the original"
        ),
        complete="model",
        flags={"--model": "model", "-m": "model"},
        nargs=(0, 1),
    )
    async def again(self, a: Args) -> None:
        wanted = [m.strip() for m in (a.flags.get("model") or "").split(",") if m.strip()]
        if a.positional:
            wanted += [m.strip() for m in a.positional[0].split(",") if m.strip()]
        if not wanted:
            raise BadArgs("name a model")
        session = self.repl.current
        session.refresh()
        if session.busy:
            raise UsageError(f"{session.session_id} is still answering; :wait, then :again")
        msgs = session.messages
        last = next((k for k in range(len(msgs) - 1, -1, -1) if msgs[k].role == "user"), None)
        if last is None:
            raise UsageError(f"{session.session_id} has no prompt to send again")
        prompt = msgs[last].content
        forks: list[CopilotSession] = []
        for model in dict.fromkeys(wanted):
            resolved = self.client.config.resolve_model(model)
            self.client.provider_config(resolved)
            new = self._free_name(f"{session.session_id}-{slug(resolved)}")
            forks.append(
                await self.client.fork_session(session.session_id, new, at=last, model=resolved)
            )
        self.out.note(
            f"{prompt and excerpt(prompt)!r} to "
            + ", ".join(f"{f.session_id} ({f.model})" for f in forks)
        )
        original = self._finished(session, msgs[last + 1 :], prompt)
        await self.repl.fanout(forks, prompt, shown=[original] if original else [])

    def _free_name(self, base: str) -> str:
        base = base[:60].rstrip("-.")
        names = set(self.client.store.names())
        if base not in names:
            return base
        for k in range(2, 1000):
            if f"{base}-{k}" not in names:
                return f"{base}-{k}"
        raise SessionExists(f"too many sessions named {base}-N")

    def _finished(
        self, session: CopilotSession, after: Sequence[Message], prompt: str
    ) -> tuple[CopilotSession, Turn] | None:
        """The original's reply as an ended turn, to show beside the new ones."""
        # start-up: only this command needs it
        from copilot_repl.history.exchange import record_extras

        reply = next((m for m in after if m.role == "assistant"), None)
        if reply is None:
            return None
        turn = Turn(session_id=session.session_id, model=reply.model or session.model)
        turn.prompt = prompt
        turn.parts = [reply.content]
        turn.chars = len(reply.content)
        turn.tokens = reply.tokens
        saved = record_extras(self.client.store.path(session.session_id))
        figures = saved.get(reply.id, {}).get("figures") if reply.id else None
        total = figures.get("total_s") if isinstance(figures, dict) else None
        turn.started = turn.created
        turn.ended = turn.created + (float(total) if isinstance(total, int | float) else 0.0)
        turn.state = TurnState.DONE if reply.status == "done" else TurnState.INTERRUPTED
        turn.mark_ended()
        return session, turn

    # -- diffs -----------------------------------------------------------------
    @command(
        "diff",
        usage=":diff A[@N] B[@M]",
        help="word-level diff of the last replies of two sessions (or of messages N and M)",
        complete="sessions",
        nargs=(2, 2),
    )
    async def diff(self, a: Args) -> None:
        # start-up: only this command needs it
        from copilot_repl.repl.worddiff import diff, stats, unified

        (la, ta), (lb, tb) = [await self._message(ref) for ref in a.positional]
        pieces = diff(ta, tb)
        s = stats(pieces)
        if self.out.terminal is not None:  # coloured in the shell
            self.out.terminal.word_diff(pieces, la, lb)
        else:
            self.out.info("\n".join(unified(pieces, la, lb)))
        self.out.status(
            f"{s.similarity:.0%} alike · {count(s.removed, 'word')} removed, {s.added} added"
        )

    async def _message(self, ref: str) -> tuple[str, str]:
        """``NAME`` (its last reply) or ``NAME@N`` -> (label, text)."""
        name, at, n = ref.partition("@")
        session = await self._session(name or self.repl.current_name)
        session.refresh()
        msgs = session.messages
        sid = session.session_id
        if at:
            k = positive(n)
            if k > len(msgs):
                raise UsageError(f"{sid} has {count(len(msgs), 'message')}; no message {k}")
            msg = msgs[k - 1]
            where = f"{sid}@{k}"
        else:
            found = [m for m in msgs if m.role == "assistant"]
            if not found:
                raise UsageError(f"{sid} has no reply yet")
            msg = found[-1]
            where = f"{sid}@{msgs.index(msg) + 1}"
        model = self.repl.masks.model(sid, msg.model or session.model)
        return f"{where} ({model})", msg.content

    # -- batch -------------------------------------------------------------------
    @command(
        "compare",
        usage=(
            ":compare --models A,B --prompts FILE [--system TEXT] [--out FILE] "
            "[--report FILE] [--name NAME] [--retry-failed] | :compare --name NAME --report FILE"
        ),
        help="each prompt of FILE to each model, every reply a session; a summary per model",
        complete="path",
        flags={
            "--models": "models",
            "--prompts": "prompts",
            "--system": "system",
            "--out": "out",
            "--report": "report",
            "--name": "name",
            "--retry-failed": "retry_failed",
        },
        switches=("retry_failed",),
    )
    async def compare(self, a: Args) -> None:
        # start-up: only this command needs it
        from copilot_repl.api.batch import run
        from copilot_repl.history.comparisons import Result, load_run
        from copilot_repl.repl import batch

        f = a.flags
        data_dir = self.client.config.data_dir
        if "models" not in f and "prompts" not in f:
            if "name" not in f or "report" not in f:
                raise BadArgs()
            plan, results, warnings = load_run(data_dir, f["name"])
            for w in warnings:
                self.out.warn(w)
        else:
            if "models" not in f or "prompts" not in f:
                raise BadArgs("give --models and --prompts")
            plan = self._plan(f)
            for option in ("out", "report"):
                if option in f:
                    batch.check_output(Path(f[option]).expanduser(), f"--{option}")
            todo = len(plan.pairs())

            def progress(r: Result) -> None:
                err = f" · {r.error}" if r.error else ""
                line = f"{r.model} · prompt {r.prompt_index + 1} · {r.status}"
                self.out.status(f"[{plan.name}] {line} · {figures_line(r.figures)}{err}")

            self.out.note(f"{plan.name}: {count(todo, 'reply', 'replies')} to get")
            followed = self.repl.followed  # shown here: no "reply done" notice for each
            rids: list[str] = []

            def sent(turn: Turn) -> None:
                rids.append(turn.rid)
                followed.add(turn.rid)

            try:
                results = await run(
                    self.client,
                    plan,
                    retry_failed="retry_failed" in a.switches,
                    on_result=progress,
                    on_turn=sent,
                )
            finally:
                followed.difference_update(rids)
        out = Path(f["out"]).expanduser() if "out" in f else None
        report = Path(f["report"]).expanduser() if "report" in f else None
        if report is not None:
            batch.check_output(report, "--report")
        batch.write_outputs(data_dir, plan, results, out, report)
        if report is not None:
            self.out.note(f"report written to {f['report']}")
        rows = [s.cells() for s in batch.summarize(plan, results)]
        self.out.table(batch.SUMMARY_HEADER, rows)
        failed = [r for r in results if not r.ok]
        if failed:
            self.repl.failed = True
            self.out.warn(f"{count(len(failed), 'reply', 'replies')} failed (--retry-failed)")

    def _plan(self, f: dict[str, str]) -> Plan:
        from copilot_repl.repl.batch import make_plan  # start-up: only this command needs it

        prompts = Path(f["prompts"]).expanduser()
        return make_plan(self.client, f["models"], prompts, f.get("system", ""), f.get("name", ""))


def _age(ts: float) -> str:
    seconds = max(0.0, time.time() - ts)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return "just now"
