"""The entry point: pick the mode (shell, script, one-shot prompt or a
subcommand) and return the exit status. The arguments are defined in
``arguments.py``; each mode lives in its own module."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.cli.arguments import (
    Invocation,
    build_parser,
    llm_options,
    make_client,
    make_config,
    prompt_of,
    split_subcommand,
    tool_options,
)
from copilot_repl.cli.output import is_tty, write_error
from copilot_repl.errors import BadUsage, ReplError

if TYPE_CHECKING:
    from copilot_repl.config import Config
    from copilot_repl.history.store import Store
    from copilot_repl.shell.first_frame import FirstFrame


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[Any] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run copilot-repl; returns the exit status."""
    # httpx imports its command-line client (click, rich.progress, pygments:
    # ~25 ms) when click is installed, as the local extra's uvicorn does; we
    # never run it. Blocked, httpx keeps a stub `httpx.main` (its own fallback).
    # tests/test_httpx_main_block.py fails if httpx stops taking that path.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    argv = list(sys.argv[1:] if argv is None else argv)
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    env = os.environ if env is None else env
    sub = split_subcommand(argv)
    if sub is not None:
        return _subcommand(Invocation(*sub, stdin, stdout, stderr, env))
    argv = llm_options(argv)  # not a subcommand's (sessions export -o FILE)
    try:
        args = build_parser(stdout).parse_args(argv)
        prompt = prompt_of(args)
        interactive = is_tty(stdin) and is_tty(stdout)
        if args.json and prompt is None and is_tty(stdin):
            raise BadUsage("--json is for prompts (-p) and script mode (stdin not a terminal)")
    except BadUsage as exc:
        write_error(stderr, f"{exc} (see --help)")
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)

    if args.cont or args.resume is not None:
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.launch import choose_session

        try:
            args.session = choose_session(args, env, stdin, stdout, interactive=interactive)
        except ReplError as exc:
            write_error(stderr, str(exc))
            return 2
        if args.session is None and args.resume is not None:
            return 0  # nothing picked
    if prompt is not None:
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.oneshot import run_oneshot

        return run_oneshot(args, prompt, stdin=stdin, stdout=stdout, stderr=stderr, env=env)
    try:
        config = make_config(args, env)
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 2
    store, frame = _first_frame(args, config, stdin, stdout, env) if interactive else (None, None)
    try:
        return _run(args, config, store, frame, interactive, stdin, stdout, stderr, env)
    finally:
        if frame is not None:
            frame.clear()  # not handed over: withdrawn before the error line, say


def _first_frame(
    args: argparse.Namespace,
    config: Config,
    stdin: IO[Any],
    stdout: IO[str],
    env: Mapping[str, str],
) -> tuple[Store, FirstFrame | None]:
    """The shell's first frame, drawn from the files before the client
    loads (shell/first_frame.py), and the store it read, for the client."""
    # start-up: the store and the frame alone, before asyncio and the client
    from copilot_repl.cli.launch import opening
    from copilot_repl.history.store import Store
    from copilot_repl.shell import first_frame

    store = Store(config.data_dir)
    seen = opening(args, config, store)
    if seen is None:
        return store, None
    lines = first_frame.welcome(seen.name, seen.model, seen.messages)
    mono = args.plain or bool(env.get("NO_COLOR"))  # as prompt_toolkit will draw it
    prompt = first_frame.prompt(seen.name, seen.model)
    return store, first_frame.FirstFrame.show(stdout, stdin, prompt, plain=mono, above=lines)


def _run(
    args: argparse.Namespace,
    config: Config,
    store: Store | None,
    frame: FirstFrame | None,
    interactive: bool,
    stdin: IO[Any],
    stdout: IO[str],
    stderr: IO[str],
    env: Mapping[str, str],
) -> int:
    """The shell or script mode, with the client."""
    try:
        client = make_client(args, env, config, store)
    except ReplError as exc:
        if frame is not None:
            frame.clear()
        write_error(stderr, str(exc))
        return 2
    import asyncio  # here, not at the top: --version and --help stay fast

    try:
        if interactive:
            plain = args.plain  # NO_COLOR: rich and prompt_toolkit drop the colour only
            return asyncio.run(_shell(client, args, plain, stderr, frame))
        return asyncio.run(_script(client, args, stdin, stdout, stderr))
    except ReplError as exc:
        if frame is not None:
            frame.clear()
        write_error(stderr, str(exc))
        return 1


def _subcommand(call: Invocation) -> int:
    """Each subcommand of arguments.SUBCOMMANDS, its module imported when used."""
    if call.name == "compare":
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.compare import run_compare as run
    elif call.name == "models":
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.models import run_models as run
    elif call.name == "completion":
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.completion import run_completion as run
    elif call.name == "vote":
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.vote import run_vote as run
    else:
        # start-up: each front end loads when it is chosen
        from copilot_repl.cli.sessions import run_sessions as run
    return run(call)


async def _shell(
    client: Any,
    args: argparse.Namespace,
    plain: bool,
    stderr: IO[str],
    frame: FirstFrame | None,
) -> int:
    # start-up: each front end loads when it is chosen
    from copilot_repl.cli.launch import apply_model_options
    from copilot_repl.shell.loop import run_shell

    await client.start()
    said = io.StringIO()  # a model switched: said before the first frame
    try:
        await apply_model_options(client, args, said)
    finally:
        if said.getvalue():
            if frame is not None:
                frame.withdraw()
            stderr.write(said.getvalue())
            stderr.flush()
    return await run_shell(client, args.session, plain=plain, tools=tool_options(args), frame=frame)


async def _script(
    client: Any, args: argparse.Namespace, stdin: IO[Any], stdout: IO[str], stderr: IO[str]
) -> int:
    # start-up: each front end loads when it is chosen
    from copilot_repl.cli.launch import apply_model_options
    from copilot_repl.cli.script import (
        JsonScriptOutput,
        ScriptOutput,
        first_line,
        read_lines,
        run_script,
    )
    from copilot_repl.repl.controller import Repl

    out = JsonScriptOutput(stdout, stderr) if args.json else ScriptOutput(stdout, stderr)
    repl = Repl(client, out)

    repl.tool_policy, repl.default_tools = tool_options(args)
    stream = getattr(stdin, "buffer", stdin)  # a text stream's bytes; binary as it is
    lines = read_lines(stream)
    first = await first_line(lines)
    if first is None:
        return 0  # nothing to run: no session opened or made, no server asked
    try:
        await client.start()
        if isinstance(out, JsonScriptOutput):
            out.attach(repl)
        await apply_model_options(client, args, stderr)
        await repl.open_initial(args.session)
        return await run_script(repl, out, lines, first)
    finally:
        await repl.close()


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)  # so atexit cleanup runs
    signal.signal(signal.SIGHUP, _terminate)  # terminal closed, ssh dropped: the same
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        code = _reader_gone()
    sys.exit(code)


def _reader_gone() -> int:
    """stdout piped into a program that stopped reading (``| head -1``): end
    quietly, as ``cat`` does (128 + SIGPIPE), no traceback; stdout points at
    /dev/null so the flush at exit does not fail again."""
    with contextlib.suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 128 + 13  # SIGPIPE
