"""Batch comparisons at the REPL's level: the prompts file read
(``--prompts``), the plan made from the command's options, and what people
read afterwards: the per-model summary, the figures line, the ``--out``
JSON Lines and the ``--report`` Markdown (HTML: ``repl/report.py``). The
plan and its journal are in ``history/comparisons.py``, the run in
``api/batch.py``."""

from __future__ import annotations

import json
import os
import re
import statistics
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_repl.errors import StoreError, UsageError
from copilot_repl.history.comparisons import Journal, Plan, Result
from copilot_repl.history.files import write_output as write_file
from copilot_repl.history.inputs import loads, lone_surrogate, read_text
from copilot_repl.history.names import validate_name
from copilot_repl.history.records import dumps
from copilot_repl.history.votes import VoteStore
from copilot_repl.repl.report import report_html
from copilot_repl.repl.wording import cost_of, figures_line

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.history.votes import Vote

MAX_PROMPTS_FILE = 16 << 20  # bytes


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
    prompts_read = tuple(p for p, _ in tagged)
    return Plan.new(resolved, prompts_read, system=system, name=name, tags=tags, blind=blind)


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
    try:
        write_file(path, text, overwrite=True)
    except StoreError as exc:
        raise StoreError(
            f"{exc}; every reply is kept in {journal} "
            "(:compare --name NAME --report FILE writes the report again)"
        ) from None


def jsonl_body(plan: Plan, results: Iterable[Result]) -> str:
    """``--out``: one JSON line per result (a lone surrogate escaped)."""
    return "".join(dumps(r.to_dict(plan.name)).decode() for r in results)


def write_outputs(
    data_dir: Path, plan: Plan, results: Sequence[Result], out: Path | None, to: Path | None
) -> None:
    """``--out`` (the results as JSON Lines) and ``--report`` (``to``:
    Markdown, or HTML for a ``.html`` name)."""
    journal = Journal(data_dir, plan.name).path
    if out is not None:
        write_output(out, jsonl_body(plan, results), journal)
    if to is not None:
        votes, _ = VoteStore(data_dir).load()
        write_output(to, report(plan, results, votes, to), journal)


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


def _cell(text: str) -> str:
    """Text inside one Markdown table cell."""
    body = text.replace("\\", "\\\\").replace("|", "\\|").replace("\r", "")
    return body.strip().replace("\n", "<br>") or " "


def report(plan: Plan, results: Sequence[Result], votes: Sequence[Vote], path: Path) -> str:
    """``--report FILE``: HTML for a ``.html`` file (``repl/report.py``), else
    Markdown. The votes shown are this run's and those among its models."""
    if path.suffix.lower() in (".html", ".htm"):
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
