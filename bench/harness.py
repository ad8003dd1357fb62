"""Plumbing shared by the benchmarks: the loopback server process, timed child
processes (wall time, CPU time and peak RSS of that child alone), a
pseudo-terminal driver, and the result table.

Nothing here is specific to one benchmark; ``benchmarks.py`` holds those.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PYTHON = str(BIN / "python") if (BIN / "python").exists() else sys.executable
CLI = str(BIN / "copilot-repl")
FAKESERVER = ROOT / "tests" / "fakeserver.py"
PROMPT_MARK = "›".encode()
CPR_REQUEST = b"\x1b[6n"
CPR_ANSWER = b"\x1b[1;1R"
CHILD_TIMEOUT = 300.0
RSS_SAMPLE_EVERY = 0.01  # seconds between reads of a child's VmHWM
# Variables that would point a child at a real provider or change its output.
SCRUBBED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "GITHUB_TOKEN",
    "NO_COLOR",
    "COPILOT_REPL_HOME",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONPYCACHEPREFIX",
)
# Where children keep their bytecode (set by ``bytecode_cache``): an installed
# package has .pyc files; without them every start compiles copilot_repl.
_PYCACHE: list[Path] = []


# --------------------------------------------------------------------------- results


@dataclass
class Sample:
    """One measured run of something."""

    wall: float  # seconds (or the benchmark's own quantity, see Row.unit)
    cpu: float | None = None  # user + system seconds of the measured process
    rss_kb: int | None = None  # its peak resident set size
    out_bytes: int = 0


@dataclass
class Goal:
    """``kind`` is "ratio" (median / floor median) or "abs" (median, in the row's
    unit); the median must be at most ``limit``, or at least if ``at_least``
    (a rate: tokens per second)."""

    kind: str
    limit: float
    at_least: bool = False

    def describe(self, unit: str) -> str:
        sign = "≥" if self.at_least else "≤"
        if self.kind == "ratio":
            return f"{sign} {self.limit:g}×"
        return f"{sign} {self.limit:g} {unit}"

    def holds(self, value: float) -> bool:
        return value >= self.limit if self.at_least else value <= self.limit


@dataclass
class Row:
    bench: str
    case: str
    samples: list[Sample] = field(default_factory=list)
    unit: str = "s"  # "s", "MB", "tok/s", "ms" or "×" (a derived ratio)
    floor: Row | None = None
    goal: Goal | None = None
    metric: str = "wall"  # "wall" or "rss"
    note: str = ""
    problems: list[str] = field(default_factory=list)  # the run did not do what it should

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)
            print(f"bench: {self.bench}: {self.case}: {text}", file=sys.stderr, flush=True)

    def values(self) -> list[float]:
        if self.metric == "rss":
            return [(s.rss_kb or 0) / 1024 for s in self.samples]
        return [s.wall for s in self.samples]

    @property
    def median(self) -> float:
        vals = self.values()
        return statistics.median(vals) if vals else float("nan")

    @property
    def ratio(self) -> float | None:
        if self.floor is None or not self.floor.samples:
            return None
        base = self.floor.median
        return self.median / base if base > 0 else None

    @property
    def cpu_ratio(self) -> float | None:
        mine, base = self.cpu_median, self.floor.cpu_median if self.floor else None
        return mine / base if mine is not None and base else None

    @property
    def cpu_median(self) -> float | None:
        cpus = [s.cpu for s in self.samples if s.cpu is not None]
        return statistics.median(cpus) if cpus else None

    def met(self) -> bool | None:
        if self.goal is None or not self.samples:
            return None
        if self.goal.kind == "ratio":
            ratio = self.ratio if self.unit != "×" else self.median
            return ratio is not None and self.goal.holds(ratio)
        return self.goal.holds(self.median)

    def as_dict(self) -> dict[str, object]:
        vals = self.values()
        return {
            "bench": self.bench,
            "case": self.case,
            "unit": self.unit,
            "n": len(vals),
            "median": self.median,
            "min": min(vals) if vals else None,
            "max": max(vals) if vals else None,
            "ratio": self.ratio,
            "cpu_median": self.cpu_median,
            "cpu_ratio": self.cpu_ratio,
            "rss_mb_max": max((s.rss_kb or 0) for s in self.samples) / 1024
            if self.samples and any(s.rss_kb for s in self.samples)
            else None,
            "goal": self.goal.describe(self.unit) if self.goal else None,
            "met": self.met(),
            "note": self.note,
            "problems": self.problems,
        }


def _fmt(value: float | None, unit: str) -> str:
    if value is None or value != value:
        return "-"
    if unit == "s":
        return f"{value:.3f} s"
    if unit == "MB":
        return f"{value:.1f} MB"
    if unit == "tok/s":
        return f"{value:.1f} tok/s"
    if unit == "ms":
        return f"{value:.2f} ms"
    return f"{value:.2f}×"


def table(rows: Sequence[Row], *, markdown: bool = False) -> str:
    """The results as an aligned text table (or a Markdown one)."""
    header = [
        "bench",
        "case",
        "n",
        "median",
        "min",
        "max",
        "× floor",
        "goal",
        "met",
        "cpu",
        "cpu × floor",
        "peak RSS",
    ]
    lines: list[list[str]] = []
    for r in rows:
        vals = r.values()
        ratio = r.ratio
        met = r.met()
        rss = [s.rss_kb for s in r.samples if s.rss_kb]
        lines.append(
            [
                r.bench,
                r.case,
                str(len(vals)),
                _fmt(r.median, r.unit),
                _fmt(min(vals) if vals else None, r.unit),
                _fmt(max(vals) if vals else None, r.unit),
                "floor"
                if r.floor is None and any(x.floor is r for x in rows)
                else _fmt(ratio, "×"),
                r.goal.describe(r.unit) if r.goal else "",
                {True: "yes", False: "NO", None: ""}[met],
                _fmt(r.cpu_median, "s"),
                _fmt(r.cpu_ratio, "×") if r.metric == "wall" else "-",
                f"{max(rss) / 1024:.0f} MB" if rss else "-",
            ]
        )
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(c) for c in col) for col in zip(header, *lines, strict=True)]
    right = {2, 3, 4, 5, 6, 9, 10, 11}

    def fmt_line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt_line(header), rule, *(fmt_line(line) for line in lines)])


# --------------------------------------------------------------------------- environment


@contextlib.contextmanager
def bytecode_cache() -> Iterator[Path]:
    """Let children cache bytecode in a private dir (``PYTHONPYCACHEPREFIX``)
    for the duration, as an installed copy would; nothing is written into the
    source tree. Warm-up runs fill it."""
    with scratch("copilot-bench-pycache-") as path:
        _PYCACHE.append(path)
        try:
            yield path
        finally:
            _PYCACHE.remove(path)


def child_env(home: Path | None = None, *, bytecode: bool = True, **extra: str) -> dict[str, str]:
    """The environment of a measured child: no real provider, a private data
    dir, bytecode cached (see ``bytecode_cache``) unless ``bytecode`` is False."""
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    if not bytecode:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    elif _PYCACHE:
        env["PYTHONPYCACHEPREFIX"] = str(_PYCACHE[-1])
    if home is not None:
        env["COPILOT_REPL_HOME"] = str(home)
    env.setdefault("TERM", "xterm-256color")
    env.update(extra)
    return env


@contextlib.contextmanager
def scratch(prefix: str = "copilot-bench-") -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Homes:
    """Fresh, empty data dirs on demand, all removed at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.count = 0

    def new(self) -> Path:
        self.count += 1
        path = self.root / f"home{self.count}"
        path.mkdir(mode=0o700)
        return path


# --------------------------------------------------------------------------- the server


class ServerProcess:
    """``tests/fakeserver.py`` in its own process, so its CPU time is not ours.

    If it is found dead, ``revive`` starts it again on the same port (its
    stderr is kept, to say why it died)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.port = 0
        self.restarts = 0
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)

    def _start(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, str(FAKESERVER), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("http"):
            self.proc.kill()
            self.proc.wait()
            raise RuntimeError(f"fakeserver did not start: {line!r}; {self.stderr()}")
        self.url = line
        self.port = int(line.rsplit(":", 1)[1].split("/", 1)[0])

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-1500:]

    def revive(self) -> None:
        code = self.proc.returncode if self.proc is not None else None
        print(
            f"bench: warning: the loopback server exited ({code}): {self.stderr()!r}; "
            "restarting it",
            file=sys.stderr,
            flush=True,
        )
        self._stop()
        self.restarts += 1
        self._start()

    def __enter__(self) -> ServerProcess:
        self._start()
        return self

    def _stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop()
        self._log.close()


def with_server(server: ServerProcess, run: Callable[[], T]) -> T:
    """``run()``; if it fails because the server died, revive it and run again."""
    try:
        return run()
    except Exception:
        if server.alive():
            raise
    server.revive()
    return run()


# --------------------------------------------------------------------------- child processes


@dataclass
class ChildResult:
    code: int
    out: bytes
    err: bytes
    sample: Sample
    started: float  # time.monotonic() just before the process was created


def run_child(
    argv: Sequence[str],
    *,
    stdin: bytes = b"",
    env: dict[str, str] | None = None,
    keep_output: bool = True,
    timeout: float = CHILD_TIMEOUT,
) -> ChildResult:
    """Run ``argv`` with ``stdin``, draining stdout and stderr as they come.

    Wall time runs from just before the fork to the reaping of the child;
    CPU time comes from ``wait4`` for that child alone. Peak RSS is the
    child's ``VmHWM``, sampled while it runs: ``wait4``'s ``ru_maxrss`` also
    counts the parent's memory at the time of the fork + exec.
    """
    started = time.monotonic()
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    err_parts: list[bytes] = []
    err_fd = proc.stderr.fileno()

    def drain_stderr() -> None:
        while chunk := os.read(err_fd, 65536):
            err_parts.append(chunk)

    err_thread = threading.Thread(target=drain_stderr, daemon=True)
    err_thread.start()
    peak = [0]
    done = threading.Event()

    def sample_rss() -> None:
        while not done.wait(RSS_SAMPLE_EVERY):
            peak[0] = max(peak[0], proc_hwm_kb(proc.pid) or 0)

    rss_thread = threading.Thread(target=sample_rss, daemon=True)
    rss_thread.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    try:
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(stdin)  # small: fits the pipe buffer
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.close()
        out_parts: list[bytes] = []
        size = 0
        fd = proc.stdout.fileno()
        while chunk := os.read(fd, 1 << 16):
            size += len(chunk)
            if keep_output:
                out_parts.append(chunk)
        peak[0] = max(peak[0], proc_hwm_kb(proc.pid) or 0)  # stdout closed: nearly done
        done.set()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    finally:
        killer.cancel()
        done.set()
    proc.returncode = os.waitstatus_to_exitcode(status)
    err_thread.join(timeout=5)
    rss_thread.join(timeout=5)
    proc.stdout.close()
    proc.stderr.close()
    sample = Sample(
        wall=wall, cpu=usage.ru_utime + usage.ru_stime, rss_kb=peak[0] or None, out_bytes=size
    )
    return ChildResult(proc.returncode, b"".join(out_parts), b"".join(err_parts), sample, started)


def checked(result: ChildResult, what: str) -> ChildResult:
    if result.code != 0:
        tail = result.err.decode(errors="replace")[-2000:]
        raise RuntimeError(f"{what} exited with {result.code}:\n{tail}")
    return result


# --------------------------------------------------------------------------- pseudo-terminal


def proc_cpu(pid: int) -> float | None:
    """User + system CPU seconds of a live process (``/proc/PID/stat``)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_runtime(pid: int) -> float | None:
    """CPU seconds the live threads of a process have run, to the nanosecond
    (``/proc/PID/task/*/schedstat``; ``proc_cpu`` counts in 10 ms ticks): for
    spans of a few milliseconds in a long-lived child."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(OSError):  # a thread that just ended
                total += int((task / "schedstat").read_text().split()[0])
    except OSError:
        return None
    return total / 1e9


def proc_hwm_kb(pid: int) -> int | None:
    """Peak RSS so far of a live process (``VmHWM``)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PtyChild:
    """A child in a pseudo-terminal whose output is read continuously (so it
    never blocks on a full pty) and searched in a sliding window. Cursor
    position requests are answered as a terminal would."""

    WINDOW = 16384

    def __init__(
        self, argv: Sequence[str], env: dict[str, str], rows: int = 40, cols: int = 120
    ) -> None:
        import pexpect  # type: ignore[import-untyped]

        self.started = time.perf_counter()
        self.child = pexpect.spawn(
            argv[0], list(argv[1:]), env=env, dimensions=(rows, cols), cwd=str(ROOT)
        )
        # pexpect sleeps 50 ms before each send by default: a terminal answers a
        # cursor position request (which holds up the first draw) at once
        self.child.delaybeforesend = None
        self.tail = b""
        self.total = 0
        self.last: re.Match[bytes] | None = None

    @property
    def pid(self) -> int:
        return int(self.child.pid)

    def _pump(self, timeout: float) -> bytes:
        import pexpect

        try:
            chunk: bytes = self.child.read_nonblocking(1 << 16, timeout=timeout)
        except pexpect.TIMEOUT:
            return b""
        self.total += len(chunk)
        edge = self.tail[-(len(CPR_REQUEST) - 1) :] + chunk
        for _ in range(edge.count(CPR_REQUEST)):
            self.child.send(CPR_ANSWER)
        return chunk

    def wait_for(self, pattern: re.Pattern[bytes], timeout: float = CHILD_TIMEOUT) -> float:
        """Read until ``pattern`` appears in output not matched before; return
        ``time.perf_counter()`` at that moment (the match is in ``last``)."""
        deadline = time.perf_counter() + timeout
        while True:
            match = pattern.search(self.tail)
            if match:
                self.last = match
                self.tail = self.tail[match.end() :]
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(
                    f"no {pattern.pattern!r} in the terminal; last output: {self.tail[-400:]!r}"
                )
            chunk = self._pump(0.5)
            self.tail = (self.tail + chunk)[-self.WINDOW :]

    def pump_until(self, when: float) -> None:
        """Keep reading (and answering) the terminal until ``time.perf_counter()``
        reaches ``when``."""
        while (left := when - time.perf_counter()) > 0:
            chunk = self._pump(min(left, 0.05))
            self.tail = (self.tail + chunk)[-self.WINDOW :]

    def send(self, data: str) -> float:
        t = time.perf_counter()
        self.child.send(data.encode())
        return t

    def close(self) -> None:
        """Ctrl-D at the prompt, then make sure it is gone."""
        import pexpect

        with contextlib.suppress(OSError):
            self.child.send(b"\x04")
        deadline = time.perf_counter() + 10
        while self.child.isalive() and time.perf_counter() < deadline:
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF, OSError):
                self._pump(0.2)
            if not self.child.isalive():
                break
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close(force=True)


PROMPT_RE = re.compile(re.escape(PROMPT_MARK))
# prompt_toolkit's first output (bracketed paste on): the line editor reads keys
# from here on; the prompt before it is the first frame (shell/first_frame.py)
READY_RE = re.compile(re.escape(b"\x1b[?2004h") + b".*?" + re.escape(PROMPT_MARK), re.S)
STATS_RE = re.compile(rb"([0-9]+) tokens \xc2\xb7 [0-9.]+ s")  # tok/s only for 16+ tokens
