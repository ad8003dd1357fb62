"""The command registry: a decorator records each command's name, aliases,
usage, flags, argument count, help and what to complete; help, completion,
argument parsing and dispatch all read the same table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import FunctionType, MethodType
from typing import Any, TypeVar

from copilot_repl.errors import UsageError
from copilot_repl.repl.parsing import Args, nearest, parse_args

Handler = Callable[..., Awaitable[None]]
F = TypeVar("F", bound=Callable[..., Awaitable[None]])
# The functions @command marked, and what it said of each: filled as the
# command classes are defined, read by every Registry.
_MARKED: dict[Callable[..., Awaitable[None]], dict[str, Any]] = {}


class BadArgs(UsageError):
    """Raised by a handler whose arguments do not fit; the registry replaces
    it with the command's declared usage."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    usage: str
    help: str
    aliases: tuple[str, ...] = ()
    # "session", "sessions", "session-list" (a,b,c), "model", "provider", "command",
    # "path" or ""
    complete: str = ""
    # accepted flags (and short aliases) -> the name the handler reads
    flags: Mapping[str, str] = field(default_factory=dict)
    # the canonical names of flags that take no value (``--force``)
    switches: tuple[str, ...] = ()
    # (min, max) positional arguments; None: the handler takes the raw text
    nargs: tuple[int, int | None] | None = (0, 0)

    @property
    def long_flags(self) -> list[str]:
        return [f for f in self.flags if f.startswith("--")]

    def parse(self, text: str) -> Args | str:
        if self.nargs is None:
            return text
        lo, hi = self.nargs
        return parse_args(
            text, self.flags, min_pos=lo, max_pos=hi, usage=self.usage, switches=self.switches
        )

    async def run(self, text: str) -> None:
        try:
            await self.handler(self.parse(text))
        except BadArgs as exc:
            extra = f"{exc.detail}; " if exc.detail else ""
            raise UsageError(f"{extra}usage: {self.usage}") from None


def command(
    name: str,
    *,
    help: str,
    usage: str = "",
    aliases: Iterable[str] = (),
    complete: str = "",
    flags: Mapping[str, str] | None = None,
    switches: Iterable[str] = (),
    nargs: tuple[int, int | None] | None = (0, 0),
) -> Callable[[F], F]:
    """Mark a method as the handler of ``:name``. It receives the parsed
    ``Args`` (or the raw text when ``nargs`` is None)."""

    def mark(fn: F) -> F:
        spec = dict(
            name=name,
            usage=usage or f":{name}",
            help=help,
            aliases=tuple(aliases),
            complete=complete,
            flags=dict(flags or {}),
            switches=tuple(switches),
            nargs=nargs,
        )
        _MARKED[fn] = spec
        return fn

    return mark


class Registry:
    """The commands found on some objects (their methods marked with @command)."""

    def __init__(self, *owners: Any) -> None:
        self._by_name: dict[str, Command] = {}
        self.commands: list[Command] = []
        for owner in owners:
            for fn in _marked_methods(type(owner)):
                self._add(Command(handler=MethodType(fn, owner), **_MARKED[fn]))
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

    def markdown_rows(self) -> list[str]:
        """The command table of README.md, one row a command (a test keeps
        the README equal to it)."""
        rows = []
        for cmd in self.commands:
            usage = cmd.usage.replace("|", "\\|")
            alias = f" (`:{'`, `:'.join(cmd.aliases)}`)" if cmd.aliases else ""
            text = cmd.help.replace("|", "\\|")
            rows.append(f"| `{usage}`{alias} | {text} |")
        return rows


def _marked_methods(cls: type) -> list[Callable[..., Awaitable[None]]]:
    """The methods of ``cls`` marked with @command (one per name: a subclass's
    own definition hides its base's)."""
    found: dict[str, Callable[..., Awaitable[None]]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, FunctionType) and value in _MARKED:
                found[name] = value
            else:
                found.pop(name, None)
    return list(found.values())
