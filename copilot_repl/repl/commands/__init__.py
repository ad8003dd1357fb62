"""The ``:commands``, one module per group; each group is a class whose
methods are marked with ``@command``. ``command_groups`` lists them all, and
``Registry(*command_groups(repl))`` is the table help, completion and
dispatch read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copilot_repl.repl.commands.compare import CompareCommands
from copilot_repl.repl.commands.general import GeneralCommands
from copilot_repl.repl.commands.library import LibraryCommands
from copilot_repl.repl.commands.parallel import ParallelCommands
from copilot_repl.repl.commands.sessions import SessionCommands
from copilot_repl.repl.commands.tools import ToolCommands
from copilot_repl.repl.commands.view import ViewCommands

if TYPE_CHECKING:
    from copilot_repl.repl.controller import Repl

GROUPS = (
    SessionCommands,
    LibraryCommands,
    ParallelCommands,
    ViewCommands,
    CompareCommands,
    ToolCommands,
    GeneralCommands,
)


def command_groups(repl: Repl | None) -> list[object]:
    """One instance of each group, bound to ``repl`` (None: the table only)."""
    return [group(repl) for group in GROUPS]  # type: ignore[arg-type]
