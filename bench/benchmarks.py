"""The six benchmarks of issue #7. Each returns table rows; every figure is
compared with a floor measured in the same run."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from arrival import ArrivalServer
from floors import (
    ASYNC_FLOOR,
    BARE_FLOOR,
    IMPORTS,
    NOTHING,
    SYNC_FLOOR,
    TOOL_FLOOR,
    TOOL_REPL,
)
from harness import (
    CLI,
    PROMPT_RE,
    PYTHON,
    READY_RE,
    ROOT,
    STATS_RE,
    ChildResult,
    Goal,
    Homes,
    PtyChild,
    Row,
    Sample,
    ServerProcess,
    checked,
    child_env,
    proc_cpu,
    proc_hwm_kb,
    proc_runtime,
    run_child,
    scratch,
    with_server,
)
from storegen import Texts, make_store, write_session

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Sizes:
    repeats: int = 5
    warmup: int = 1
    deltas: int = 20_000  # script mode, memory, rendering (and twice that)
    fan_sessions: int = 8
    fan_deltas: int = 5_000
    store_sessions: int = 1_000
    store_messages: int = 200
    big_messages: int = 10_000
    local_rounds: int = 3  # per timed round: copilot-repl and the floor, alternating
    local_tokens: int = 200
    local_old: bool = True  # also the threads = 2 rows
    users: int = 1_000  # sessions open at once in one process (users)
    user_streams: int = 100  # of them streaming at once
    user_deltas: int = 2_000
    long_messages: int = 200_000  # the long transcript (long)


FULL = Sizes()
QUICK = Sizes(
    repeats=1,
    warmup=0,
    deltas=500,
    fan_deltas=100,
    store_sessions=20,
    store_messages=20,
    big_messages=200,
    local_rounds=1,
    local_tokens=16,
    local_old=False,
    users=50,
    user_streams=10,
    user_deltas=100,
    long_messages=2_000,
)

Bench = Callable[[Sizes], list[Row]]


def _k(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def _rounds(sizes: Sizes) -> list[bool]:
    """For each round: True if it is timed (warm-up rounds come first)."""
    return [False] * sizes.warmup + [True] * sizes.repeats


def floor_child(script: str, server: ServerProcess, prompt: str) -> ChildResult:
    return with_server(
        server,
        lambda: checked(
            run_child([PYTHON, "-c", script, server.url, prompt], env=child_env()), "the floor"
        ),
    )


def floor_run(script: str, server: ServerProcess, prompt: str) -> Sample:
    return floor_child(script, server, prompt).sample


def repl_run(server: ServerProcess, home: Path, stdin: str, *args: str) -> tuple[Sample, bytes]:
    def run() -> ChildResult:
        # a retried run starts again from an empty data dir
        shutil.rmtree(home / "sessions", ignore_errors=True)
        return checked(
            run_child(
                [CLI, "--base-url", server.url, *args], stdin=stdin.encode(), env=child_env(home)
            ),
            "copilot-repl",
        )

    r = with_server(server, run)
    return r.sample, r.out


# --------------------------------------------------------------------------- 1. script mode


def bench_script(sizes: Sizes) -> list[Row]:
    n = sizes.deltas
    prompt = f"go #deltas={n}"
    floor = Row("script", f"floor: httpx + httpx-sse, {_k(n)} deltas")
    afloor = Row("script", f"floor: async httpx + aconnect_sse, {_k(n)} deltas", floor=floor)
    repl = Row(
        "script", f"copilot-repl script mode, {_k(n)} deltas", floor=floor, goal=Goal("ratio", 1.3)
    )
    # against the bare floor (httpx.stream + iter_lines), the same runs
    bare = Row("script", f"floor: bare httpx.stream + iter_lines, {_k(n)} deltas")
    repl_bare = Row(
        "script",
        f"copilot-repl script mode, {_k(n)} deltas, vs the bare floor",
        samples=repl.samples,
        floor=bare,
        goal=Goal("ratio", 1.3),
    )
    bare2 = Row("script", "floor: bare httpx.stream + iter_lines, 2 deltas")
    repl2 = Row(
        "script", "copilot-repl script mode, 2 deltas", floor=bare2, goal=Goal("ratio", 1.5)
    )
    # the rows above run issue 26's command, `--base-url URL --model M` (a new
    # data dir each run); without --model a new "main" first asks for the models
    repl2_models = Row(
        "script", "copilot-repl script mode, 2 deltas, no --model (lists the models)", floor=bare2
    )
    model = ("--model", "gpt-4o-mini")  # the model the floors name
    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        expected = b""
        for timed in _rounds(sizes):
            r = floor_child(SYNC_FLOOR, server, prompt)
            expected = r.out
            a = floor_run(ASYNC_FLOOR, server, prompt)
            b = floor_child(BARE_FLOOR, server, prompt)
            s, out = repl_run(server, homes.new(), prompt + "\n", *model)
            b2 = floor_run(BARE_FLOOR, server, "go #deltas=2")
            s2 = repl_run(server, homes.new(), "go #deltas=2\n", *model)[0]
            s2m = repl_run(server, homes.new(), "go #deltas=2\n")[0]
            if out != expected or b.out != expected:
                repl.problem(f"output ({len(out)} B) differs from the floor's ({len(expected)} B)")
            if timed:
                floor.samples.append(r.sample)
                afloor.samples.append(a)
                repl.samples.append(s)
                bare.samples.append(b.sample)
                bare2.samples.append(b2)
                repl2.samples.append(s2)
                repl2_models.samples.append(s2m)
    return [floor, afloor, repl, bare, repl_bare, bare2, repl2, repl2_models]


# --------------------------------------------------------------------------- 2. start


def _prompt_in_pty(
    argv: list[str], env: dict[str, str], ready: list[Sample] | None = None
) -> Sample:
    """Start → the prompt drawn; with ``ready``, also start → the line
    editor's own prompt (keys are read from there on), appended to it."""
    pty = PtyChild(argv, env)
    try:
        t = pty.wait_for(PROMPT_RE, timeout=30)
        drawn = Sample(wall=t - pty.started, cpu=proc_cpu(pty.pid), rss_kb=proc_hwm_kb(pty.pid))
        if ready is not None:
            pty.tail = pty.last.string if pty.last else b""  # the editor's mark may precede
            t = pty.wait_for(READY_RE, timeout=30)
            sample = Sample(wall=t - pty.started, cpu=proc_cpu(pty.pid))
            ready.append(Sample(sample.wall, sample.cpu, proc_hwm_kb(pty.pid)))
        return drawn
    finally:
        pty.close()


def bench_start(sizes: Sizes) -> list[Row]:
    floor = Row("start", "floor: python -c pass")
    version = Row("start", "copilot-repl --version", floor=floor, goal=Goal("abs", 0.15))
    script = Row(
        "start",
        "script mode, empty input (fresh data dir; nothing to run, so nothing is opened)",
        floor=floor,
        goal=Goal("abs", 0.15),
    )
    imports = Row("start", "floor: python -c 'import httpx, json'")
    script_imports = Row(
        "start",
        "script mode, empty input, vs importing httpx",
        samples=script.samples,
        floor=imports,
        goal=Goal("ratio", 1.5),
    )
    pty_floor = Row("start", "floor: python prints › in a pty")
    prompt = Row(
        "start",
        "interactive prompt drawn in a pty (fresh data dir)",
        floor=pty_floor,
        goal=Goal("ratio", 4.0),
    )
    ready = Row("start", "line editor's prompt drawn (keys read from here)", floor=pty_floor)
    version_nc = Row("start", "--version, no .pyc (PYTHONDONTWRITEBYTECODE=1)", floor=floor)
    prompt_nc = Row(
        "start", "prompt in a pty, no .pyc (PYTHONDONTWRITEBYTECODE=1)", floor=pty_floor
    )
    # a data dir with a session: every start after the first (a fresh one with
    # only --base-url also asks the server for its models when creating "main")
    script_again = Row("start", "script mode, empty input, a saved session", floor=floor)
    prompt_again = Row(
        "start", "prompt drawn in a pty, a saved session", floor=pty_floor, goal=Goal("ratio", 4.0)
    )
    ready_again = Row("start", "line editor's prompt drawn, a saved session", floor=pty_floor)
    rows = [floor, version, script, imports, pty_floor, prompt, ready, version_nc, prompt_nc]
    rows += [script_again, prompt_again, ready_again]
    # one command: the session is opened (a new "main" with only --base-url asks for the models)
    ls_fresh = Row("start", "script mode, `:ls`, fresh data dir (lists the models)", floor=imports)
    ls_saved = Row("start", "script mode, `:ls`, a saved session", floor=imports)
    rows += [ls_fresh, ls_saved]
    texts = Texts(random.Random(5))

    def saved() -> dict[str, str]:
        home = homes.new()
        (home / "sessions").mkdir(mode=0o700)
        write_session(home / "sessions", "main", 2, created=1_700_000_000.0, texts=texts)
        return child_env(home)

    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        shell = [CLI, "--base-url", server.url]
        for timed in _rounds(sizes):
            editor: list[Sample] = []
            editor_again: list[Sample] = []
            samples = [
                checked(run_child([PYTHON, "-c", NOTHING], env=child_env()), "python").sample,
                checked(run_child([CLI, "--version"], env=child_env()), "--version").sample,
                repl_run(server, homes.new(), "")[0],
                checked(run_child([PYTHON, "-c", IMPORTS], env=child_env()), "python").sample,
                _prompt_in_pty([PYTHON, "-c", "print('\\u203a')"], child_env(homes.new())),
                _prompt_in_pty(shell, child_env(homes.new()), editor),
                *editor,
                checked(
                    run_child([CLI, "--version"], env=child_env(bytecode=False)), "--version"
                ).sample,
                _prompt_in_pty(shell, child_env(homes.new(), bytecode=False)),
                checked(run_child(shell, env=saved()), "script mode").sample,
                _prompt_in_pty(shell, saved(), editor_again),
                *editor_again,
                repl_run(server, homes.new(), ":ls\n")[0],
                checked(run_child(shell, stdin=b":ls\n", env=saved()), "script mode").sample,
            ]
            if timed:
                for row, sample in zip(rows, samples, strict=True):
                    row.samples.append(sample)
    return [*rows[:4], script_imports, *rows[4:]]


# --------------------------------------------------------------------------- 3. rendering


def _shell_turns(
    server: ServerProcess,
    home: Path,
    deltas: list[int],
    *,
    plain: bool = False,
    row: Row | None = None,
) -> list[Sample]:
    """One interactive shell in a 120x40 pty; one prompt per entry of
    ``deltas``, each timed from Enter to the stats line."""

    def run() -> list[Sample]:
        shutil.rmtree(home / "sessions", ignore_errors=True)
        return _shell_turns_once(server.url, home, deltas, plain=plain, row=row)

    return with_server(server, run)


def _shell_turns_once(
    url: str, home: Path, deltas: list[int], *, plain: bool, row: Row | None
) -> list[Sample]:
    env = child_env(home, NO_COLOR="1") if plain else child_env(home)
    pty = PtyChild([CLI, "--base-url", url], env, rows=40, cols=120)
    samples = []
    try:
        pty.wait_for(READY_RE, timeout=30)  # not the first frame: keys wait for the editor
        for n in deltas:
            cpu0 = proc_cpu(pty.pid) or 0.0
            t0 = pty.send(f"go #deltas={n}\r")
            t1 = pty.wait_for(STATS_RE)
            cpu1 = proc_cpu(pty.pid) or 0.0
            tokens = int(pty.last.group(1)) if pty.last else -1
            if tokens != n and row is not None:
                row.problem(f"the stats line says {tokens} tokens for {n} deltas")
            samples.append(
                Sample(
                    wall=t1 - t0, cpu=cpu1 - cpu0, rss_kb=proc_hwm_kb(pty.pid), out_bytes=pty.total
                )
            )
            pty.wait_for(PROMPT_RE, timeout=30)
    finally:
        pty.close()
    return samples


def bench_render(sizes: Sizes) -> list[Row]:
    n1, n2 = sizes.deltas, 2 * sizes.deltas
    floor1 = Row("render", f"floor: httpx + httpx-sse, {_k(n1)} deltas")
    floor2 = Row("render", f"floor: httpx + httpx-sse, {_k(n2)} deltas")
    shell1 = Row(
        "render",
        f"shell, Markdown in a pty, {_k(n1)} deltas",
        floor=floor1,
        goal=Goal("ratio", 2.0),  # issue 18
    )
    shell2 = Row(
        "render",
        f"shell, Markdown in a pty, {_k(n2)} deltas",
        floor=floor2,
        goal=Goal("ratio", 2.0),  # issue 18
    )
    again = Row("render", f"shell, same shell's 2nd reply, {_k(n1)} deltas", floor=floor1)
    plain = Row("render", f"shell, NO_COLOR (plain), {_k(n1)} deltas", floor=floor1)
    linear = Row(
        "render", f"linearity: {_k(n2)} / {_k(n1)} time", unit="×", goal=Goal("ratio", 2.2)
    )
    alone1 = Row("render", f"MarkdownStream alone (no network, no pty), {_k(n1)}")
    alone2 = Row("render", f"MarkdownStream alone (no network, no pty), {_k(n2)}")
    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        for timed in _rounds(sizes):
            f1 = floor_run(SYNC_FLOOR, server, f"go #deltas={n1}")
            f2 = floor_run(SYNC_FLOOR, server, f"go #deltas={n2}")
            first, second = _shell_turns(server, homes.new(), [n1, n1], row=shell1)
            (big,) = _shell_turns(server, homes.new(), [n2], row=shell2)
            (bare,) = _shell_turns(server, homes.new(), [n1], plain=True, row=plain)
            a1, a2 = (_render_only(n) for n in (n1, n2))
            if timed:
                floor1.samples.append(f1)
                floor2.samples.append(f2)
                shell1.samples.append(first)
                again.samples.append(second)
                shell2.samples.append(big)
                plain.samples.append(bare)
                linear.samples.append(Sample(wall=big.wall / first.wall))
                alone1.samples.append(a1)
                alone2.samples.append(a2)
    return [floor1, floor2, shell1, shell2, linear, again, plain, alone1, alone2]


def _render_only(n: int) -> Sample:
    """The time ``bench/render_only.py`` reports (feeding only, no start-up)."""
    r = checked(
        run_child([PYTHON, str(HERE / "render_only.py"), str(n)], env=child_env()), "render_only.py"
    )
    r.sample.wall = float(r.out.decode().strip())
    return r.sample


# --------------------------------------------------------------------------- 4. fan-out


def _fanout_script(sizes: Sizes) -> str:
    news = "".join(f":new s{i}\n" for i in range(2, sizes.fan_sessions + 1))
    return news + f":all go #deltas={sizes.fan_deltas}\n"


def _check_fanout(out: bytes, sizes: Sizes, row: Row) -> None:
    headers = out.count(b"\n=== s") + out.startswith(b"=== s")
    if headers != sizes.fan_sessions:
        row.problem(f"{headers} replies printed for {sizes.fan_sessions} sessions")


def bench_fanout(sizes: Sizes) -> list[Row]:
    total = sizes.fan_sessions * sizes.fan_deltas
    single = Row("fanout", f"one session, one {_k(total)}-delta reply")
    fan = Row(
        "fanout",
        f":all, {sizes.fan_sessions} sessions × {_k(sizes.fan_deltas)} deltas",
        floor=single,
        goal=Goal("ratio", 1.5),
    )
    fan8 = Row("fanout", f":all, same, max_parallel = {sizes.fan_sessions} in config", floor=single)
    script = _fanout_script(sizes)
    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        for timed in _rounds(sizes):
            s1, _ = repl_run(server, homes.new(), f"go #deltas={total}\n", "--session", "s1")
            s2, out2 = repl_run(server, homes.new(), script, "--session", "s1")
            _check_fanout(out2, sizes, fan)
            home = homes.new()
            (home / "config.toml").write_text(
                f"[providers.openai]\nmax_parallel = {sizes.fan_sessions}\n"
            )
            s3, out3 = repl_run(server, home, script, "--session", "s1")
            _check_fanout(out3, sizes, fan8)
            if timed:
                single.samples.append(s1)
                fan.samples.append(s2)
                fan8.samples.append(s3)
    return [single, fan, fan8]


# --------------------------------------------------------------------------- 5. store scale


def _arrival_run(server: ArrivalServer, home: Path, session: str) -> tuple[Sample, Sample, int]:
    server.take()
    r = checked(
        run_child(
            [CLI, "--base-url", server.url, "--session", session],
            stdin=b"one more question\n",
            env=child_env(home),
        ),
        "copilot-repl",
    )
    arrivals = server.take()
    if len(arrivals) != 1:
        raise RuntimeError(f"expected one request, got {len(arrivals)}")
    first = arrivals[0]
    leave = Sample(wall=first.first_byte - r.started, cpu=None, rss_kb=r.sample.rss_kb)
    return leave, r.sample, first.messages


def _switch_prompt(name: str) -> re.Pattern[bytes]:
    """The prompt of session ``name`` as the line editor draws it (in colour)."""
    sgr = rb"(?:\x1b\[[0-9;]*m)*"
    return re.compile(re.escape(name.encode()) + sgr + rb" \S+" + sgr + " ›".encode())


SWITCH_AFTER = 1.0  # s after start: the shell's imports for a first command are done


def _switch_run(home: Path, url: str, target: str) -> tuple[Sample, Sample]:
    """The shell opened on ``small``: ``:switch TARGET`` Enter (1 s after
    start, as a person would type it) → its prompt drawn; then back and forth
    once more (the session is open by then). The
    cpu column: the shell's own CPU time over the same span."""
    pty = PtyChild([CLI, "--base-url", url, "--session", "small"], child_env(home))

    def switch(name: str) -> Sample:
        cpu0 = proc_runtime(pty.pid) or 0.0
        t0 = pty.send(f":switch {name}\r")
        wall = pty.wait_for(_switch_prompt(name), timeout=60) - t0
        return Sample(wall=wall, cpu=(proc_runtime(pty.pid) or 0.0) - cpu0)

    try:
        pty.wait_for(READY_RE, timeout=60)
        pty.pump_until(pty.started + SWITCH_AFTER)  # typed by a person: after the warm-up
        first = switch(target)
        switch("small")
        return first, switch(target)
    finally:
        pty.close()


# summaries.json written as a listing writes it, without the index sidecar a
# listing also leaves: a data dir where nothing read the big session before.
SUMMARIES_ONLY = (
    "import sys\n"
    "from copilot_repl.history import index\n"
    "from copilot_repl.history.store import Store\n"
    "index.INDEX_MIN = 1 << 62\n"
    "Store(sys.argv[1]).summaries()\n"
)


def _switch_home(homes: Homes, pristine: Path, texts: Texts) -> Path:
    """A data dir holding ``big`` (a copy of ``pristine``), ``small`` and ``tiny``."""
    home = homes.new()
    (home / "sessions").mkdir(mode=0o700)
    shutil.copyfile(pristine, home / "sessions" / "big.jsonl")
    write_session(home / "sessions", "small", 1, created=1_700_000_000.0, texts=texts)
    write_session(home / "sessions", "tiny", 2, created=1_700_000_000.0, texts=texts)
    return home


def bench_store(sizes: Sizes) -> list[Row]:
    n, m, big_n = sizes.store_sessions, sizes.store_messages, sizes.big_messages
    floor = Row("store", "floor: python -c pass")
    ls = Row(
        "store", f":ls, {n} sessions × {m} msgs (incl. start)", floor=floor, goal=Goal("abs", 0.15)
    )
    ls_first = Row("store", ":ls, same, no state.json (first start)", floor=floor)
    leave_floor = Row("store", "floor: httpx + httpx-sse: start → request arrives")
    small = Row("store", "new empty session: start → request arrives", floor=leave_floor)
    big = Row(
        "store",
        f"{_k(big_n)}-msg session: start → request arrives",
        floor=leave_floor,
        goal=Goal("abs", 0.3),
    )
    big_total = Row("store", f"{_k(big_n)}-msg session: whole run, one turn", floor=floor)
    switch_floor = Row("store", "shell: :switch to a 2-message session → its prompt")
    switch = Row(
        "store",
        f"shell: :switch to the {_k(big_n)}-msg session → its prompt",
        floor=switch_floor,
        goal=Goal("abs", 0.05),
    )
    switch_again = Row("store", "shell: :switch to it again (open already)", floor=switch_floor)
    switch_cold = Row(
        "store",
        f"shell: :switch to the {_k(big_n)}-msg session, first read (no index)",
        floor=switch_floor,
    )
    with scratch() as tmp, ArrivalServer() as server:
        homes = Homes(tmp)
        many = homes.new()
        t = time.perf_counter()
        size = make_store(many, n, m)
        print(
            f"bench: wrote {n} sessions, {size / 1e6:.0f} MB, in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        keep = homes.new()
        texts = Texts(random.Random(11))
        big_size = write_session(keep, "big", big_n, created=1_700_000_000.0, texts=texts)
        pristine = keep / "big.jsonl"
        ls.note = f"{size / 1e6:.0f} MB of sessions"
        big.note = f"{big_size / 1e6:.1f} MB file"
        state = many / "state.json"
        # One untimed :ls leaves a state.json, as any earlier run would have.
        checked(
            run_child([CLI, "--base-url", server.url], stdin=b":ls\n", env=child_env(many)), ":ls"
        )
        for timed in _rounds(sizes):
            f = checked(run_child([PYTHON, "-c", NOTHING], env=child_env()), "python").sample
            r = checked(
                run_child([CLI, "--base-url", server.url], stdin=b":ls\n", env=child_env(many)),
                ":ls",
            )
            listed = len(r.out.splitlines())
            if listed != n:
                ls.problem(f"listed {listed} rows for {n} sessions")
            saved = state.read_bytes()
            state.unlink()
            r0 = checked(
                run_child([CLI, "--base-url", server.url], stdin=b":ls\n", env=child_env(many)),
                ":ls",
            )
            state.write_bytes(saved)
            server.take()
            fr = checked(
                run_child(
                    [PYTHON, "-c", SYNC_FLOOR, server.url, "one more question"], env=child_env()
                ),
                "the floor",
            )
            (arrived,) = server.take()
            leave_f = Sample(wall=arrived.first_byte - fr.started, rss_kb=fr.sample.rss_kb)
            home = homes.new()
            leave_small, _, _ = _arrival_run(server, home, "fresh")
            home = homes.new()
            (home / "sessions").mkdir(mode=0o700)
            shutil.copyfile(pristine, home / "sessions" / "big.jsonl")
            leave, whole, sent = _arrival_run(server, home, "big")
            big_total.note = f"request carried {sent} of {big_n + 1} messages"
            home = _switch_home(homes, pristine, texts)
            # the shell's start (its toolbar) reads big: summaries.json is new
            sw_big, sw_again = _switch_run(home, server.url, "big")
            sw_tiny, _ = _switch_run(home, server.url, "tiny")
            home = _switch_home(homes, pristine, texts)
            checked(run_child([PYTHON, "-c", SUMMARIES_ONLY, str(home)], env=child_env()), "ls")
            sw_cold, _ = _switch_run(home, server.url, "big")
            if timed:
                switch.samples.append(sw_big)
                switch_again.samples.append(sw_again)
                switch_floor.samples.append(sw_tiny)
                switch_cold.samples.append(sw_cold)
                floor.samples.append(f)
                ls.samples.append(r.sample)
                ls_first.samples.append(r0.sample)
                leave_floor.samples.append(leave_f)
                small.samples.append(leave_small)
                big.samples.append(leave)
                big_total.samples.append(whole)
    return [
        floor,
        ls,
        ls_first,
        leave_floor,
        small,
        big,
        big_total,
        switch_floor,
        switch,
        switch_again,
        switch_cold,
    ]


# --------------------------------------------------------------------------- 6. memory


def bench_memory(sizes: Sizes) -> list[Row]:
    n = sizes.deltas
    floor = Row("memory", f"floor: httpx + httpx-sse, {_k(n)} deltas", metric="rss", unit="MB")
    script = Row(
        "memory",
        f"script mode, {_k(n)} deltas",
        metric="rss",
        unit="MB",
        floor=floor,
        goal=Goal("abs", 80),
    )
    fan = Row(
        "memory",
        f":all, {sizes.fan_sessions} sessions × {_k(sizes.fan_deltas)} deltas",
        metric="rss",
        unit="MB",
        floor=floor,
    )
    shell = Row("memory", f"shell in a pty, {_k(n)} deltas", metric="rss", unit="MB", floor=floor)
    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        for timed in _rounds(sizes):
            f = floor_run(SYNC_FLOOR, server, f"go #deltas={n}")
            s, _ = repl_run(server, homes.new(), f"go #deltas={n}\n")
            a, _ = repl_run(server, homes.new(), _fanout_script(sizes), "--session", "s1")
            (p,) = _shell_turns(server, homes.new(), [n], row=shell)
            if timed:
                floor.samples.append(f)
                script.samples.append(s)
                fan.samples.append(a)
                shell.samples.append(p)
    return [floor, script, fan, shell]


def _bench_search(sizes: Sizes) -> list[Row]:
    from search import bench_search  # bench/search.py: imports copilot_repl

    return bench_search(sizes)


def _bench_long(sizes: Sizes) -> list[Row]:
    from long import bench_long  # bench/long.py

    return bench_long(sizes.long_messages, _rounds(sizes))


def _bench_long_ops(sizes: Sizes) -> list[Row]:
    from long import bench_long_ops  # bench/long.py

    return bench_long_ops(sizes.long_messages, _rounds(sizes))


# --------------------------------------------------------------------------- 8. local model

LOCAL_FIRST = "[providers.local]\nparams = {max_tokens = 1, temperature = 0.0}\n"
ONE_TOKEN_STATS = re.compile(rb"[0-9]+ tokens? \xc2\xb7 [0-9.]+ s")


def _local_shell(home: Path, delay: float | None) -> Sample:
    """The shell on the embedded model (warm-up on): a one-token prompt sent
    ``delay`` s after start (None: as soon as the first prompt is drawn);
    Enter → the reply's stats line (one token: ~ the first token)."""
    (home / "config.toml").write_text(LOCAL_FIRST)
    pty = PtyChild([CLI], child_env(home), rows=40, cols=120)
    try:
        pty.wait_for(PROMPT_RE, timeout=120)
        if delay is not None:
            pty.pump_until(pty.started + delay)
        t0 = pty.send("hi\r")
        t1 = pty.wait_for(ONE_TOKEN_STATS, timeout=300)
        sample = Sample(wall=t1 - t0, cpu=None, rss_kb=proc_hwm_kb(pty.pid))
        pty.wait_for(READY_RE, timeout=60)  # Ctrl-D (close) at the prompt, not before it
        return sample
    finally:
        pty.close()


def _local_driver(home: Path, rounds: int, tokens: int, threads: int = 0) -> dict[str, Any]:
    args = [PYTHON, str(HERE / "local_model.py"), str(rounds), str(tokens), str(threads)]
    r = checked(run_child(args, env=child_env(home)), "local_model.py")
    return dict(json.loads(r.out))


def bench_local(sizes: Sizes) -> list[Row]:
    """The embedded model: Enter → first token in the shell (a prompt sent at
    once, and one second after start), and decode throughput through
    copilot-repl against a bare httpx client on the same llama.cpp server."""
    if importlib.util.find_spec("llama_cpp") is None:
        print("bench: local: llama-cpp-python is not installed; skipped", file=sys.stderr)
        return []
    n, tokens = sizes.local_rounds, sizes.local_tokens
    floor_first = Row("local", "floor: bare httpx, warm server: send → first token")
    cold = Row("local", "API, server not started: send → first token", floor=floor_first)
    at_once = Row("local", "shell: Enter at the first prompt → 1-token reply", floor=floor_first)
    later = Row(
        "local",
        "shell: Enter 1 s after start → 1-token reply",
        floor=floor_first,
        goal=Goal("abs", 0.3),
    )
    repl_first = Row(
        "local", "copilot-repl API, warm server: send → first token", floor=floor_first
    )
    floor_rate = Row("local", f"floor: bare httpx, decode ({tokens} tokens)", unit="tok/s")
    repl_rate = Row(
        "local",
        f"copilot-repl API, decode ({tokens} tokens)",
        unit="tok/s",
        floor=floor_rate,
        goal=Goal("ratio", 0.95, at_least=True),
    )
    # the client's own CPU per token: what it takes from the cores the server
    # decodes on (the rates above swing with the machine's load; this does not)
    floor_cpu = Row("local", "floor: bare httpx client's CPU per token", unit="ms")
    repl_cpu = Row("local", "copilot-repl API's CPU per token", unit="ms", floor=floor_cpu)
    floor_rate2 = Row("local", "floor: decode, threads = 2 (the old default)", unit="tok/s")
    repl_rate2 = Row("local", "copilot-repl: decode, threads = 2", unit="tok/s", floor=floor_rate2)
    with scratch() as tmp:
        homes = Homes(tmp)
        for timed in _rounds(sizes):
            s_once = _local_shell(homes.new(), None)
            s_later = _local_shell(homes.new(), 1.0)
            d = _local_driver(homes.new() / "h", n, tokens)
            d2 = _local_driver(homes.new() / "h", n, tokens, threads=2) if sizes.local_old else {}
            if not timed:
                continue
            at_once.samples.append(s_once)
            later.samples.append(s_later)
            cold.samples.append(Sample(wall=d["cold"]))
            for r in d["rounds"]:
                floor_first.samples.append(Sample(wall=r["floor_first"]))
                repl_first.samples.append(Sample(wall=r["repl_first"]))
                floor_rate.samples.append(Sample(wall=r["floor_rate"]))
                repl_rate.samples.append(Sample(wall=r["repl_rate"]))
                floor_cpu.samples.append(Sample(wall=r["floor_cpu_ms_per_token"]))
                repl_cpu.samples.append(Sample(wall=r["repl_cpu_ms_per_token"]))
            for r in d2.get("rounds", []):
                floor_rate2.samples.append(Sample(wall=r["floor_rate"]))
                repl_rate2.samples.append(Sample(wall=r["repl_rate"]))
    rows = [floor_first, cold, at_once, later, repl_first, floor_rate, repl_rate]
    rows += [floor_cpu, repl_cpu]
    return rows + ([floor_rate2, repl_rate2] if sizes.local_old else [])


# --------------------------------------------------------------------------- 9. many users


def _users(home: Path, *args: object) -> Any:
    argv = [PYTHON, str(HERE / "many_users.py"), *map(str, args)]
    shutil.rmtree(home, ignore_errors=True)
    return json.loads(checked(run_child(argv, env=child_env(home)), "many_users.py").out)


def bench_users(sizes: Sizes) -> list[Row]:
    """The seed's "one session per user" use through the Python API: the
    memory of many open sessions, many replies streaming at once against as
    many bare async httpx streams, and how soon one more send reaches the
    server while the others stream."""
    n, k, d = sizes.users, sizes.user_streams, sizes.user_deltas
    base = Row("users", "one open session: resident", unit="MB", metric="rss")
    many = Row(
        "users",
        f"{n} open sessions: resident",
        unit="MB",
        metric="rss",
        floor=base,
        goal=Goal("abs", 100.0),
    )
    floor = Row("users", f"floor: {k} bare async httpx streams × {_k(d)} deltas")
    streams = Row(
        "users",
        f"{k} sessions streaming × {_k(d)} deltas at once",
        floor=floor,
        goal=Goal("ratio", 1.3),
    )
    alone = Row("users", "a send, no other session streaming → its request on the wire")
    probe_floor = Row(
        "users", f"floor: a bare httpx request while {k - 1} bare streams → on the wire"
    )
    probe = Row(
        "users",
        f"a send while {k - 1} others stream → its request on the wire",
        floor=alone,
        goal=Goal("abs", 0.02),
    )
    with ServerProcess() as server, ArrivalServer() as arrivals, scratch() as tmp:
        home = tmp / "home"
        for timed in _rounds(sizes):
            r = _users(home, "resident", n, server.url)
            f = with_server(server, lambda: _users(home, "floor", k, d, server.url))
            s = with_server(server, lambda: _users(home, "stream", k, d, server.url))
            arrivals.take()
            a = with_server(server, lambda: _users(home, "probe", 1, d, server.url, arrivals.url))
            got_alone = arrivals.take()[1:]  # the first warmed the provider up
            p = with_server(server, lambda: _users(home, "probe", k, d, server.url, arrivals.url))
            got = arrivals.take()[1:]
            pf = with_server(
                server, lambda: _users(home, "probe-floor", k, d, server.url, arrivals.url)
            )
            got_floor = arrivals.take()[1:]  # the first warmed its client up
            if s["empty"] or s["chars"] != f["chars"]:
                streams.problem(f"replies differ: {s} against the floor's {f}")
            if len(got) != 1 or p["streaming_when_sent"] == 0:
                probe.problem(f"{len(got)} probe requests, {p['streaming_when_sent']} streaming")
            if not timed:
                continue
            base.samples.append(Sample(wall=0.0, rss_kb=r["before_kb"]))
            many.samples.append(Sample(wall=0.0, rss_kb=r["after_kb"]))
            floor.samples.append(Sample(wall=f["wall"], cpu=f["cpu"]))
            streams.samples.append(Sample(wall=s["wall"], cpu=s["cpu"]))
            if got and got_alone:
                alone.samples.append(Sample(wall=got_alone[0].first_byte - a["sent"]))
                probe.samples.append(Sample(wall=got[0].first_byte - p["sent"]))
            if got_floor:
                probe_floor.samples.append(Sample(wall=got_floor[0].first_byte - pf["sent"]))
    return [base, many, floor, streams, alone, probe_floor, probe]


# A second interpreter whose llama-cpp-python is another build (e.g. pip's
# native one), measured beside the installed build by bench_llama_builds.
NATIVE_PYTHON_ENV = "COPILOT_REPL_BENCH_LLAMA_PYTHON"


def _llama_decode(python: str, model: Path, tokens: int, rounds: int, *flags: str) -> Any:
    args = [python, str(HERE / "llama_decode.py"), str(model), str(tokens), str(rounds), *flags]
    env = child_env(None, PYTHONPATH=str(ROOT))
    return json.loads(checked(run_child(args, env=env), "llama_decode.py").out)


def bench_llama_builds(sizes: Sizes) -> list[Row]:
    """llama.cpp's own decode rate (no server) with the installed build, with
    it loading weights as on a build with AMX code (no repacking), and with
    another build when COPILOT_REPL_BENCH_LLAMA_PYTHON names an interpreter
    that has one (scripts/llama-wheel's portable build against a native one)."""
    if importlib.util.find_spec("llama_cpp") is None:
        print("bench: llama: llama-cpp-python is not installed; skipped", file=sys.stderr)
        return []
    from copilot_repl.providers.local import bundled_model_path

    model, n, tokens = bundled_model_path(), sizes.local_rounds, sizes.local_tokens
    other = os.environ.get(NATIVE_PYTHON_ENV, "")
    this = Row("llama", f"llama.cpp decode ({tokens} tokens), installed build", unit="tok/s")
    plain = Row("llama", "same, weights not repacked (AMX builds)", unit="tok/s", floor=this)
    native = Row("llama", f"same, the build of {NATIVE_PYTHON_ENV}", unit="tok/s", floor=this)
    # the same runs by the decoding thread's CPU time: steadier on a busy machine
    this_cpu = Row("llama", "installed build, tokens per CPU second", unit="tok/s")
    plain_cpu = Row("llama", "not repacked, per CPU second", unit="tok/s", floor=this_cpu)
    native_cpu = Row("llama", "the other build, per CPU second", unit="tok/s", floor=this_cpu)
    pairs = [(this, this_cpu), (plain, plain_cpu)] + ([(native, native_cpu)] if other else [])
    for timed in _rounds(sizes):
        runs = [_llama_decode(PYTHON, model, tokens, n)]
        runs.append(_llama_decode(PYTHON, model, tokens, n, "--no-repack"))
        if other:
            runs.append(_llama_decode(other, model, tokens, n))
        for (row, cpu_row), result in zip(pairs, runs, strict=True) if timed else []:
            row.samples += [Sample(wall=rate) for rate in result["rates"]]
            cpu_row.samples += [Sample(wall=rate) for rate in result["cpu_rates"]]
            row.note = row.note or result["system_info"].replace("|", "/")
    return [row for pair in zip(*pairs, strict=True) for row in pair]


def bench_tools(sizes: Sizes) -> list[Row]:
    """A turn with one tool call: two requests, through the API and the floor."""
    prompt = 'add #call=add:{"a":2,"b":40}'
    floor = Row("tools", "floor: httpx + httpx-sse, tool call + 2 requests")
    repl = Row(
        "tools",
        "copilot_repl API, define a Tool, one call, send_and_wait",
        floor=floor,
        goal=Goal("ratio", 2.0),
    )
    with ServerProcess() as server, scratch() as tmp:
        homes = Homes(tmp)
        for timed in _rounds(sizes):
            f = floor_child(TOOL_FLOOR, server, prompt)
            home = homes.new()
            r = with_server(
                server,
                lambda home=home: checked(  # type: ignore[misc]
                    run_child([PYTHON, "-c", TOOL_REPL, server.url, prompt], env=child_env(home)),
                    "the API",
                ),
            )
            for row, result in ((floor, f), (repl, r)):
                if result.out.strip() != b"tools: 42":
                    row.problem(f"printed {result.out[:80]!r}, not 'tools: 42'")
            if timed:
                floor.samples.append(f.sample)
                repl.samples.append(r.sample)
    return [floor, repl]


BENCHES: dict[str, Bench] = {
    "script": bench_script,
    "tools": bench_tools,
    "start": bench_start,
    "render": bench_render,
    "fanout": bench_fanout,
    "store": bench_store,
    "memory": bench_memory,
    "search": _bench_search,
    "long": _bench_long,
    "longops": _bench_long_ops,
    "local": bench_local,
    "llama": bench_llama_builds,
    "users": bench_users,
}
