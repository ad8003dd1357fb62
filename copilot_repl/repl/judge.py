"""A model votes instead of a person (``compare --judge MODEL``).

Each pair of replies is judged twice, the second time with the replies'
places swapped, because judges favour a position: the vote is the verdict
both passes agree on, and a tie when they disagree. The judge's one-line
reasons are kept in the vote (``reason``), which is recorded with ``by:
"judge"`` and ``judge: MODEL`` next to people's votes in ``votes.jsonl``;
``:scores --by judge|human`` rates from one kind or the other.

The judge is asked directly (no session is made for it); it answers with a
first word ``A``, ``B``, ``tie`` or ``bad``, then a reason on the same line.
An answer that does not start so counts as no vote for that pair (said).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from copilot_repl.errors import ReplError
from copilot_repl.history.comparisons import matchups
from copilot_repl.history.votes import HUMAN, JUDGE, Side, Vote, VoteStore

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.history.comparisons import Plan, Result

SYSTEM = (
    "You judge two replies to the same prompt. Answer on one line: first the word A "
    "(reply A is better), B (reply B is better), tie (equally good) or bad (both bad), "
    "then a dash and the reason in a few words."
)
_VERDICT = re.compile(r"^\W*(A|B|tie|bad|both bad)\b\W*(.*)$", re.IGNORECASE | re.DOTALL)


def request(prompt: str, first: str, second: str) -> list[dict[str, str]]:
    """What the judge is sent: the prompt, then the replies as A and B."""
    user = (
        f"Prompt:\n<<<\n{prompt}\n>>>\n\nReply A:\n<<<\n{first}\n>>>\n\n"
        f"Reply B:\n<<<\n{second}\n>>>\n\nWhich reply is better? A, B, tie or bad, then why."
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse(answer: str) -> tuple[str, str] | None:
    """``("A"|"B"|"tie"|"bad", reason)`` from the judge's answer; None if it
    does not start with a verdict."""
    line = next((x for x in answer.strip().splitlines() if x.strip()), "")
    found = _VERDICT.match(line)
    if found is None:
        return None
    word = found.group(1).lower()
    verdict = {"a": "A", "b": "B", "both bad": "bad"}.get(word, word)
    reason = found.group(2).strip(" -–—:.") or "(no reason given)"
    return verdict, reason


def combine(first: str, swapped: str) -> str:
    """The vote from two passes: ``first`` with x as A and y as B,
    ``swapped`` with y as A and x as B. Returns ``A`` (x), ``B`` (y),
    ``tie`` or ``bad``: what both passes agree on, else a tie."""
    back = {"A": "B", "B": "A"}.get(swapped, swapped)  # swapped's labels, as in the first
    return first if first == back else "tie"


@dataclass(frozen=True)
class Judged:
    name: str  # the pair's name (as in the vote queue)
    vote: Vote | None
    problem: str = ""


async def ask_model(client: CopilotClient, model: str, messages: list[dict[str, str]]) -> str:
    """One answer from ``model``, without a session."""
    provider_name, _, model_id = model.partition(":")
    provider = client.provider(provider_name)
    async with client.slot(provider_name):
        reply = await provider.stream(
            model_id, messages, lambda _d: None, lambda _s: None, session_id=""
        )
    return reply.text


async def judge_run(
    client: CopilotClient,
    plan: Plan,
    results: list[Result],
    judge: str,
    on_judged: Callable[[Judged], None] | None = None,
) -> list[Judged]:
    """Judge every pair of ``plan`` whose two replies came and that this
    judge has not voted on yet; each vote is appended as it is made."""

    data_dir = client.config.data_dir
    store = VoteStore(data_dir)
    votes, _ = store.load()
    done = {v.name for v in votes if v.by == JUDGE and v.judge == judge and v.run == plan.name}
    found = {(r.prompt_index, r.model): r for r in results if r.ok}
    out: list[Judged] = []

    async def one(name: str, index: int, x: str, y: str) -> None:
        rx, ry = found[(index, x)], found[(index, y)]
        prompt = plan.prompts[index]
        try:
            first = parse(await ask_model(client, judge, request(prompt, rx.reply, ry.reply)))
            second = parse(await ask_model(client, judge, request(prompt, ry.reply, rx.reply)))
        except ReplError as exc:
            judged = Judged(name, None, f"the judge failed: {exc}")
        else:
            if first is None or second is None:
                problem = "the judge's answer did not start with A, B, tie or bad"
                judged = Judged(name, None, problem)
            else:
                vote = Vote(
                    prompt=prompt,
                    labels={
                        "A": Side(rx.session, x, x),
                        "B": Side(ry.session, y, y),
                    },
                    verdict=combine(first[0], second[0]),
                    name=name,
                    run=plan.name,
                    tag=plan.tag(index),
                    by=JUDGE,
                    judge=judge,
                    reason=f"{first[0]}: {first[1]} | swapped, {second[0]}: {second[1]}",
                )
                store.append(vote)
                judged = Judged(name, vote)
        out.append(judged)
        if on_judged is not None:
            on_judged(judged)

    todo = [
        (name, index, x, y)
        for name, index, x, y in matchups(plan)
        if name not in done and (index, x) in found and (index, y) in found
    ]
    await asyncio.gather(*(one(*item) for item in todo))
    return out


def agreement(votes: list[Vote]) -> tuple[int, int]:
    """``(agreed, compared)``: of the pairs voted on by a person and by a
    judge, how many got the same verdict (the same winner, or both no
    winner). A person's vote and a judge's are matched by the pair's name."""
    human = {v.name: v for v in votes if v.by == HUMAN and v.run}
    compared = agreed = 0
    for v in votes:
        if v.by != JUDGE or v.name not in human:
            continue
        h = human[v.name]
        compared += 1
        if h.winner == v.winner:
            agreed += 1
    return agreed, compared
