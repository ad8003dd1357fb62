"""The differential conformance runner: each program in ``programs/`` runs
twice, once on the real github-copilot-sdk driving the real ``copilot`` CLI
in BYOK mode against the loopback test server, once with its imports
switched to ``copilot_repl`` (only the top package name differs), and the
two runs are compared:

- per session, the sequence of event types (ids mapped to S1, S2, ... in
  order of creation; types listed as ignored in ALLOWED.md dropped; runs of
  one "loosely counted" type collapsed to one; "unordered" types compared
  only as seen or not);
- per session, the replies (``assistant.message`` contents, with the tags
  the CLI adds to each prompt, which the echo server echoes, removed);
- per session, the data fields of the events (``FIELDS`` in observe.py:
  status codes, error types, model names, abort reasons, logged messages);
- per session, the envelope of each event (its type, ``ephemeral``, and
  whether it has a parent: every event but a session's first has one);
- per session, ``get_events()`` just before the program closes it: the
  types in it, and the live events whose ids are not in it;
- the program's standard output (session ids, UUIDs and timestamps masked);
- what reached the model: every chat request in full (model, all messages
  with their roles, the ``x-conformance*`` headers, whether a key was sent,
  the names of the other body keys), per conversation (its first prompt)
  and in order; the fields ALLOWED.md lists under "Request fields ignored"
  left out; and the last prompt of each request, sorted;
- the exit status.

Any difference not listed in ALLOWED.md fails. From the command line::

    python tests/conformance/runner.py [PROGRAM ...]   # prints both sides and the differences

A program says which SDK shape it is written for in a ``# sdk: 0.1`` or
``# sdk: 1.0`` comment (and may ask for a model slow to answer with
``# reply-delay: SECONDS``, or for one that answers nothing while it runs with
``# replies: held``): 0.1 runs on github-copilot-sdk 0.1.25 with the CLI
its wheel bundles (found in ``COPILOT_SDK01_DIR`` or the cache dir that
``make copilot-sdk-0.1`` fills), 1.0 on the installed SDK with the CLI that
``make copilot-cli`` installs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
ROOT = TESTS.parent
PROGRAMS = HERE / "programs"
ALLOWED = HERE / "ALLOWED.md"
GUARD_TIMEOUT = 300.0  # against a hang; never a timing assertion
SDK01_VERSION = "0.1.25"

sys.path.insert(0, str(TESTS))
sys.path.insert(0, str(ROOT))

from fakeserver import FakeServer  # noqa: E402

_DATETIME_TAG = re.compile(r"<current_datetime>.*?</current_datetime>\s*", re.S)
_REMINDER = re.compile(r"\s*<reminder>.*?</reminder>\s*", re.S)
_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"
    r"|datetime\.datetime\([^)]*\)"
)
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)copilot(?=[\s.])", re.M)


# -- where the real SDKs are ----------------------------------------------------
def sdk01_dir(env: Mapping[str, str] | None = None) -> Path | None:
    """A directory holding the ``copilot`` package of SDK 0.1.25 (with its CLI)."""
    env = os.environ if env is None else env
    candidates = []
    if env.get("COPILOT_SDK01_DIR"):
        candidates.append(Path(env["COPILOT_SDK01_DIR"]))
    xdg = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    candidates.append(Path(xdg) / "copilot-repl" / f"sdk-{SDK01_VERSION}")
    for path in candidates:
        if (path / "copilot" / "bin" / "copilot").is_file():
            return path
    return None


def cli_for_10() -> Path | None:
    from copilot_repl.config import ProviderSettings
    from copilot_repl.errors import CopilotError
    from copilot_repl.providers.copilot_cli import find_cli

    try:
        return find_cli(ProviderSettings(name="copilot", kind="copilot"), os.environ)
    except CopilotError:
        return None


def sdk10_installed() -> bool:
    from importlib import metadata

    try:
        return metadata.version("github-copilot-sdk").startswith("1.")
    except metadata.PackageNotFoundError:
        return False


def missing(shape: str) -> str | None:
    """Why programs of this SDK shape cannot run here (None: they can)."""
    if shape == "0.1":
        if sdk01_dir() is None:
            return (
                f"github-copilot-sdk {SDK01_VERSION} (with its bundled CLI) not found: "
                "make copilot-sdk-0.1, or set COPILOT_SDK01_DIR"
            )
        return None
    if not sdk10_installed():
        return "github-copilot-sdk 1.x is not installed: pip install 'copilot-repl[copilot]'"
    if cli_for_10() is None:
        return "the Copilot CLI is not installed: make copilot-cli"
    return None


# -- the allow-list ---------------------------------------------------------------
@dataclass
class Allowed:
    ignored_types: set[str] = field(default_factory=set)
    ignored_types_01: set[str] = field(default_factory=set)
    loose_types: set[str] = field(default_factory=set)
    unordered_types: set[str] = field(default_factory=set)
    round_types: set[str] = field(default_factory=set)
    ignored_fields: set[str] = field(default_factory=set)
    optional_after: set[tuple[str, str]] = field(default_factory=set)
    differences: dict[tuple[str, str], str] = field(default_factory=dict)


_BULLET = re.compile(r"^- `([^`]+)`(?: · `([^`]+)`)?: (.+)$")


def load_allowed(path: Path = ALLOWED) -> Allowed:
    """ALLOWED.md: bullets under five headings ("Ignored event types",
    "Ignored event types on SDK 0.1", "Loosely counted event types",
    "Unordered event types", "Allowed differences")."""
    allowed = Allowed()
    section = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            section = line[3:].strip().lower()
            continue
        m = _BULLET.match(line.strip())
        if not m:
            continue
        first, second, why = m.groups()
        if section.startswith("ignored") and section.endswith("0.1"):
            allowed.ignored_types_01.add(first)
        elif section.startswith("ignored"):
            allowed.ignored_types.add(first)
        elif section.startswith("loosely"):
            allowed.loose_types.add(first)
        elif section.startswith("tool round"):
            allowed.round_types.add(first)
        elif section.startswith("unordered"):
            allowed.unordered_types.add(first)
        elif section.startswith("request fields"):
            allowed.ignored_fields.add(first)
        elif section.startswith("optional") and second:
            allowed.optional_after.add((first, second))
        elif section.startswith("allowed") and second:
            allowed.differences[(first, second)] = why
    return allowed


# -- running one side ---------------------------------------------------------
@dataclass
class Run:
    side: str
    code: int
    stdout: str
    stderr: str
    trace: list[dict[str, Any]]
    requests: list[dict[str, Any]]


def program_shape(program: Path) -> str:
    m = re.search(r"^# sdk: (0\.1|1\.0)\s*$", program.read_text(encoding="utf-8"), re.M)
    if not m:
        raise ValueError(f"{program.name}: no '# sdk: 0.1' or '# sdk: 1.0' line")
    return m.group(1)


def reply_delay(program: Path) -> float:
    """``# reply-delay: SECONDS``: the server waits that long before each reply."""
    m = re.search(r"^# reply-delay: ([0-9.]+)\s*$", program.read_text(encoding="utf-8"), re.M)
    return float(m.group(1)) if m else 0.0


def replies_held(program: Path) -> bool:
    """``# replies: held``: the server answers no chat request until the program
    has exited (what it sends is recorded): the replies come after everything the
    program does, on either side, however loaded the machine (a delay cannot
    promise that: a slow CLI takes longer than any delay to get there)."""
    return re.search(r"^# replies: held\s*$", program.read_text(encoding="utf-8"), re.M) is not None


def swap_imports(text: str) -> str:
    """``copilot`` -> ``copilot_repl`` in import statements, nothing else."""
    return _IMPORT.sub(r"\1\2\3copilot_repl", text)


REPL_CONFIG = """\
# The conformance runner's copilot_repl config: the models the programs name
# go to the loopback server (the default provider is openai via OPENAI_BASE_URL).
[aliases]
local = "openai:local"
"""


def run_side(
    program: Path, side: str, server: FakeServer, workdir: Path, shape: str | None = None
) -> Run:
    shape = shape or program_shape(program)
    workdir.mkdir(parents=True, exist_ok=True)
    trace_path = workdir / "trace.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COPILOT", "OPENAI_"))}
    env.pop("PYTHONPATH", None)
    env["CONFORMANCE_SIDE"] = side
    env["PYTHONUNBUFFERED"] = "1"
    if side == "sdk":
        script = program
        env["HOME"] = str(workdir / "home")  # the 0.1 CLI keeps state in ~/.copilot
        env["COPILOT_HOME"] = str(workdir / "copilot")
        env["CONFORMANCE_PROVIDER_URL"] = server.url
        if shape == "0.1":
            found = sdk01_dir()
            assert found is not None
            env["PYTHONPATH"] = str(found)
        else:
            env["COPILOT_CLI_PATH"] = str(cli_for_10())
    else:
        script = workdir / program.name
        script.write_text(swap_imports(program.read_text(encoding="utf-8")), encoding="utf-8")
        home = workdir / "repl"
        home.mkdir(exist_ok=True)
        (home / "config.toml").write_text(REPL_CONFIG, encoding="utf-8")
        env["COPILOT_REPL_HOME"] = str(home)
        env["OPENAI_BASE_URL"] = server.url
        env["PYTHONPATH"] = str(ROOT)  # the copilot_repl of this tree, not an installed one
    before = len(server.requests)
    proc = subprocess.run(
        [sys.executable, str(HERE / "observe.py"), str(trace_path), str(script)],
        capture_output=True,
        env=env,
        cwd=workdir,
        timeout=GUARD_TIMEOUT,
        check=False,
    )
    trace = (
        [json.loads(x) for x in trace_path.read_text().splitlines()] if trace_path.exists() else []
    )
    return Run(
        side,
        proc.returncode,
        proc.stdout.decode("utf-8", "replace"),
        proc.stderr.decode("utf-8", "replace"),
        trace,
        list(server.requests[before:]),
    )


# -- what is compared -------------------------------------------------------------
def clean_text(text: str | None) -> str:
    text = _REMINDER.sub("\n", _DATETIME_TAG.sub("", text or ""))
    return " ".join(text.split())


@dataclass
class Observed:
    events: dict[str, list[str]]
    replies: dict[str, list[str]]
    stdout: list[str]
    code: int
    asked: list[str]
    # per session: the data fields of FIELDS (observe.py), in order
    fields: dict[str, list[Any]] = field(default_factory=dict)
    # per session: (type, ephemeral, has a parent) of each compared event, in order
    envelope: dict[str, list[Any]] = field(default_factory=dict)
    # per session: get_events() before the program closed it (types, and whether
    # every event seen live is in it with the same id)
    history: dict[str, list[Any]] = field(default_factory=dict)
    # per conversation (its first prompt): each chat request, in order
    requests: dict[str, list[Any]] = field(default_factory=dict)


def asked(requests: list[dict[str, Any]]) -> list[str]:
    """The last user message of each chat request, sorted."""
    out = []
    for req in requests:
        body = req.get("body")
        if not req["path"].endswith("/chat/completions") or not isinstance(body, dict):
            continue
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        if users:
            out.append(clean_text(str(users[-1].get("content"))))
    return sorted(out)


def conversations(requests: list[dict[str, Any]], ignored_fields: set[str]) -> dict[str, list[Any]]:
    """Each chat request in full, grouped by conversation (its first prompt:
    requests of several sessions interleave), in order: the model, every
    message with its role (the CLI's prompt tags removed), the custom
    ``x-conformance*`` headers, whether a key was sent, and the body's other
    keys (those ALLOWED.md lists under "Request fields ignored" left out)."""
    out: dict[str, list[Any]] = {}
    for req in requests:
        body = req.get("body")
        if not req["path"].endswith("/chat/completions") or not isinstance(body, dict):
            continue
        messages = [
            (m.get("role"), clean_text(str(m.get("content"))))
            for m in body.get("messages") or []
            if not (m.get("role") == "system" and "system" in ignored_fields)
        ]
        users = [text for role, text in messages if role == "user"]
        headers = {k.lower(): v for k, v in (req.get("headers") or {}).items()}
        summary = {
            "model": body.get("model"),
            "messages": messages,
            "headers": {k: v for k, v in headers.items() if k.startswith("x-conformance")},
            "key sent": "authorization" in headers and "authorization" not in ignored_fields,
            "other keys": sorted(set(body) - {"model", "messages"} - ignored_fields),
        }
        out.setdefault(users[0] if users else "", []).append(summary)
    return out


def labels(trace: list[dict[str, Any]]) -> dict[str, str]:
    """Session id -> S1, S2, ... in order of first creation or resume."""
    out: dict[str, str] = {}
    for rec in trace:
        if rec["kind"] in ("create", "resume") and rec["session"] not in out:
            out[rec["session"]] = f"S{len(out) + 1}"
    for rec in trace:  # sessions seen only through events (should not happen)
        if rec["kind"] == "event" and rec["session"] not in out:
            out[rec["session"]] = f"S?{rec['session']}"
    return out


def _without_optional(
    trace: list[dict[str, Any]], allowed: Allowed, ignored: set[str]
) -> list[dict[str, Any]]:
    """The trace without the events ALLOWED.md lists as optional right after
    another one ("Optional events": `session.idle` after `session.error`)."""
    if not allowed.optional_after:
        return trace
    out, last = [], {}  # last compared event type per session
    for rec in trace:
        if rec["kind"] == "event" and rec["type"] not in ignored:
            session, kind = rec["session"], rec["type"]
            if (kind, last.get(session)) in allowed.optional_after:
                continue
            if kind not in allowed.unordered_types:
                last[session] = kind
        out.append(rec)
    return out


def observe(run: Run, allowed: Allowed, shape: str = "1.0") -> Observed:
    names = labels(run.trace)
    events: dict[str, list[str]] = {}
    replies: dict[str, list[str]] = {}
    unordered: dict[str, set[str]] = {}
    ignored = allowed.ignored_types | (allowed.ignored_types_01 if shape == "0.1" else set())
    trace = _without_optional(run.trace, allowed, ignored)
    for rec in trace:
        if rec["kind"] != "event" or rec["type"] in ignored:
            continue
        label = names[rec["session"]]
        seq = events.setdefault(label, [])
        kind = rec["type"]
        if kind in allowed.unordered_types:  # compared as "seen at all", after the rest
            unordered.setdefault(label, set()).add(f"{kind} (seen)")
            continue
        if kind == "session.idle" and (
            rec.get("aborted") or (rec.get("fields") or {}).get("aborted")
        ):
            kind = "session.idle(aborted)"
        if not (seq and seq[-1] == kind and kind in allowed.loose_types):
            seq.append(kind)
        if kind == "assistant.message":
            replies.setdefault(label, []).append(clean_text(rec.get("content")))
    for label, seen in unordered.items():
        events[label] += sorted(seen)
    for label, seq in events.items():
        events[label] = sort_rounds(seq, allowed.round_types)
    fields, envelope, history = _envelopes(trace, names, allowed, ignored)
    stdout = run.stdout
    for sid, label in sorted(names.items(), key=lambda kv: -len(kv[0])):
        stdout = stdout.replace(sid, label)
    stdout = _TIMESTAMP.sub("<time>", _UUID.sub("<uuid>", stdout))
    lines = [clean_text(x) for x in _REMINDER.sub("\n", _DATETIME_TAG.sub("", stdout)).splitlines()]
    return Observed(
        events,
        replies,
        [x for x in lines if x],
        run.code,
        asked(run.requests),
        fields,
        envelope,
        history,
        conversations(run.requests, allowed.ignored_fields),
    )


def sort_rounds(seq: list[str], round_types: set[str]) -> list[str]:
    """Each run of tool-round events holding several ``tool.execution_start``
    sorted: the CLI runs the calls of one reply together, so how their events
    interleave is not something a program can rely on."""
    out: list[str] = []
    run: list[str] = []
    for kind in [*seq, ""]:
        if kind in round_types:
            run.append(kind)
            continue
        out += sorted(run) if run.count("tool.execution_start") > 1 else run
        run = []
        if kind:
            out.append(kind)
    return out


def _envelopes(
    trace: list[dict[str, Any]], names: dict[str, str], allowed: Allowed, ignored: set[str]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]], dict[str, list[Any]]]:
    """Per session: the data fields, the envelope of each compared event, and
    get_events() (its types, and whether the ids seen live are in it)."""
    fields: dict[str, list[Any]] = {}
    envelope: dict[str, list[Any]] = {}
    history: dict[str, list[Any]] = {}
    live_ids: dict[str, list[tuple[str, str]]] = {}
    skip = ignored | allowed.loose_types | allowed.unordered_types
    for rec in trace:
        if rec["kind"] == "event" and rec["type"] not in skip:
            label = names[rec["session"]]
            kind = rec["type"]
            if rec.get("fields"):
                fields.setdefault(label, []).append((kind, rec["fields"]))
            envelope.setdefault(label, []).append(
                (kind, bool(rec.get("ephemeral")), rec.get("parent") is not None)
            )
            if not rec.get("ephemeral"):
                live_ids.setdefault(label, []).append((kind, rec.get("id", "")))
        elif rec["kind"] == "history":
            label = names.get(rec["session"], "S?")
            if "error" in rec:
                history.setdefault(label, []).append(("get_events() raised", rec["error"]))
                continue
            saved = [e for e in rec["events"] if e["type"] not in skip]
            ids = {e["id"] for e in rec["events"]}
            missing = sorted({k for k, i in live_ids.get(label, []) if i not in ids})
            history.setdefault(label, []).append(
                {"types": [e["type"] for e in saved], "live events missing": missing}
            )
    return fields, envelope, history


@dataclass
class Difference:
    what: str  # "exit", "stdout", "asked", "events S1", "replies S2"
    sdk: Any
    repl: Any
    allowed_because: str | None = None

    def __str__(self) -> str:
        tag = f"allowed ({self.allowed_because})" if self.allowed_because else "DIFFERS"
        return f"{self.what}: {tag}\n    sdk:  {self.sdk!r}\n    repl: {self.repl!r}"


def compare(program: str, sdk: Observed, repl: Observed, allowed: Allowed) -> list[Difference]:
    diffs: list[Difference] = []

    def check(what: str, a: Any, b: Any) -> None:
        if a != b:
            diffs.append(Difference(what, a, b, allowed.differences.get((program, what))))

    check("exit", sdk.code, repl.code)
    check("stdout", sdk.stdout, repl.stdout)
    check("asked", sdk.asked, repl.asked)
    for label in sorted(set(sdk.events) | set(repl.events)):
        check(f"events {label}", sdk.events.get(label, []), repl.events.get(label, []))
    for label in sorted(set(sdk.replies) | set(repl.replies)):
        check(f"replies {label}", sdk.replies.get(label, []), repl.replies.get(label, []))
    for what, a, b in (
        ("fields", sdk.fields, repl.fields),
        ("envelope", sdk.envelope, repl.envelope),
        ("history", sdk.history, repl.history),
    ):
        for label in sorted(set(a) | set(b)):
            check(f"{what} {label}", a.get(label, []), b.get(label, []))
    keys = sorted(set(sdk.requests) | set(repl.requests))
    for n, key in enumerate(keys, 1):
        check(f"requests C{n}", sdk.requests.get(key, []), repl.requests.get(key, []))
    return diffs


@dataclass
class Outcome:
    program: str
    sdk: Run
    repl: Run
    differences: list[Difference]

    @property
    def failures(self) -> list[Difference]:
        return [d for d in self.differences if d.allowed_because is None]

    def report(self) -> str:
        lines = [f"== {self.program}: sdk exit {self.sdk.code}, repl exit {self.repl.code}"]
        lines += [str(d) for d in self.differences] or ["no differences"]
        for run in (self.sdk, self.repl):
            if run.code != 0 or any(d.what == "stdout" for d in self.failures):
                lines.append(f"-- {run.side} stdout:\n{run.stdout}-- {run.side} stderr (tail):")
                lines += run.stderr.splitlines()[-15:]
        return "\n".join(lines)


def new_server(first_delay: float = 0.0, *, held: bool = False) -> FakeServer:
    return FakeServer(first_delay=first_delay, hold_replies=held)


def run_program(program: Path, workdir: Path, allowed: Allowed | None = None) -> Outcome:
    allowed = allowed or load_allowed()
    shape = program_shape(program)
    delay, held = reply_delay(program), replies_held(program)
    with new_server(delay, held=held) as server:  # stopped: a held reply is dropped
        sdk = run_side(program, "sdk", server, workdir / "sdk", shape)
    with new_server(delay, held=held) as server:
        repl = run_side(program, "repl", server, workdir / "repl", shape)
    diffs = compare(
        program.stem, observe(sdk, allowed, shape), observe(repl, allowed, shape), allowed
    )
    return Outcome(program.stem, sdk, repl, diffs)


def all_programs() -> list[Path]:
    return sorted(PROGRAMS.glob("*.py"))


def main(argv: list[str]) -> int:
    chosen = [PROGRAMS / f"{a.removesuffix('.py')}.py" for a in argv] or all_programs()
    failed = 0
    with tempfile.TemporaryDirectory(prefix="conformance-") as tmp:
        for program in chosen:
            reason = missing(program_shape(program))
            if reason:
                print(f"== {program.stem}: skipped: {reason}")
                continue
            outcome = run_program(program, Path(tmp) / program.stem)
            print(outcome.report(), flush=True)
            failed += bool(outcome.failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
