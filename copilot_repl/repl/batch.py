"""Batch comparisons: each prompt to each model, every reply an ordinary
session, and a journal that lets an interrupted run resume where it stopped.

The journal is ``DATA_DIR/compare/NAME.jsonl`` (append-only, each line
written whole under a lock): a header, then one line per (prompt, model)
as each reply ends::

    {"t": "run", "v": 1, "name": "cmp-1a2b3c4d", "models": [...], "system": "",
     "prompts": [...], "ts": ...}
    {"t": "result", "v": 1, "run": "cmp-1a2b3c4d", "prompt_index": 0, "prompt": "...",
     "model": "openai:gpt-4o-mini", "session": "cmp-1a2b3c4d-1-gpt-4o-mini",
     "status": "done", "reply": "...", "error": "", "figures": {...}, "ts": ...}

``status`` is ``done``, ``failed``, ``truncated``, ``filtered`` or
``interrupted``; ``figures`` are the reply's (``ttft_s``, ``tok_s``,
``total_s``, ``tokens_in``, ``tokens_out``, ``counted``, ``cost`` where
known). A run's name defaults to a digest of its models, prompts and system
prompt, so running the same command again resumes it. A pair whose reply
never reached the journal (the process was killed) is asked again, in a
fresh session of the same name. This module knows no terminal: the front
ends show progress through ``on_result``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_repl.errors import SessionExists, StoreError, UsageError
from copilot_repl.history import busy
from copilot_repl.history.inputs import loads, lone_surrogate, read_text
from copilot_repl.history.jsonl import append_record, read_records

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.turn import Turn
    from copilot_repl.history.votes import Vote

VERSION = 1
MAX_PROMPTS_FILE = 16 << 20  # bytes
SUBDIR = "compare"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# -- prompts files -------------------------------------------------------------
def parse_prompts(text: str, *, jsonl: bool = False) -> list[str]:
    """Prompts from a file: one a line (blank lines and ``#`` comments
    skipped), a multi-line prompt between lines holding only ``\"\"\"``; or,
    for ``.jsonl``, one JSON string or ``{"prompt": ...}`` a line."""
    prompts: list[str] = []
    if jsonl:
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            obj = loads(line, where=f"prompts line {number}")
            value = obj.get("prompt") if isinstance(obj, dict) else obj
            if not isinstance(value, str) or not value.strip():
                raise UsageError(f'prompts line {number}: expected a string or {{"prompt": …}}')
            bad = lone_surrogate(value)
            if bad:
                raise UsageError(
                    f"prompts line {number} holds a lone surrogate ({bad}), which is not text"
                )
            prompts.append(value)
        return prompts
    block: list[str] | None = None
    for line in text.splitlines():
        if line.strip() == '"""':
            if block is None:
                block = []
            else:
                if "\n".join(block).strip():
                    prompts.append("\n".join(block))
                block = None
        elif block is not None:
            block.append(line)
        elif line.strip() and not line.lstrip().startswith("#"):
            prompts.append(line.strip())
    if block is not None:
        raise UsageError('the prompts file ends inside a """ block')
    return prompts


_TAG = re.compile(r"^\s*#\s*tag:\s*(.*?)\s*$", re.IGNORECASE)


def parse_tagged(text: str, *, jsonl: bool = False) -> list[tuple[str, str]]:
    """``(prompt, tag)`` for each prompt of a file (``parse_prompts`` reads
    and checks them): a comment line ``# tag: code`` tags the prompts after
    it (``# tag:`` alone: none again); in ``.jsonl``, ``{"prompt": ..., "tag": ...}``."""
    prompts = parse_prompts(text, jsonl=jsonl)
    tags = _jsonl_tags(text) if jsonl else _text_tags(text)
    return list(zip(prompts, tags, strict=True))


def _text_tags(text: str) -> list[str]:
    """The tag in force at each prompt, walking the file as ``parse_prompts`` does."""
    tags: list[str] = []
    tag = ""
    block: list[str] | None = None
    for line in text.splitlines():
        if line.strip() == '"""':
            if block is not None and "\n".join(block).strip():
                tags.append(tag)
            block = [] if block is None else None
        elif block is not None:
            block.append(line)
        elif found := _TAG.match(line):
            tag = found.group(1)
        elif line.strip() and not line.lstrip().startswith("#"):
            tags.append(tag)
    return tags


def _jsonl_tags(text: str) -> list[str]:
    tags = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        obj = json.loads(line)  # parse_prompts has checked every line
        tag = obj.get("tag", "") if isinstance(obj, dict) else ""
        if not isinstance(tag, str) or lone_surrogate(tag):
            raise UsageError(f"prompts line {number}: the tag must be a string (text)")
        tags.append(tag.strip())
    return tags


# -- the plan ------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    models: tuple[str, ...]  # provider:model, resolved
    prompts: tuple[str, ...]
    system: str = ""
    name: str = ""
    tags: tuple[str, ...] = ()  # per prompt ("" untagged); () none at all
    blind: bool = False  # replies voted on blind: neutral session names, a vote queue

    def tag(self, index: int) -> str:
        return self.tags[index] if index < len(self.tags) else ""

    def __post_init__(self) -> None:
        if not self.models:
            raise UsageError("give at least one model (--models a,b)")
        if len(set(self.models)) != len(self.models):
            raise UsageError("a model is named twice in --models")
        if not self.prompts:
            raise UsageError("the prompts file holds no prompt")
        if not self.name:
            object.__setattr__(self, "name", default_name(self))

    def pairs(self) -> list[tuple[int, str]]:
        return [(i, m) for i in range(len(self.prompts)) for m in self.models]

    def session_name(self, index: int, model: str) -> str:
        """``NAME-N-MODEL``: findable, and a valid session name whatever the
        model; blind: ``NAME-N-XXXX``, four hex digits that differ per prompt."""
        if self.blind:
            digest = hashlib.sha256(f"{self.name}\0{index}\0{model}".encode()).hexdigest()
            return f"{self.name}-{index + 1}-{digest[:4]}"
        slug = _UNSAFE.sub("-", model.partition(":")[2] or model).strip("-.") or "model"
        base = f"{self.name}-{index + 1}-"
        room = 64 - len(base)
        if len(slug) > room:
            digest = hashlib.sha256(model.encode()).hexdigest()[:6]
            slug = slug[: max(room - 7, 1)].rstrip("-.") + "-" + digest
        return base + slug

    def header(self) -> dict[str, Any]:
        return {
            "t": "run",
            "v": VERSION,
            "name": self.name,
            "models": list(self.models),
            "system": self.system,
            "prompts": list(self.prompts),
            "ts": time.time(),
            **({"tags": list(self.tags)} if any(self.tags) else {}),
            **({"blind": True} if self.blind else {}),
        }


def make_plan(
    client: CopilotClient,
    models: str,
    prompts: Path,
    system: str = "",
    name: str = "",
    *,
    blind: bool = False,
) -> Plan:
    """The plan of ``--models a,b --prompts FILE``: models resolved (an
    unknown provider says so now), the prompts read."""
    from copilot_repl.history.names import validate_name

    resolved = tuple(client.config.resolve_model(m.strip()) for m in models.split(",") if m.strip())
    for model in resolved:
        client.provider_config(model)
    text = read_text(prompts, limit=MAX_PROMPTS_FILE, doing="read the prompts file")
    bad = lone_surrogate(system)
    if bad:
        raise UsageError(f"--system holds a lone surrogate ({bad}), which is not text")
    if name:
        validate_name(name)
    tagged = parse_tagged(text, jsonl=prompts.suffix == ".jsonl")
    tags = tuple(t for _, t in tagged) if any(t for _, t in tagged) else ()
    if blind and len(resolved) < 2:
        raise UsageError("a blind comparison needs two models or more (--models a,b)")
    return Plan(resolved, tuple(p for p, _ in tagged), system, name, tags, blind)


def default_name(plan: Plan) -> str:
    digest = hashlib.sha256(
        json.dumps(
            [list(plan.models), list(plan.prompts), plan.system] + (["blind"] if plan.blind else [])
        ).encode()
    ).hexdigest()
    return f"cmp-{digest[:8]}"


@dataclass
class Result:
    prompt_index: int
    prompt: str
    model: str
    session: str
    status: str
    reply: str = ""
    error: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    ts: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        return self.status in ("done", "truncated")

    def to_dict(self, run: str) -> dict[str, Any]:
        return {
            "t": "result",
            "v": VERSION,
            "run": run,
            "prompt_index": self.prompt_index,
            "prompt": self.prompt,
            "model": self.model,
            "session": self.session,
            "status": self.status,
            "reply": self.reply,
            "error": self.error,
            "figures": self.figures,
            "ts": self.ts,
        }

    @classmethod
    def from_dict(cls, d: Any) -> Result:
        if not isinstance(d, dict) or d.get("t") != "result":
            raise ValueError("not a result record")
        try:
            return cls(
                prompt_index=int(d["prompt_index"]),
                prompt=str(d["prompt"]),
                model=str(d["model"]),
                session=str(d["session"]),
                status=str(d["status"]),
                reply=str(d.get("reply", "")),
                error=str(d.get("error", "")),
                figures=dict(d.get("figures") or {}),
                ts=float(d.get("ts", 0.0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"a result record lacks or mistypes {exc}") from None


# -- the journal ---------------------------------------------------------------
class Journal:
    """A run's record in the data dir."""

    def __init__(self, data_dir: Path, name: str) -> None:
        from copilot_repl.history.names import validate_name

        # a name is never a path: "../.." stays inside the data dir (refused)
        self.path = Path(data_dir) / SUBDIR / f"{validate_name(name)}.jsonl"
        self.warnings: list[str] = []

    def read(self) -> tuple[dict[str, Any] | None, dict[tuple[int, str], Result]]:
        """The header (None: no run yet) and the latest result of each pair."""
        header: dict[str, Any] | None = None
        results: dict[tuple[int, str], Result] = {}
        for number, obj in read_records(self.path, self.warnings):
            if isinstance(obj, dict) and obj.get("t") == "run" and header is None:
                header = obj
                continue
            try:
                r = Result.from_dict(obj)
            except ValueError as exc:
                self.warnings.append(f"{self.path} line {number} skipped: {exc}")
                continue
            results[(r.prompt_index, r.model)] = r
        return header, results

    def start(self, plan: Plan) -> dict[tuple[int, str], Result]:
        """Begin ``plan``, or take up the same plan where it stopped; returns
        the results already in. Another plan under the same name: refused."""
        header, results = self.read()
        if header is None:
            append_record(self.path, plan.header())
            return {}
        same = (
            header.get("models") == list(plan.models)
            and header.get("prompts") == list(plan.prompts)
            and header.get("system", "") == plan.system
            and bool(header.get("blind")) == plan.blind
        )
        if not same:
            raise SessionExists(
                f"a comparison named {plan.name!r} with other models or prompts exists "
                f"({self.path}); pick another --name"
            )
        return results

    def add(self, plan: Plan, result: Result) -> None:
        append_record(self.path, result.to_dict(plan.name))


def load_run(data_dir: Path, name: str) -> tuple[Plan, list[Result], list[str]]:
    """A run as the journal holds it (``:compare --report NAME``)."""
    journal = Journal(data_dir, name)
    header, results = journal.read()
    if header is None:
        raise UsageError(f"no comparison named {name!r} (none at {journal.path})")
    plan = Plan(
        tuple(header.get("models") or ()),
        tuple(header.get("prompts") or ()),
        str(header.get("system") or ""),
        name,
        tuple(str(t) for t in header.get("tags") or ()),
        bool(header.get("blind")),
    )
    return plan, ordered(plan, results), journal.warnings


def ordered(plan: Plan, results: Mapping[tuple[int, str], Result]) -> list[Result]:
    return [results[p] for p in plan.pairs() if p in results]


def check_output(path: Path, option: str) -> None:
    """Refuse an ``--out``/``--report`` file that could not be written, before
    any request is spent: a directory, or a name in a directory that is
    missing or not writable."""
    parent = path.parent
    if path.is_dir():
        raise UsageError(f"{option} {path} is a directory; give a file name")
    if not parent.is_dir():
        raise UsageError(f"{option} {path}: there is no directory {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {path}: cannot write in {parent} (no permission)")


def write_output(path: Path, text: str, journal: Path) -> None:
    """``--out``/``--report``, written whole (``files.write_output``); if that
    fails, one line saying where the results are kept all the same."""
    from copilot_repl.history.files import write_output as write_file

    try:
        write_file(path, text, overwrite=True)
    except StoreError as exc:
        raise StoreError(
            f"{exc}; every reply is kept in {journal} "
            "(:compare --name NAME --report FILE writes the report again)"
        ) from None


def jsonl_body(plan: Plan, results: Iterable[Result]) -> str:
    """``--out``: one JSON line per result (a lone surrogate escaped)."""
    from copilot_repl.history.records import dumps

    return "".join(dumps(r.to_dict(plan.name)).decode() for r in results)


def write_outputs(
    data_dir: Path, plan: Plan, results: Sequence[Result], out: Path | None, to: Path | None
) -> None:
    """``--out`` (the results as JSON Lines) and ``--report`` (``to``:
    Markdown, or HTML for a ``.html`` name)."""
    from copilot_repl.history.votes import VoteStore

    journal = Journal(data_dir, plan.name).path
    if out is not None:
        write_output(out, jsonl_body(plan, results), journal)
    if to is not None:
        votes, _ = VoteStore(data_dir).load()
        write_output(to, report(plan, results, votes, to), journal)


# -- running -------------------------------------------------------------------
OnResult = Callable[[Result], None]
OnTurn = Callable[["Turn"], None]


async def run(
    client: CopilotClient,
    plan: Plan,
    *,
    retry_failed: bool = False,
    on_result: OnResult | None = None,
    on_turn: OnTurn | None = None,
) -> list[Result]:
    """Ask every pair not answered yet; returns all results in plan order.
    Each provider gets at most its ``max_parallel`` requests at once.
    ``on_turn`` is given each turn as it is sent, ``on_result`` each result."""
    journal = Journal(client.config.data_dir, plan.name)
    refusal = (
        f"comparison {plan.name} is being run by another process; run the same command "
        "again when it has ended (it resumes where that one stopped)"
    )
    with busy.owned(journal.path.with_suffix(".lock"), refusal):  # one writer per journal
        return await _run(client, plan, journal, retry_failed, on_result, on_turn)


async def _run(
    client: CopilotClient,
    plan: Plan,
    journal: Journal,
    retry_failed: bool,
    on_result: OnResult | None,
    on_turn: OnTurn | None,
) -> list[Result]:
    done = journal.start(plan)
    if plan.blind:  # on disk before any session exists: hidden in every process
        deal_pairs(client.config.data_dir, plan)
    todo = [p for p in plan.pairs() if p not in done or (retry_failed and not done[p].ok)]
    for index, model in todo:  # before anything is asked: a foreign session stops it all
        await _clear_leftover(client, plan.session_name(index, model), plan.prompts[index])
    by_provider: dict[str, list[tuple[int, str]]] = {}
    for pair in todo:
        by_provider.setdefault(pair[1].partition(":")[0], []).append(pair)

    async def worker(queue: list[tuple[int, str]]) -> None:
        while queue:
            index, model = queue.pop(0)
            result = await ask(client, plan, index, model, on_turn)
            if result is None:
                continue  # cancelled (Ctrl-C, the client stopping): asked again next time
            journal.add(plan, result)
            done[(index, model)] = result
            if on_result is not None:
                on_result(result)

    workers = []
    for provider, queue in by_provider.items():
        width = max(1, client.config.provider(provider).max_parallel)
        workers += [worker(queue) for _ in range(min(width, len(queue)))]
    await asyncio.gather(*workers)
    return ordered(plan, done)


def matchups(plan: Plan) -> list[tuple[str, int, str, str]]:
    """A blind run's pairs to vote on: ``(name, prompt index, model, model)``
    for each prompt and each two models, in queue order."""
    from itertools import combinations

    combos = list(combinations(plan.models, 2))
    out = []
    for index in range(len(plan.prompts)):
        for c, (m1, m2) in enumerate(combos):
            suffix = "" if len(combos) == 1 else f"-{c + 1}"
            out.append((f"{plan.name}-{index + 1}{suffix}", index, m1, m2))
    return out


def deal_pairs(data_dir: Path, plan: Plan) -> int:
    """Save a pending blind comparison (``history/blinds.py``) for each pair
    of a blind run not dealt yet, its labels in random order; a resumed run
    deals none twice (nor one already voted on). Returns how many are new."""
    import random

    from copilot_repl.history.blinds import BlindStore, Pending
    from copilot_repl.history.votes import HUMAN, Side, VoteStore

    blinds = BlindStore(data_dir)
    votes, _ = VoteStore(data_dir).load()
    voted = {v.name for v in votes if v.run == plan.name and v.by == HUMAN}
    rng = random.SystemRandom()
    every = matchups(plan)
    new = 0
    for number, (name, index, m1, m2) in enumerate(every, 1):
        if name in voted or blinds.path(name).exists():
            continue
        pair = [m1, m2]
        rng.shuffle(pair)
        labels = {
            lab: Side(plan.session_name(index, m), m, m) for lab, m in zip("AB", pair, strict=True)
        }
        pending = Pending(
            name,
            plan.prompts[index],
            labels,
            run=plan.name,
            index=number,
            of=len(every),
            tag=plan.tag(index),
        )
        blinds.save(pending)
        new += 1
    return new


async def ask(
    client: CopilotClient, plan: Plan, index: int, model: str, on_turn: OnTurn | None = None
) -> Result | None:
    """One prompt to one model, in its own new session (None: cancelled)."""
    prompt = plan.prompts[index]
    name = plan.session_name(index, model)
    await _clear_leftover(client, name, prompt)
    opts: dict[str, Any] = {"session_id": name, "model": model}
    if plan.system:
        opts["system_message"] = plan.system
    session = await client.create_session(**opts)
    client.store.mark_origin(name, "compare")  # kept out of Tab and :ls
    turn = await session.submit(prompt)
    if on_turn is not None:
        on_turn(turn)
    await turn.wait()
    if turn.cancelled:
        return None
    from copilot_repl.api.turn import status_of

    status = "failed" if turn.error and not turn.text else str(status_of(turn))
    return Result(
        prompt_index=index,
        prompt=prompt,
        model=model,
        session=name,
        status=status,
        reply=turn.text,
        error=turn.error,
        figures=dict(turn.figures()),
    )


async def _clear_leftover(client: CopilotClient, name: str, prompt: str) -> None:
    """A session left by a run that was killed before its reply reached the
    journal is replaced; any other session of that name is never touched."""
    if not client.store.exists(name):
        return
    session = await client.resume_session(name)
    msgs = session.messages
    # killed before the prompt was written, or before the reply ended
    ours = not msgs or (msgs[0].role == "user" and msgs[0].content == prompt and len(msgs) <= 2)
    if not ours:
        raise SessionExists(
            f"session {name!r} exists and is not this comparison's; rename it, or pick --name"
        )
    await client.delete_session(name)


# -- what people read ----------------------------------------------------------
@dataclass(frozen=True)
class ModelSummary:
    model: str
    replies: int
    failures: int
    ttft: float | None  # median seconds
    rate: float | None  # median tokens per second (decode only)
    tokens_in: int
    tokens_out: int
    counted: bool  # some token counts are estimates
    cost: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "replies": self.replies,
            "failures": self.failures,
            "median_ttft_s": self.ttft,
            "median_tok_s": self.rate,
            "tokens_in": self.tokens_in,
            "tokens_out": self.tokens_out,
            "tokens_counted": self.counted,
            "cost": self.cost,
        }

    def cells(self) -> list[str]:
        mark = "~" if self.counted else ""
        return [
            self.model,
            str(self.replies),
            str(self.failures),
            "-" if self.ttft is None else f"{self.ttft:.2f} s",
            "-" if self.rate is None else f"{self.rate:.0f}",
            f"{self.tokens_in}/{mark}{self.tokens_out}",
            "-" if self.cost is None else f"${self.cost:.4f}",
        ]


SUMMARY_HEADER = ["model", "replies", "failed", "median TTFT", "median tok/s", "tokens in/out"]
SUMMARY_HEADER = [*SUMMARY_HEADER, "cost"]


def cost_of(figures: Mapping[str, Any]) -> float | None:
    value = figures.get("cost", figures.get("cost_usd"))
    return float(value) if isinstance(value, int | float) else None


def summarize(plan: Plan, results: Sequence[Result]) -> list[ModelSummary]:
    out = []
    for model in plan.models:
        mine = [r for r in results if r.model == model]
        ok = [r for r in mine if r.ok]
        ttfts = [
            r.figures["ttft_s"] for r in ok if isinstance(r.figures.get("ttft_s"), int | float)
        ]
        rates = [r.figures["tok_s"] for r in ok if isinstance(r.figures.get("tok_s"), int | float)]
        costs = [c for c in (cost_of(r.figures) for r in mine) if c is not None]
        out.append(
            ModelSummary(
                model=model,
                replies=len(ok),
                failures=len(mine) - len(ok),
                ttft=round(statistics.median(ttfts), 3) if ttfts else None,
                rate=round(statistics.median(rates), 1) if rates else None,
                tokens_in=sum(int(r.figures.get("tokens_in") or 0) for r in mine),
                tokens_out=sum(int(r.figures.get("tokens_out") or 0) for r in mine),
                counted=any(r.figures.get("counted") for r in mine),
                cost=round(sum(costs), 6) if costs else None,
            )
        )
    return out


def figures_line(figures: Mapping[str, Any], *, short: bool = False) -> str:
    """``0.21 s to first token · 48 tok/s · 3.1 s · 12→140 tokens · $0.0004``
    (``short``: ``TTFT 0.21 s`` and no total time)."""
    bits = []
    if isinstance(figures.get("ttft_s"), int | float):
        ttft = figures["ttft_s"]
        bits.append(f"TTFT {ttft:.2f} s" if short else f"{ttft:.2f} s to first token")
    if isinstance(figures.get("tok_s"), int | float):
        bits.append(f"{figures['tok_s']:.0f} tok/s")
    if isinstance(figures.get("total_s"), int | float) and not short:
        bits.append(f"{figures['total_s']:.1f} s")
    out_tokens = figures.get("tokens_out")
    if out_tokens is not None:
        mark = "~" if figures.get("counted") else ""
        tin = figures.get("tokens_in")
        bits.append(
            f"{tin}→{mark}{out_tokens} tokens" if tin is not None else f"{mark}{out_tokens} tokens"
        )
    cost = cost_of(figures)
    if cost is not None:
        bits.append(f"${cost:.4f}")
    return " · ".join(bits)


def _cell(text: str) -> str:
    """Text inside one Markdown table cell."""
    body = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "")
    return body.strip().replace("\n", "<br>") or " "


def report(plan: Plan, results: Sequence[Result], votes: Sequence[Vote], path: Path) -> str:
    """``--report FILE``: HTML for a ``.html`` file (``repl/report.py``), else
    Markdown. The votes shown are this run's and those among its models."""
    if path.suffix.lower() in (".html", ".htm"):
        from copilot_repl.repl.report import report_html

        mine = [
            v
            for v in votes
            if v.run == plan.name or (not v.run and set(v.contestants) <= set(plan.models))
        ]
        return report_html(mine, [(plan, results)])
    return report_markdown(plan, results, votes)


def report_markdown(plan: Plan, results: Sequence[Result], votes: Sequence[Vote] = ()) -> str:
    """The comparison as Markdown: the summary, then each prompt with the
    replies side by side (one column per model) and their figures, and the
    votes cast on the same prompt between these models."""
    lines = [f"# Comparison {plan.name}", ""]
    lines.append("Models: " + ", ".join(f"`{m}`" for m in plan.models) + "  ")
    if plan.system:
        lines.append(f"System prompt: {_cell(plan.system)}  ")
    lines.append(f"Prompts: {len(plan.prompts)}; replies: {len(results)} of {len(plan.pairs())}")
    lines += ["", "## Summary", ""]
    lines.append("| " + " | ".join(SUMMARY_HEADER) + " |")
    lines.append("|" + "---|" * len(SUMMARY_HEADER))
    for s in summarize(plan, results):
        lines.append("| " + " | ".join(_cell(c) for c in s.cells()) + " |")
    found = {(r.prompt_index, r.model): r for r in results}
    for index, prompt in enumerate(plan.prompts):
        lines += ["", f"## Prompt {index + 1}", ""]
        lines += ["> " + line for line in prompt.splitlines()] or ["> "]
        lines += ["", "| " + " | ".join(f"`{m}`" for m in plan.models) + " |"]
        lines.append("|" + "---|" * len(plan.models))
        row, figs = [], []
        for model in plan.models:
            r = found.get((index, model))
            if r is None:
                row.append("*(not asked yet)*")
                figs.append(" ")
                continue
            text = r.reply if r.reply else ""
            if r.status != "done":
                text += f"\n\n*({r.status}{': ' + r.error if r.error else ''})*"
            row.append(_cell(text))
            figs.append(_cell(figures_line(r.figures) + f"\nsession `{r.session}`"))
        lines.append("| " + " | ".join(row) + " |")
        lines.append("| " + " | ".join(figs) + " |")
        cast = [v for v in votes if v.prompt == prompt and set(v.contestants) <= set(plan.models)]
        if cast:
            lines += ["", "Votes:", ""]
            for v in cast:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.ts))
                winner = v.winner or v.verdict
                between = " vs ".join(v.contestants)
                lines.append(f"- {when}: {between} → **{winner}**")
    return "\n".join(lines) + "\n"
