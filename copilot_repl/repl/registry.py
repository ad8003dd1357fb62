"""The command registry: a decorator records name, aliases, usage, help and
what to complete; help, completion and dispatch all read the same table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from copilot_repl.errors import UsageError
from copilot_repl.repl.parsing import nearest

Handler = Callable[..., Awaitable[None]]
_ATTR = "_copilot_repl_command"


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    usage: str
    help: str
    aliases: tuple[str, ...] = ()
    # "session", "sessions", "session-list" (a,b,c), "model", "command", "path" or ""
    complete: str = ""
    flags: tuple[str, ...] = ()


def command(
    name: str,
    *,
    usage: str = "",
    help: str,
    aliases: Iterable[str] = (),
    complete: str = "",
    flags: Iterable[str] = (),
) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of ``:name``."""

    def mark(fn: Handler) -> Handler:
        spec = dict(
            name=name,
            usage=usage or f":{name}",
            help=help,
            aliases=tuple(aliases),
            complete=complete,
            flags=tuple(flags),
        )
        setattr(fn, _ATTR, spec)
        return fn

    return mark


class Registry:
    """The commands found on one object (its methods marked with @command)."""

    def __init__(self, owner: Any) -> None:
        self._by_name: dict[str, Command] = {}
        self.commands: list[Command] = []
        for attr in dir(type(owner)):
            spec = getattr(getattr(type(owner), attr), _ATTR, None)
            if spec is not None:
                self._add(Command(handler=getattr(owner, attr), **spec))
        self.commands.sort(key=lambda c: c.name)

    def _add(self, cmd: Command) -> None:
        self.commands.append(cmd)
        for key in (cmd.name, *cmd.aliases):
            if key in self._by_name:
                raise RuntimeError(f"command {key!r} registered twice")
            self._by_name[key] = cmd

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def lookup(self, name: str) -> Command:
        try:
            return self._by_name[name]
        except KeyError:
            hint = nearest(name, self.names())
            extra = f"; did you mean :{hint}?" if hint else "; :help lists them"
            raise UsageError(f"unknown command :{name}{extra}") from None

    def help_lines(self) -> list[tuple[str, str]]:
        out = []
        for cmd in self.commands:
            alias = f" (:{', :'.join(cmd.aliases)})" if cmd.aliases else ""
            out.append((cmd.usage + alias, cmd.help))
        return out
