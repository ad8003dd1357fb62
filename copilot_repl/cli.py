"""Command line: arguments, mode (shell or script), exit status."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Mapping, Sequence
from typing import IO, Any, NoReturn

from copilot_repl._version import __version__
from copilot_repl.errors import BadUsage

EPILOG = """\
examples:
  copilot-repl                                   chat (embedded local model if nothing is set up)
  copilot-repl --model openai:gpt-4o-mini        OpenAI (key in OPENAI_API_KEY)
  copilot-repl --base-url http://127.0.0.1:11434/v1 --model llama3.2    Ollama
  copilot-repl --model github:openai/gpt-4.1-mini   GitHub Models (key in GITHUB_TOKEN)
  echo 'What is 2+2?' | copilot-repl --session quick   script mode, plain output
  printf ':new a\\nhello\\n:ls\\n' | copilot-repl

exit status: 0 success, 1 a command or turn failed, 2 bad usage.
environment: COPILOT_REPL_HOME (data dir), OPENAI_BASE_URL, OPENAI_API_KEY, NO_COLOR.
"""


class _Parser(argparse.ArgumentParser):
    """argparse that writes to the given streams and reports errors in one line."""

    def __init__(self, *args: Any, out: IO[str], **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._out = out

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            self._out.write(message)

    def error(self, message: str) -> NoReturn:
        raise BadUsage(message)


def build_parser(out: IO[str] | None = None) -> argparse.ArgumentParser:
    p = _Parser(
        out=out or sys.stdout,
        prog="copilot-repl",
        description="Juggle several LLM chat sessions in one terminal.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--session", metavar="NAME", help="open (or create) this session")
    p.add_argument("--model", metavar="[PROVIDER:]MODEL", help="default model for new sessions")
    p.add_argument("--base-url", metavar="URL", help="an OpenAI-compatible endpoint")
    p.add_argument(
        "--api-key-env",
        metavar="VAR",
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    p.add_argument("--data-dir", metavar="DIR", help="where sessions live (or COPILOT_REPL_HOME)")
    p.add_argument("--config", metavar="FILE", help="config file (TOML)")
    p.add_argument("--plain", action="store_true", help="plain text, no colour or Markdown")
    p.add_argument(
        "--allow-insecure",
        action="store_true",
        help="allow sending an API key over plain http to a non-loopback host",
    )
    p.add_argument("--version", action="version", version=f"copilot-repl {__version__}")
    return p


def main(
    argv: Sequence[str] | None = None,
    *,
    stdin: IO[Any] | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run copilot-repl; returns the exit status."""
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    env = os.environ if env is None else env
    try:
        args = build_parser(stdout).parse_args(argv)
    except BadUsage as exc:
        stderr.write(f"copilot-repl: error: {exc} (see --help)\n")
        return 2
    except SystemExit as exc:  # --help, --version
        return int(exc.code or 0)
    from copilot_repl.errors import ReplError

    try:
        client = _client(args, env)
    except ReplError as exc:
        stderr.write(f"copilot-repl: error: {exc}\n")
        return 2
    interactive = _is_tty(stdin) and _is_tty(stdout)
    import asyncio  # here, not at the top: --version and --help stay fast

    try:
        if interactive:
            from copilot_repl.shell.loop import run_shell

            plain = args.plain or bool(env.get("NO_COLOR"))
            return asyncio.run(run_shell(client, args.session, plain=plain))
        return asyncio.run(_script(client, args.session, stdin, stdout, stderr))
    except ReplError as exc:
        stderr.write(f"copilot-repl: error: {exc}\n")
        return 1


def _client(args: argparse.Namespace, env: Mapping[str, str]) -> Any:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.config import load_config

    cfg = load_config(
        env=env,
        data_dir=args.data_dir,
        config_path=args.config,
        model=args.model,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        allow_insecure=args.allow_insecure,
    )
    if args.session:
        from copilot_repl.history.names import validate_name

        validate_name(args.session)
    return CopilotClient(config=cfg, env=env)


async def _script(
    client: Any, session: str | None, stdin: IO[Any], stdout: IO[str], stderr: IO[str]
) -> int:
    from copilot_repl.repl.controller import Repl
    from copilot_repl.script import ScriptOutput, run_script

    repl = Repl(client, ScriptOutput(stdout, stderr))
    try:
        await client.start()
        await repl.open_initial(session)
        return await run_script(repl, getattr(stdin, "buffer", stdin))
    finally:
        await repl.close()


def _is_tty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def run() -> None:
    """Console-script entry point."""
    signal.signal(signal.SIGTERM, _terminate)  # so atexit cleanup runs
    try:
        code = main()
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
