"""A batch comparison run (``compare``, ``:compare``): every pair of its
plan not answered yet is asked in its own new session, each provider at most
``max_parallel`` at once, and each result goes to the run's journal
(``history/comparisons.py``) as its reply ends. One process runs a journal at
a time. This module knows no terminal: the front ends show progress through
``on_result``."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from copilot_repl.api.turn import Turn, status_of
from copilot_repl.errors import SessionExists
from copilot_repl.history import busy
from copilot_repl.history.blinds import BlindStore, Pending
from copilot_repl.history.comparisons import Journal, Plan, Result, matchups, ordered
from copilot_repl.history.votes import HUMAN, Side, VoteStore

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient

OnResult = Callable[[Result], None]
OnTurn = Callable[[Turn], None]


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


def deal_pairs(data_dir: Path, plan: Plan) -> int:
    """Save a pending blind comparison (``history/blinds.py``) for each pair
    of a blind run not dealt yet, its labels in random order; a resumed run
    deals none twice (nor one already voted on). Returns how many are new."""
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
