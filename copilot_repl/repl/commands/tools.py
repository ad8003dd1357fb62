"""``:tools``: the tools a session may call (the MCP servers of config.toml),
and single tools turned on and off; the set is saved with the session."""

from __future__ import annotations

from copilot_repl.errors import UsageError
from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command


class ToolCommands(CommandGroup):
    @command(
        "tools",
        usage=":tools [MCP,MCP | off | on TOOL,TOOL | off TOOL,TOOL]",
        help=(
            "list the current session's tools and the MCP servers configured; "
            "MCP,MCP: give it those servers' tools instead; off: no tools; "
            "on/off TOOL,TOOL: turn single tools on or off (saved with the session)"
        ),
        complete="tools",
        nargs=(0, 2),
    )
    async def tools(self, a: Args) -> None:
        session = self.repl.current
        await self.repl.restore_tools(session)
        if len(a.positional) == 2:
            switch, listed = a.positional
            if switch not in ("on", "off"):
                raise UsageError(
                    f"usage: :tools on TOOL,TOOL or :tools off TOOL,TOOL, not {switch!r}"
                )
            names = [n for n in listed.split(",") if n]
            self.repl.switch_tools(session, names, on=switch == "on")
            self.out.note(f"{session.session_id}: {', '.join(names)} {switch}")
            return
        if a.positional:
            want = a.positional[0]
            servers = [] if want == "off" else [n for n in want.split(",") if n]
            await self.repl.equip(session, servers)
            what = ", ".join(servers) or "no tools"
            self.out.note(f"{session.session_id} uses {what}")
            return
        configured = sorted(self.client.config.mcp)
        mine = self.repl.tool_sets.get(session.session_id, [])
        off = set(session.settings.excluded_tools or ())
        rows = [
            [t.name, "off" if t.name in off else "on", _source(t.metadata), t.description]
            for t in session.settings.tools
        ]
        if rows:
            self.out.table(["tool", "", "from", "description"], rows)
        else:
            self.out.info(f"{session.session_id} has no tools")
        listed = ", ".join(f"{n}{' (in use)' if n in mine else ''}" for n in configured)
        self.out.info(f"MCP servers in config.toml: {listed or 'none'} (:tools NAME,NAME)")


def _source(metadata: dict[str, object] | None) -> str:
    server = (metadata or {}).get("mcp_server")
    return f"mcp {server}" if server else "program"
