"""A batch comparison's plan (each prompt to each model), its results, and
the journal that lets an interrupted run resume where it stopped (the run
itself: ``api/batch.py``; its reports: ``repl/batch.py``).

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
fresh session of the same name.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

from copilot_repl.errors import SessionExists, UsageError
from copilot_repl.history.jsonl import append_record, read_records
from copilot_repl.history.names import validate_name

VERSION = 1
SUBDIR = "compare"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


# -- the plan ------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """Which prompts go to which models, under which name (``Plan.new``
    names it after its content when no name is given)."""

    models: tuple[str, ...]  # provider:model, resolved
    prompts: tuple[str, ...]
    name: str
    system: str = ""
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

    @classmethod
    def new(
        cls,
        models: tuple[str, ...],
        prompts: tuple[str, ...],
        *,
        system: str = "",
        name: str = "",
        tags: tuple[str, ...] = (),
        blind: bool = False,
    ) -> Plan:
        """A plan; without a name, one digested from its models, prompts and
        system prompt (the same command again resumes the same run)."""
        if not name:
            parts = [list(models), list(prompts), system] + (["blind"] if blind else [])
            digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()
            name = f"cmp-{digest[:8]}"
        return cls(models, prompts, name, system, tags, blind)

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
        name,
        str(header.get("system") or ""),
        tuple(str(t) for t in header.get("tags") or ()),
        bool(header.get("blind")),
    )
    return plan, ordered(plan, results), journal.warnings


def ordered(plan: Plan, results: Mapping[tuple[int, str], Result]) -> list[Result]:
    return [results[p] for p in plan.pairs() if p in results]


def matchups(plan: Plan) -> list[tuple[str, int, str, str]]:
    """A blind run's pairs to vote on: ``(name, prompt index, model, model)``
    for each prompt and each two models, in queue order."""
    combos = list(combinations(plan.models, 2))
    out = []
    for index in range(len(plan.prompts)):
        for c, (m1, m2) in enumerate(combos):
            suffix = "" if len(combos) == 1 else f"-{c + 1}"
            out.append((f"{plan.name}-{index + 1}{suffix}", index, m1, m2))
    return out
