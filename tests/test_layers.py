"""The wings depend one way only: history -> providers -> api -> repl ->
render -> front ends (shell/, cli/script.py, ...) -> cli/main.py. A module may import its own
wing or a lower one, never a higher one; and no import circles."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "copilot_repl"

# rank of each wing (longest matching prefix wins); higher may import lower
RANKS = {
    "copilot_repl._version": 0,
    "copilot_repl.errors": 0,
    "copilot_repl.sanitize": 0,
    "copilot_repl.config": 0,
    "copilot_repl.history": 1,
    "copilot_repl.providers": 2,
    "copilot_repl.api": 3,
    # the SDK's import paths, re-exporting copilot_repl.api
    "copilot_repl.types": 3,
    "copilot_repl.session": 3,
    "copilot_repl.client": 3,
    "copilot_repl.session_events": 3,
    "copilot_repl.generated": 3,
    "copilot_repl.rpc": 3,
    "copilot_repl.copilot_request_handler": 3,
    "copilot_repl.tools": 3,
    "copilot_repl": 3,  # __init__: lazy re-exports of the API
    "copilot_repl.repl": 4,
    # render/: rich drawing a reply, for any front end (no prompt_toolkit)
    "copilot_repl.render": 5,
    "copilot_repl.shell": 6,
    # cli/: the front ends the command line starts (6), and the entry point
    # that picks one (cli/__init__ and cli/main, 7)
    "copilot_repl.cli": 7,
    "copilot_repl.cli.arguments": 6,
    "copilot_repl.cli.output": 6,
    "copilot_repl.cli.launch": 6,
    "copilot_repl.cli.script": 6,
    "copilot_repl.cli.oneshot": 6,
    "copilot_repl.cli.sessions": 6,
    "copilot_repl.cli.compare": 6,
    # `vote` picks a front end as main does: the shell's queue on a terminal
    "copilot_repl.cli.vote": 7,
    "copilot_repl.__main__": 7,
}
FRONT_END = 6  # a new top-level module is a front end unless listed above


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PKG.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank(module: str) -> int:
    best = ""
    for prefix in RANKS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    if best in ("", "copilot_repl") and module.count(".") >= 1:
        return FRONT_END
    return RANKS[best]


def imports(path: Path, *, module_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, module) for each import of a copilot_repl module."""
    tree = ast.parse(path.read_text(), str(path))
    me = module_name(path).split(".")
    is_pkg = path.name == "__init__.py"
    found = []
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = me if is_pkg else me[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            names = [f"{target}.{a.name}" for a in node.names]
            for name in [target, *names]:
                if name.startswith("copilot_repl") and _is_module(name):
                    found.append((node.lineno, name))
                    break
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("copilot_")]
    return found


def _is_module(name: str) -> bool:
    rel = Path(*name.split("."))
    return (PKG.parent / rel).with_suffix(".py").exists() or (PKG.parent / rel).is_dir()


def upward_imports(root: Path = PKG) -> list[str]:
    bad = []
    for path in sorted(root.rglob("*.py")):
        mine = module_name(path)
        for line, target in imports(path):
            if rank(target) > rank(mine):
                bad.append(f"{path.relative_to(root.parent)}:{line}: {mine} imports {target}")
    return bad


def test_no_wing_imports_a_higher_one() -> None:
    assert upward_imports() == []


def test_a_front_end_imports_no_other_front_end() -> None:
    """The shell imports nothing of cli/, and cli/'s front ends nothing of the
    shell (only the modules that pick a front end, main and vote, may): what
    both need lives below them (render/, repl/)."""
    pickers = {"copilot_repl.cli.main", "copilot_repl.cli.vote"}
    bad = []
    for path in sorted(PKG.rglob("*.py")):
        mine = module_name(path)
        for line, target in imports(path):
            crosses = (
                mine.startswith("copilot_repl.shell") and target.startswith("copilot_repl.cli")
            ) or (
                mine.startswith("copilot_repl.cli.")
                and mine not in pickers
                and target.startswith("copilot_repl.shell")
            )
            if crosses:
                bad.append(f"{path.relative_to(PKG.parent)}:{line}: {mine} imports {target}")
    assert bad == []


def test_no_import_circles_at_module_level() -> None:
    graph: dict[str, set[str]] = {}
    for path in PKG.rglob("*.py"):
        tree_imports = imports(path, module_level_only=True)
        graph[module_name(path)] = {t for _, t in tree_imports}
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, stack: list[str]) -> bool:
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle.extend([*stack[stack.index(nxt) :], nxt] if nxt in stack else [nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*stack, nxt]):
                return True
        state[node] = 2
        return False

    for node in list(graph):
        if state.get(node) is None and visit(node, [node]):
            break
    assert cycle == []


def test_the_check_catches_an_upward_import(tmp_path: Path) -> None:
    """The rule can fail: a history module importing the REPL is reported."""
    fake = tmp_path / "copilot_repl"
    (fake / "history").mkdir(parents=True)
    (fake / "repl").mkdir()
    (fake / "__init__.py").write_text("")
    (fake / "history" / "__init__.py").write_text("")
    (fake / "repl" / "__init__.py").write_text("")
    (fake / "repl" / "controller.py").write_text("X = 1\n")
    (fake / "history" / "store.py").write_text("from copilot_repl.repl.controller import X\n")
    global PKG
    saved, PKG = PKG, fake
    try:
        bad = upward_imports(fake)
    finally:
        PKG = saved
    assert len(bad) == 1 and "history.store imports copilot_repl.repl.controller" in bad[0]


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("copilot_repl.history.store", 1),
        ("copilot_repl.api.session", 3),
        ("copilot_repl.session", 3),
        ("copilot_repl.repl.commands.sessions", 4),
        ("copilot_repl.render.markdown_stream", 5),
        ("copilot_repl.shell.display", 6),
        ("copilot_repl.cli.oneshot", 6),
        ("copilot_repl.cli.main", 7),
    ],
)
def test_ranks(module: str, expected: int) -> None:
    assert rank(module) == expected


def test_public_api_is_pinned() -> None:
    import copilot_repl

    assert copilot_repl.__all__ == [
        "CopilotClient",
        "CopilotRequestContext",
        "CopilotRequestHandler",
        "CopilotSession",
        "MessageOptions",
        "ModelCapabilitiesOverride",
        "ModelInfo",
        "ModelLimitsOverride",
        "ModelSupportsOverride",
        "ModelVisionLimitsOverride",
        "PermissionHandler",
        "PingResponse",
        "ProviderConfig",
        "ResumeSessionConfig",
        "RuntimeConnection",
        "SessionConfig",
        "SessionContext",
        "SessionEvent",
        "SessionEventType",
        "SessionInfo",
        "SessionListFilter",
        "SessionMetadata",
        "SystemMessageConfig",
        "Tool",
        "ToolInvocation",
        "ToolResult",
        "ToolSet",
        "__version__",
        "define_tool",
    ]
    for name in copilot_repl.__all__:
        assert getattr(copilot_repl, name) is not None


_ATTR_CALL = re.compile(r"(?<![\w.])(getattr|hasattr|setattr)\(")
GENERATED = ("generated_events.py", "generated_events_all.py", "generated")


def attribute_calls() -> list[tuple[str, int, str, bool]]:
    """(file, line, text, has a reason) for each getattr/hasattr/setattr in
    copilot_repl, generated modules aside; the reason is a comment on the
    line or on the line above."""
    out = []
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG)
        if rel.name in GENERATED or rel.parts[0] == "generated":
            continue
        lines = path.read_text().splitlines()
        for i, line in enumerate(lines):
            if _ATTR_CALL.search(line.split("#")[0]):
                above = lines[i - 1].strip() if i else ""
                reason = "#" in line or above.startswith("#")
                out.append((str(rel), i + 1, line.strip(), reason))
    return out


def test_each_getattr_says_whose_object_it_reads() -> None:
    """No getattr/hasattr/setattr on our own types (mypy sees those calls):
    what is left reads a foreign object (the SDK's, the user's, a library's)
    and says so in a comment."""
    calls = attribute_calls()
    assert calls  # the scan finds them: the SDK's event data is read this way
    assert [c[:3] for c in calls if not c[3]] == []
