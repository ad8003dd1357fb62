"""``copilot-repl completion bash|zsh|fish``: a script that completes
copilot-repl's options, subcommands, session names and models in that
shell (``eval "$(copilot-repl completion bash)"``). The options and
subcommands are read from the parsers, so the script never goes stale;
session names and models come, when completing, from ``copilot-repl
completion --list sessions|models`` (no network: the models configured,
their aliases and the providers' defaults)."""

from __future__ import annotations

import argparse
import io
from collections.abc import Mapping
from typing import IO

from copilot_repl.cli.arguments import (
    SUBCOMMANDS,
    Invocation,
    LineParser,
    add_global_options,
    make_client,
    run_subcommand,
)
from copilot_repl.cli.arguments import build_parser as main_parser
from copilot_repl.errors import BadUsage, ReplError

SHELLS = ("bash", "zsh", "fish")
# options whose value is a session name, a model, a file
SESSION_OPTS = ("--session", "-r", "--resume")
MODEL_OPTS = ("-m", "--model")
FILE_OPTS = ("-f", "--file", "--config", "--data-dir")


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    p = LineParser(
        out=out,
        prog="copilot-repl completion",
        description=(
            "Print a completion script: "
            'eval "$(copilot-repl completion bash)" in ~/.bashrc (zsh: ~/.zshrc), '
            "copilot-repl completion fish | source in fish."
        ),
        allow_abbrev=False,
    )
    p.add_argument("shell", metavar="SHELL", nargs="?", choices=SHELLS, help="bash, zsh or fish")
    p.add_argument("--list", choices=("sessions", "models"), help=argparse.SUPPRESS)
    add_global_options(p)
    return p


def run_completion(call: Invocation) -> int:
    stdout, env = call.stdout, call.env

    def setup() -> argparse.Namespace:
        args = build_parser(stdout).parse_args(call.argv)
        if args.list is None and args.shell is None:
            raise BadUsage("give the shell: bash, zsh or fish")
        return args

    def act(args: argparse.Namespace) -> int:
        if args.list:
            try:
                words = _words(args, env)
            except ReplError:
                return 1  # completing: say nothing
            stdout.write("".join(f"{w}\n" for w in words))
            return 0
        stdout.write(script(args.shell))
        return 0

    return run_subcommand(call, setup, act)


def _words(args: argparse.Namespace, env: Mapping[str, str]) -> list[str]:
    client = make_client(args, env)
    if args.list == "sessions":
        return sorted(client.store.names())
    cfg = client.config
    models = {f"{p.name}:{p.default_model}" for p in cfg.providers.values() if p.default_model}
    return sorted(models | set(cfg.aliases) | {cfg.model})


def options() -> list[str]:
    """Every option of the main parser, long and short."""
    parser = main_parser(io.StringIO())
    return sorted({s for a in parser._actions for s in a.option_strings})


def subcommands() -> dict[str, list[str]]:
    """Each subcommand and the words that may follow it."""
    words: dict[str, list[str]] = {name: [] for name in SUBCOMMANDS}
    words["sessions"] = ["list", "show", "rm", "restore", "rename", "export", "import"]
    words["completion"] = list(SHELLS)
    return words


def script(shell: str) -> str:
    if shell == "fish":
        return _fish()
    body = _bash()
    if shell == "zsh":
        return "autoload -U +X bashcompinit && bashcompinit\n" + body
    return body


def _bash() -> str:
    subs = subcommands()
    cases = "".join(
        f'      {name}) words="{" ".join(after)}" ;;\n' for name, after in subs.items() if after
    )
    return f"""# copilot-repl completion (bash); eval "$(copilot-repl completion bash)"
_copilot_repl() {{
  local cur prev words i sub=""
  cur="${{COMP_WORDS[COMP_CWORD]}}"
  prev="${{COMP_WORDS[COMP_CWORD-1]}}"
  case "$prev" in
    {"|".join(SESSION_OPTS)})
      COMPREPLY=($(compgen -W "$(copilot-repl completion --list sessions 2>/dev/null)" -- "$cur"))
      return ;;
    {"|".join(MODEL_OPTS)})
      COMPREPLY=($(compgen -W "$(copilot-repl completion --list models 2>/dev/null)" -- "$cur"))
      return ;;
    {"|".join(FILE_OPTS)})
      COMPREPLY=($(compgen -f -- "$cur"))
      return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${{COMP_WORDS[i]}}" in
      {"|".join(subs)}) sub="${{COMP_WORDS[i]}}"; break ;;
    esac
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "{" ".join(options())}" -- "$cur"))
  elif [[ -z "$sub" ]]; then
    COMPREPLY=($(compgen -W "{" ".join(subs)}" -- "$cur"))
  elif [[ "$sub" == sessions && "$prev" != sessions ]]; then
    COMPREPLY=($(compgen -W "$(copilot-repl completion --list sessions 2>/dev/null)" -- "$cur"))
  else
    case "$sub" in
{cases}      *) words="" ;;
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}}
complete -o default -F _copilot_repl copilot-repl
"""


def _fish() -> str:
    subs = subcommands()
    none = "not __fish_seen_subcommand_from " + " ".join(subs)
    lines = [
        "# copilot-repl completion (fish); copilot-repl completion fish | source",
        "complete -c copilot-repl -f",
        f"complete -c copilot-repl -n '{none}' -a '{' '.join(subs)}'",
    ]
    for opt in options():
        flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
        if opt in SESSION_OPTS:
            flag += " -x -a '(copilot-repl completion --list sessions 2>/dev/null)'"
        elif opt in MODEL_OPTS:
            flag += " -x -a '(copilot-repl completion --list models 2>/dev/null)'"
        elif opt in FILE_OPTS:
            flag += " -r -F"
        lines.append(f"complete -c copilot-repl {flag}")
    for name, after in subs.items():
        if after:
            cond = f"__fish_seen_subcommand_from {name}"
            lines.append(f"complete -c copilot-repl -n '{cond}' -a '{' '.join(after)}'")
    sessions = "(copilot-repl completion --list sessions 2>/dev/null)"
    lines.append(
        f"complete -c copilot-repl -n '__fish_seen_subcommand_from "
        f"show rm rename export' -a '{sessions}'"
    )
    return "\n".join(lines) + "\n"
