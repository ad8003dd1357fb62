"""Long transcripts (issue 26, goal 2): a saved session of ~230 MB (200,000
messages of mixed length, with the event log of tool rounds) opened in the
shell. Each figure against a floor measured in the same round:

- open: start → the line editor's prompt (keys read from here), against the
  same shell opening a session of the same last 20 messages (the floor
  session: the long one's tail, so both draw the same); the first open of a
  copied file (no index sidecar yet: it is built) is its own row;
- a turn: Enter → the request's first byte at the server, against the same
  turn in the floor session;
- ``:history 20``, typed 1 s after start as a person would (after the
  shell's warm-up): Enter → the twentieth message drawn, against the same
  command in the floor session (the same 20 messages drawn);
- peak RSS (VmHWM) after the turn, against the floor session's, and a
  ``python -c`` that reads the file's last 8 MB (the least a tail-only open
  reads).

The file is in the page cache (it was just copied), as it is for a session
used every day.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from pathlib import Path

from arrival import ArrivalServer
from benchmarks import SWITCH_AFTER
from harness import (
    CLI,
    PYTHON,
    READY_RE,
    Goal,
    Homes,
    PtyChild,
    Row,
    Sample,
    checked,
    child_env,
    proc_hwm_kb,
    run_child,
    scratch,
)
from storegen import write_long_session

TAIL_FLOOR = """\
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
data = os.pread(fd, 8 << 20, max(0, size - (8 << 20)))
sys.stdout.write(str(data.count(b"\\n")) + "\\n")
"""


def _prompt(name: str) -> re.Pattern[bytes]:
    sgr = rb"(?:\x1b\[[0-9;]*m)*"
    return re.compile(re.escape(name.encode()) + sgr + rb" \S+" + sgr + " ›".encode())


def _shell(home: Path, url: str, name: str, last: int, server: ArrivalServer) -> list[Sample]:
    """Open ``name`` in the shell: [open, :history 20, turn, peak RSS]."""
    pty = PtyChild([CLI, "--base-url", url, "--session", name], child_env(home))
    try:
        opened = pty.wait_for(READY_RE, timeout=120) - pty.started
        rss_open = proc_hwm_kb(pty.pid)
        pty.pump_until(pty.started + SWITCH_AFTER)  # typed by a person: after the warm-up
        t0 = pty.send(":history 20\r")
        label = re.compile(rb"\b" + str(last).encode() + rb"\. assistant")
        t1 = pty.wait_for(label, timeout=120)
        pty.wait_for(_prompt(name), timeout=120)
        server.take()
        sent = time.monotonic()
        pty.send("one more question\r")
        pty.wait_for(re.compile(rb"ok"), timeout=120)
        pty.wait_for(_prompt(name), timeout=120)
        arrivals = server.take()
        if len(arrivals) != 1:
            raise RuntimeError(f"expected one request, got {len(arrivals)}")
        rss = proc_hwm_kb(pty.pid)
        return [
            Sample(wall=opened, rss_kb=rss_open),
            Sample(wall=t1 - t0),
            Sample(wall=arrivals[0].first_byte - sent),
            Sample(wall=0.0, rss_kb=rss),
        ]
    finally:
        pty.close()


def _tail_session(src: Path, dst: Path, name: str, messages: int) -> None:
    """A session of the last ``messages`` messages of ``src`` (and the events
    between them), under its header renamed ``name``."""
    data = src.read_bytes()
    header = json.loads(data[: data.index(b"\n")])
    header["name"] = name
    lines = data[-(8 << 20) :].split(b"\n")[1:-1]
    starts = [i for i, line in enumerate(lines) if line.startswith(b'{"t":"msg"')]
    body = b"\n".join(lines[starts[-messages] :]) + b"\n"
    (dst / f"{name}.jsonl").write_bytes(json.dumps(header).encode() + b"\n" + body)


def _first_open(home: Path, url: str, name: str) -> Sample:
    pty = PtyChild([CLI, "--base-url", url, "--session", name], child_env(home))
    try:
        opened = pty.wait_for(READY_RE, timeout=300) - pty.started
        return Sample(wall=opened, rss_kb=proc_hwm_kb(pty.pid))
    finally:
        pty.close()


def bench_long(n: int, rounds: list[bool]) -> list[Row]:
    """``rounds``: for each round, whether it is timed."""
    k = f"{n // 1000}k" if n >= 1000 else str(n)
    open_floor = Row("long", "floor: shell opens the last 20 messages alone → keys read")
    first = Row(
        "long", f"shell opens the {k}-msg session, first time (builds its index)", floor=open_floor
    )
    opened = Row(
        "long",
        f"shell opens the {k}-msg session → keys read",
        floor=open_floor,
        goal=Goal("abs", 0.5),
    )
    hist_floor = Row("long", "floor: :history 20, the last 20 messages alone")
    hist = Row(
        "long", f":history 20 in the {k}-msg session", floor=hist_floor, goal=Goal("abs", 0.1)
    )
    turn_floor = Row("long", "floor: Enter → request's first byte, the last 20 alone")
    turn = Row(
        "long",
        f"Enter → request's first byte, {k}-msg session",
        floor=turn_floor,
        goal=Goal("abs", 0.5),
    )
    rss_floor = Row(
        "long", "floor: peak RSS, shell on the last 20 alone, one turn", metric="rss", unit="MB"
    )
    rss = Row(
        "long",
        f"peak RSS, shell on the {k}-msg session, one turn",
        metric="rss",
        unit="MB",
        floor=rss_floor,
        goal=Goal("abs", 150),
    )
    tail_floor = Row("long", "floor: python reads the file's last 8 MB", metric="rss", unit="MB")
    rows = [
        open_floor,
        first,
        opened,
        hist_floor,
        hist,
        turn_floor,
        turn,
        rss_floor,
        rss,
        tail_floor,
    ]
    with scratch() as tmp, ArrivalServer() as server:
        homes = Homes(tmp)
        keep = homes.new()
        t = time.perf_counter()
        size = write_long_session(keep, "big", n)
        print(
            f"bench: wrote a {n}-message session, {size / 1e6:.0f} MB, in "
            f"{time.perf_counter() - t:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        opened.note = f"{size / 1e6:.0f} MB file"
        pristine = keep / "big.jsonl"
        small_src = homes.new()
        _tail_session(pristine, small_src, "small", 20)
        for timed in rounds:
            tf = checked(
                run_child([PYTHON, "-c", TAIL_FLOOR, str(pristine)], env=child_env()), "floor"
            )
            home = homes.new()
            (home / "sessions").mkdir(mode=0o700)
            shutil.copyfile(small_src / "small.jsonl", home / "sessions" / "small.jsonl")
            small = _shell(home, server.url, "small", 20, server)
            home = homes.new()
            (home / "sessions").mkdir(mode=0o700)
            shutil.copyfile(pristine, home / "sessions" / "big.jsonl")
            cold = _first_open(home, server.url, "big")
            big = _shell(home, server.url, "big", n, server)
            shutil.rmtree(home, ignore_errors=True)
            if timed:
                first.samples.append(cold)
                tail_floor.samples.append(tf.sample)
                for row, sample in zip(
                    (open_floor, hist_floor, turn_floor, rss_floor), small, strict=True
                ):
                    row.samples.append(sample)
                for row, sample in zip((opened, hist, turn, rss), big, strict=True):
                    row.samples.append(sample)
    return rows


# -- operations on the long session (issue 26, round four) ----------------------
OPS_LINES_FLOOR = """\
import sys
n = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        n += 1
print(n)
"""

OPS_PRELUDE = """\
import sys
from pathlib import Path
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
"""

OPS_SCRIPTS = {
    # :fork (all messages): the fork is written, then opened (its index built)
    "fork": "from copilot_repl.history.fork import fork\nfork(store, 'big', 'forked')\n",
    # :clear: the messages copied into the trash (the truncate after it is one record)
    "clear": (
        "from copilot_repl.history import trash\ntrash.trash_messages(store, store.load('big'))\n"
    ),
    # :clear --purge: the truncate, then the file rewritten without what it hid
    "purge": (
        "from copilot_repl.history import trash\n"
        "loaded = store.load('big')\n"
        "store.truncate(loaded, 0)\n"
        "assert trash.vacuum(store, 'big').rewritten == ('big',)\n"
    ),
    # auto_compact's check after a turn: what the next request would carry
    "compact-check": (
        "from copilot_repl.api.library import request_view, should_auto_compact\n"
        "loaded = store.load('big')\n"
        "system, view, _ = request_view(loaded.compactions, loaded.data.system,"
        " loaded.data.messages)\n"
        "print(should_auto_compact(0.8, 128_000, system, view))\n"
    ),
    # a compacted session (all but the last 20 messages summarised): three
    # turns, each building its request and running auto_compact's check
    "compacted": (
        "from copilot_repl.api.library import request_view, should_auto_compact\n"
        "loaded = store.load('big')\n"
        "for turn in range(3):\n"
        "    system, view, c = request_view(loaded.compactions, loaded.data.system,"
        " loaded.data.messages)\n"
        "    assert c is not None\n"
        "    should_auto_compact(0.8, 128_000, system, view)\n"
    ),
}

COMPACTED = """\
from copilot_repl.history import compact
loaded = store.load("big")
upto = len(loaded.data.messages) - 20
summary = compact.make(loaded.data.messages, upto, "the summary", model="m:x", ts=1.0)
store.append("big", summary.record())
"""

OPS_CASES = {
    "fork": ":fork (all messages), the fork opened",
    "clear": ":clear (the messages copied to the trash)",
    "purge": ":clear --purge (truncate, file rewritten)",
    "compact-check": "auto_compact's check after a turn",
    "compacted": "3 turns' compaction check, compacted session",
    "json": "sessions export --format json -o FILE",
    "md": "sessions export --format md -o FILE",
    "html": "sessions export --format html -o FILE",
}


def _indexed_home(homes: Homes, pristine: Path, *, compacted: bool = False) -> Path:
    """A data dir holding a copy of the long session, opened once (its index
    written, as for a session used every day), compacted if asked."""
    home = homes.new()
    (home / "sessions").mkdir(mode=0o700)
    shutil.copyfile(pristine, home / "sessions" / "big.jsonl")
    script = OPS_PRELUDE + (COMPACTED if compacted else "store.load('big')\n")
    checked(run_child([PYTHON, "-P", "-c", script, str(home)], env=child_env(home)), "index")
    return home


def _op(home: Path, op: str, out: Path) -> Sample:
    if op in OPS_SCRIPTS:
        # -P: copilot_repl from PYTHONPATH or the venv, as the CLI's, not the
        # current directory (the children run in the repository's root)
        argv = [PYTHON, "-P", "-c", OPS_PRELUDE + OPS_SCRIPTS[op], str(home)]
    else:
        argv = [CLI, "sessions", "export", "big", "--format", op, "-o", str(out), "--force"]
    return checked(run_child(argv, env=child_env(home)), op).sample


def bench_long_ops(n: int, rounds: list[bool]) -> list[Row]:
    """Operations that used to read a long session whole: each a child
    process on a copy of the session (opened once before, so it has its
    index), against two floors measured in the same round: ``cp`` of the
    file, and ``python`` reading it line by line."""
    k = f"{n // 1000}k" if n >= 1000 else str(n)
    cp_floor = Row("longops", f"floor: cp the {k}-msg file")
    lines_floor = Row("longops", "floor: python reads the file line by line")
    lines_rss = Row(
        "longops", "floor: peak RSS, python reads it line by line", metric="rss", unit="MB"
    )
    timed: dict[str, Row] = {}
    rss: dict[str, Row] = {}
    for op, case in OPS_CASES.items():
        timed[op] = Row("longops", case, floor=lines_floor)
        rss[op] = Row(
            "longops",
            f"peak RSS, {case}",
            metric="rss",
            unit="MB",
            floor=lines_rss,
            goal=Goal("abs", 150),
        )
    rows = [cp_floor, lines_floor, lines_rss]  # (cp's RSS: gone before it is read)
    for op in OPS_CASES:
        rows += [timed[op], rss[op]]
    with scratch() as tmp:
        homes = Homes(tmp)
        keep = homes.new()
        size = write_long_session(keep, "big", n)
        cp_floor.note = f"{size / 1e6:.0f} MB file"
        pristine = keep / "big.jsonl"
        for is_timed in rounds:
            copy = tmp / "copy.jsonl"
            cp = checked(run_child(["cp", str(pristine), str(copy)], env=child_env()), "cp")
            copy.unlink()
            lines = checked(
                run_child([PYTHON, "-c", OPS_LINES_FLOOR, str(pristine)], env=child_env()),
                "floor",
            )
            got: dict[str, Sample] = {}
            shared = _indexed_home(homes, pristine)  # what leaves the session as it was
            for op in OPS_CASES:
                home = shared
                if op in ("purge", "compacted"):
                    home = _indexed_home(homes, pristine, compacted=op == "compacted")
                got[op] = _op(home, op, tmp / f"export.{op}")
                if op == "fork":
                    shutil.rmtree(home / "sessions" / "forked.jsonl", ignore_errors=True)
                    (home / "sessions" / "forked.jsonl").unlink(missing_ok=True)
                if home is not shared:
                    shutil.rmtree(home, ignore_errors=True)
            shutil.rmtree(shared, ignore_errors=True)
            for f in tmp.glob("export.*"):
                f.unlink()
            if is_timed:
                cp_floor.samples.append(cp.sample)
                lines_floor.samples.append(lines.sample)
                lines_rss.samples.append(lines.sample)
                for op, sample in got.items():
                    timed[op].samples.append(sample)
                    rss[op].samples.append(sample)
    return rows
