"""``$EDITOR`` for a long prompt (``:edit``; Ctrl-X Ctrl-E does the same for
the line being typed, through prompt_toolkit)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from copilot_repl.errors import UsageError

FALLBACKS = ("editor", "nano", "vi")


def editor_command(env: Mapping[str, str]) -> list[str]:
    """``$VISUAL``, else ``$EDITOR`` (split as a shell would), else the first
    of FALLBACKS on PATH."""
    for var in ("VISUAL", "EDITOR"):
        if env.get(var, "").strip():
            try:
                return shlex.split(env[var])
            except ValueError:
                raise UsageError(f"cannot parse ${var} ({env[var]!r})") from None
    for name in FALLBACKS:
        if shutil.which(name, path=env.get("PATH")):
            return [name]
    raise UsageError("no editor found; set EDITOR (for example: export EDITOR=nano)")


async def edit_text(text: str, env: Mapping[str, str]) -> str:
    """Open the editor on a private temporary file holding ``text``; returns
    what was saved (the file is removed after). An editor that fails or
    cannot start raises ``UsageError``."""
    command = editor_command(env)
    fd, name = tempfile.mkstemp(prefix="copilot-repl-prompt-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        try:
            proc = await asyncio.create_subprocess_exec(*command, name, env=dict(env))
        except OSError as exc:
            raise UsageError(
                f"cannot start the editor {command[0]!r} ({exc.strerror or exc}); set EDITOR"
            ) from None
        code = await proc.wait()
        if code != 0:
            raise UsageError(f"the editor {command[0]!r} exited with status {code}; nothing sent")
        return Path(name).read_text(encoding="utf-8", errors="replace")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)
