"""The command line's arguments: the parser (errors as one line, exit 2),
the options every mode shares, subcommand detection and the exit status of a
subcommand's errors, the one-shot prompt, and the client the options describe."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, NamedTuple, NoReturn, TypeVar

from copilot_repl._version import __version__
from copilot_repl.cli.output import write_error
from copilot_repl.errors import BadUsage, ReplError

if TYPE_CHECKING:
    from copilot_repl.config import Config
    from copilot_repl.history.store import Store
    from copilot_repl.repl.tools import ToolPolicy

# name -> (its arguments, one-line help); `copilot-repl NAME --help` has the details
SUBCOMMANDS = {
    "sessions": (
        "[list|show|rm|restore|rename|export|import]",
        "manage saved sessions (each with --json; alone: list)",
    ),
    "compare": (
        "--models A,B --prompts FILE [--blind]",
        "send each prompt of a file to each model; a summary per model",
    ),
    "vote": (
        "[[NAME] A|B|tie|bad] [--list]",
        "vote on blind comparisons: the queue, one pair at a time",
    ),
    "models": ("[PROVIDER]", "list the models a provider offers"),
    "completion": ("bash|zsh|fish", "print a completion script for that shell"),
}


def subcommand_lines() -> str:
    """The subcommands as ``--help`` lists them: every one in SUBCOMMANDS."""
    lines = ["subcommands (copilot-repl NAME --help for each):"]
    for name, (args, what) in SUBCOMMANDS.items():
        lines += [f"  {name} {args}", f"      {what}"]
    return "\n".join(lines) + "\n"


EPILOG = """\
examples:
  copilot-repl                                   chat (embedded local model if nothing is set up)
  copilot-repl "what is 2+2"                     one prompt, the reply on stdout, then exit
  git diff | copilot-repl -p "review this" -f notes.md   stdin and files go with the prompt
  copilot-repl --json -p "hi" | jq .type         the session's events, one JSON object a line
  copilot-repl --model openai:gpt-4o-mini        OpenAI (key in OPENAI_API_KEY)
  copilot-repl --base-url http://127.0.0.1:11434/v1 --model llama3.2    Ollama
  copilot-repl --model github:openai/gpt-4.1-mini   GitHub Models (key in GITHUB_TOKEN)
  printf ':new a\\nhello\\n:ls\\n' | copilot-repl   script mode: one command or prompt a line
  copilot-repl sessions list --json

A subcommand name comes before a prompt: `copilot-repl sessions` runs the
subcommand; `copilot-repl -p sessions` sends the word as a prompt.
exit status: 0 success, 1 a command or turn failed, 2 bad usage, 130 interrupted (Ctrl-C),
141 output cut off (a closed pipe: `| head`).
environment: COPILOT_REPL_HOME (data dir), OPENAI_BASE_URL, OPENAI_API_KEY, NO_COLOR.
"""


class LineParser(argparse.ArgumentParser):
    """argparse that writes to the given stream and reports errors in one
    line (``BadUsage``), each starting with ``error_prefix`` (a subcommand's
    parser names it: "sessions rm: ")."""

    def __init__(self, *args: Any, out: IO[str], error_prefix: str = "", **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._out = out
        self._error_prefix = error_prefix

    def _print_message(self, message: str, file: Any = None) -> None:
        if message:
            self._out.write(message)

    def error(self, message: str) -> NoReturn:
        raise BadUsage(self._error_prefix + message)


def add_global_options(p: argparse.ArgumentParser, *, default: Any = None) -> None:
    """The options every mode takes (data dir, config, providers)."""
    p.add_argument("-m", "--model", metavar="[PROVIDER:]MODEL", default=default, help=(
        "model for new sessions, and for the session opened (it is switched, and says so)"
    ))  # fmt: skip
    p.add_argument(
        "--base-url", metavar="URL", default=default, help="an OpenAI-compatible endpoint"
    )
    p.add_argument(
        "--api-key-env",
        metavar="VAR",
        default=default,
        help="environment variable holding the API key (default OPENAI_API_KEY)",
    )
    p.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default,
        help="where sessions live (or COPILOT_REPL_HOME)",
    )
    p.add_argument("--config", metavar="FILE", default=default, help="config file (TOML)")
    p.add_argument(
        "--allow-insecure",
        action="store_true",
        default=default if default is not None else False,
        help="allow sending an API key over plain http to a non-loopback host",
    )


def build_parser(out: IO[str] | None = None) -> argparse.ArgumentParser:
    p = LineParser(
        out=out or sys.stdout,
        prog="copilot-repl",
        usage="copilot-repl [options] [PROMPT]\n       copilot-repl SUBCOMMAND ...",
        description="Juggle several LLM chat sessions in one terminal.",
        epilog=subcommand_lines() + "\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,  # option prefixes would make subcommand detection guesswork
    )
    p.add_argument(
        "prompt",
        nargs="*",
        metavar="PROMPT",
        help="send this one prompt, print the reply and exit (quote it: one argument)",
    )
    p.add_argument(
        "-p", "--prompt", dest="prompt_opt", metavar="TEXT", help="the same, as an option"
    )
    p.add_argument(
        "-f",
        "--file",
        dest="files",
        metavar="PATH",
        action="append",
        default=[],
        help="attach a text file to the prompt (repeatable; at most 256 KB each)",
    )
    p.add_argument(
        "--json",
        action="store_true",
        help="prompts and script mode: every session event as one JSON object a line",
    )
    p.add_argument("--session", metavar="NAME", help="open (or create) this session")
    p.add_argument(
        "-c",
        "--continue",
        dest="cont",
        action="store_true",
        help="continue the most recent session (a one-shot's too)",
    )
    p.add_argument(
        "-r",
        "--resume",
        metavar="NAME",
        nargs="?",
        const="",
        help="resume session NAME; without NAME, pick one from a list (on a terminal)",
    )
    p.add_argument(
        "--tools",
        metavar="MCP,MCP",
        default="",
        help="give the sessions prompted the tools of these MCP servers ([mcp.NAME] in config)",
    )
    p.add_argument(
        "--allow-tool",
        metavar="NAME",
        action="append",
        default=[],
        help="run this tool without asking (repeatable); else script mode refuses it",
    )
    p.add_argument("--allow-all-tools", action="store_true", help="run every tool without asking")
    add_global_options(p)
    p.add_argument(
        "-s",
        "--system",
        metavar="TEXT",
        help="system prompt for new sessions and for the session opened",
    )
    p.add_argument(
        "--role",
        metavar="ROLE",
        help="[roles.ROLE] of the config: its model, system prompt and params",
    )
    p.add_argument(
        "-o",
        "--option",
        dest="options",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="a request option sent with every request (-o temperature=0.2; as llm: -o top_p 0.9)",
    )
    p.add_argument("--plain", action="store_true", help="plain text, no colour or Markdown")
    p.add_argument("--version", action="version", version=f"copilot-repl {__version__}")
    return p


class Invocation(NamedTuple):  # not a dataclass: --version stays without dataclasses
    """``copilot-repl [OPTIONS] NAME ARGS``: what a subcommand is given."""

    head: list[str]  # the options before NAME
    name: str
    rest: list[str]  # the arguments after it
    stdin: IO[Any]
    stdout: IO[str]
    stderr: IO[str]
    env: Mapping[str, str]

    @property
    def argv(self) -> list[str]:
        return [*self.head, *self.rest]


Ready = TypeVar("Ready")


# the options that take the next argument as their value
TAKES_VALUE = frozenset(
    {"--session", "--model", "--base-url", "--api-key-env", "--data-dir", "--config"}
    | {"-p", "--prompt", "-f", "--file", "-r", "--resume", "-m", "-s", "--system"}
    | {"-o", "--option", "--role"}
)


def llm_options(argv: Sequence[str]) -> list[str]:
    """``-o NAME VALUE`` (llm's way: two arguments) made ``-o NAME=VALUE``;
    the rest as it is. A NAME alone (the next argument an option) is left
    for ``-o``'s own error."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--":
            return out + list(argv[i:])
        if tok in ("-o", "--option") and i + 2 < len(argv) and "=" not in argv[i + 1]:
            value = argv[i + 2]
            if not value.startswith("-") or _is_number(value):
                out += [tok, f"{argv[i + 1]}={value}"]
                i += 3
                continue
        out.append(tok)
        if tok in TAKES_VALUE and i + 1 < len(argv):
            out.append(argv[i + 1])  # a value, whatever it looks like (-p -o)
            i += 1
        i += 1
    return out


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def split_subcommand(argv: Sequence[str]) -> tuple[list[str], str, list[str]] | None:
    """``(options before, NAME, arguments after)`` if the first positional
    argument is a subcommand name; None otherwise (``-p`` given, ``--`` first)."""
    i = 0
    while i < len(argv):
        tok = argv[i]
        if tok == "--" or tok in ("-p", "--prompt") or tok.startswith(("--prompt=", "-p")):
            return None  # -p always means a prompt
        if tok.startswith("-") and tok != "-":
            i += 2 if tok in TAKES_VALUE else 1
            continue
        if tok in SUBCOMMANDS:
            return list(argv[:i]), tok, list(argv[i + 1 :])
        return None
    return None


def run_subcommand(
    call: Invocation,
    setup: Callable[[], Ready],
    act: Callable[[Ready], int],
    *,
    hinted: tuple[type[ReplError], ...] = (BadUsage,),
) -> int:
    """``copilot-repl NAME``'s exit status, the same for every subcommand:
    ``setup`` (parse the arguments, build the client) exits as argparse does
    for ``--help``; its ``hinted`` errors are one line ending "(see
    copilot-repl NAME --help)", other errors one line; both exit 2. Then
    ``act(what setup made)``: a usage error exits 2, any other error 1."""
    stderr = call.stderr
    try:
        ready = setup()
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except hinted as exc:
        write_error(stderr, f"{exc} (see copilot-repl {call.name} --help)")
        return 2
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 2
    try:
        return act(ready)
    except BadUsage as exc:
        write_error(stderr, str(exc))
        return 2
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 1


def prompt_of(args: argparse.Namespace) -> str | None:
    """The one-shot prompt, if one was given (raises BadUsage if it is unclear)."""
    words: list[str] = args.prompt
    if args.prompt_opt is not None and words:
        raise BadUsage("give the prompt once: as an argument or with -p")
    if len(words) > 1:
        raise BadUsage(
            f"a prompt is one argument: quote it (copilot-repl {' '.join(words)!r}); "
            f"{words[1]!r} is not understood"
        )
    if words:
        import difflib  # start-up: only after a mistyped subcommand

        near = difflib.get_close_matches(words[0], SUBCOMMANDS, n=1, cutoff=0.75)
        if near and near[0] != words[0] and " " not in words[0]:  # exact: after --
            raise BadUsage(
                f"unknown subcommand {words[0]!r}: did you mean {near[0]!r}? "
                f"(to send it as a prompt: -p {words[0]})"
            )
        return words[0]
    if args.prompt_opt is not None:
        return str(args.prompt_opt)
    if args.files:
        raise BadUsage("-f attaches files to a prompt: give one (-p TEXT)")
    return None


def make_config(args: argparse.Namespace, env: Mapping[str, str]) -> Config:
    """The settings the command line, the environment and the config file
    give (``--role`` applied), the session name given checked."""
    # start-up: --version and --help stay fast (no dataclasses, no config)
    from dataclasses import replace

    # start-up: the config loads only when a command needs it
    from copilot_repl.config import load_config, request_option, with_request_options

    for key in ("model", "base_url", "api_key_env", "data_dir", "config", "session"):
        vars(args).setdefault(key, None)  # subcommands not given these options
    vars(args).setdefault("allow_insecure", False)
    cfg = load_config(
        env=env,
        data_dir=args.data_dir,
        config_path=args.config,
        model=args.model,
        base_url=args.base_url,
        api_key_env=args.api_key_env,
        allow_insecure=args.allow_insecure,
    )
    for key, none in (("role", None), ("system", None), ("options", [])):
        vars(args).setdefault(key, none)
    if args.role:  # as if its model (-m), system prompt (-s) and params (-o) were given
        role = cfg.role(args.role)
        cfg = with_request_options(cfg, role.params)
        if role.model and not args.model:
            args.model = role.model
            cfg = replace(cfg, model=cfg.resolve_model(role.model), discover_model=False)
        args.system = args.system or role.system or None
    cfg = with_request_options(cfg, dict(request_option(o) for o in args.options))
    if args.system:
        cfg = replace(cfg, system=args.system)  # new sessions; launch.py: the one opened
    if args.session:
        # start-up: --version and --help stay fast
        from copilot_repl.history.names import validate_name

        validate_name(args.session)
    return cfg


def make_client(
    args: argparse.Namespace,
    env: Mapping[str, str],
    config: Config | None = None,
    store: Store | None = None,
) -> Any:
    """The client the options ask for (``config``: ``make_config``'s, made
    already; ``store``: the data dir's, read already)."""
    # start-up: the client loads only when a client is made
    from copilot_repl.api.client import CopilotClient

    cfg = make_config(args, env) if config is None else config
    # lazy: a session opened to be listed or exported never loads httpx
    client = CopilotClient(config=cfg, env=env, store=store, lazy_providers=True)
    client.store.ensure()  # a data dir that cannot be made or entered: one line, exit 2
    return client


def tool_options(args: argparse.Namespace) -> tuple[ToolPolicy, list[str]]:
    """--allow-tool / --allow-all-tools, and the MCP servers of --tools."""
    from copilot_repl.repl.tools import ToolPolicy  # start-up: --version and --help stay fast

    policy = ToolPolicy.of(args.allow_tool, args.allow_all_tools)
    return policy, [n for n in args.tools.split(",") if n]
