"""Start-up stays light: the heavy libraries are imported where they are used
(the first reply, :find, the first Markdown), never by the path to the first
prompt. Checked by the modules a fresh interpreter holds afterwards, not by
time (speed is measured in bench/)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("httpx", "httpcore", "rich", "prompt_toolkit", "sqlite3", "pygments", "markdown_it")
HEAVY += ("hypothesis", "anyio", "h11")
HEAVY += ("copilot", "pydantic", "dateutil")  # the real SDK and what it needs: never ours

SERVER = ["--base-url", "http://127.0.0.1:9/v1"]  # nothing listens: nothing may be asked
PROBE = """
import io, json, sys
from copilot_repl.cli.main import main
out, err = io.StringIO(), io.StringIO()
code = main(json.loads(sys.argv[1]), stdout=out, stderr=err)
roots = sorted({m.split(".")[0] for m, mod in sys.modules.items() if mod is not None})
result = {"code": code, "err": err.getvalue(), "modules": roots, "all": sorted(sys.modules)}
print(json.dumps(result))
"""


def loaded(argv: list[str], stdin: str, home: Path, key: str = "modules") -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={"COPILOT_REPL_HOME": str(home), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result["code"] == 0, result["err"]
    return set(result[key])


@pytest.mark.parametrize(
    ("argv", "stdin", "also_absent"),
    [
        (["--version"], "", ("asyncio", "dataclasses")),
        (["--help"], "", ("asyncio", "dataclasses")),
        # script mode; with --model, as only a server named would be asked for its models
        ([*SERVER, "--model", "openai:gpt-4o-mini"], "", ()),  # empty input
        ([*SERVER, "--model", "openai:gpt-4o-mini"], ":ls\n:help\n", ()),
    ],
)
def test_start_up_imports_nothing_heavy(
    argv: list[str], stdin: str, also_absent: tuple[str, ...], tmp_path: Path
) -> None:
    modules = loaded(argv, stdin, tmp_path)
    assert not modules & {*HEAVY, *also_absent}


# What script mode with empty input does not need: the trash (with fork and
# compact), votes, tools, difflib's suggestions (issue 26: the fixed cost).
NOT_AT_START = (
    "copilot_repl.history.trash",
    "copilot_repl.history.votes",
    "copilot_repl.api.tools",
    "difflib",
)


def test_script_mode_with_empty_input_leaves_the_unneeded_modules(tmp_path: Path) -> None:
    modules = loaded([*SERVER, "--model", "openai:gpt-4o-mini"], "", tmp_path, key="all")
    assert not modules & set(NOT_AT_START)
    # the probe sees them when they are used
    used = loaded([*SERVER, "--model", "openai:gpt-4o-mini"], ":rm main\n", tmp_path, key="all")
    assert "copilot_repl.history.trash" in used


def test_the_shell_modules_import_nothing_heavy(tmp_path: Path) -> None:
    """Everything up to the first frame: prompt_toolkit comes after it."""
    code = (
        "import sys\n"
        "import copilot_repl.shell.loop, copilot_repl.repl.commands\n"
        "import json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(json.loads(proc.stdout))
    assert not modules & set(HEAVY)


def test_the_probe_sees_a_heavy_import(tmp_path: Path) -> None:
    """The check can fail: a command that needs sqlite3 shows it."""
    modules = loaded(["--base-url", "http://127.0.0.1:9/v1"], ":find word\n", tmp_path)
    assert "sqlite3" in modules


def test_a_streamed_reply_in_script_mode_imports_no_cli_or_rendering_library(
    tmp_path: Path,
) -> None:
    """httpx's own command-line client (click, rich, pygments) stays out."""
    from fakeserver import FakeServer

    with FakeServer() as server:
        modules = loaded(["--base-url", server.url], "hello\n", tmp_path)
    assert "httpx" in modules  # the reply came through httpx
    assert not modules & {"click", "rich", "pygments", "markdown_it", "prompt_toolkit"}


def test_the_whole_event_surface_is_loaded_only_by_the_sdk_module_paths() -> None:
    """The 500 generated event types beyond those copilot_repl emits cost import
    time: only ``copilot_repl.session_events`` and its twin load them."""
    code = (
        "import sys\n"
        "import copilot_repl.api.client, copilot_repl.repl.controller\n"
        "print('generated_events_all' in str(sorted(sys.modules)))\n"
        "import copilot_repl.session_events\n"
        "print('copilot_repl.api.generated_events_all' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.split() == ["False", "True"]


def test_script_mode_builds_the_commands_at_the_first_one(tmp_path: Path) -> None:
    """Issue 26: a script of prompts alone (or none) does not import the
    command modules (~20 ms of a one-shot); a command line does."""
    argv = [*SERVER, "--model", "openai:gpt-4o-mini"]
    assert "copilot_repl.repl.commands" not in loaded(argv, "", tmp_path, "all")
    assert "copilot_repl.repl.commands" in loaded(argv, ":ls\n", tmp_path, "all")


def test_each_import_inside_a_function_says_why() -> None:
    """An import inside a function is there to keep start-up light (or for an
    optional extra, or a platform): a comment on it, or on the line above its
    group of imports, says which; any other import belongs at the module top."""
    import ast

    pkg = Path(__file__).resolve().parent.parent / "copilot_repl"
    unexplained, found = [], 0
    for path in sorted(pkg.rglob("*.py")):
        if "generated" in path.name or "generated" in path.parts:
            continue
        text = path.read_text()
        lines = text.splitlines()
        functions = [
            n
            for n in ast.walk(ast.parse(text))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)
        ]
        kinds = ast.Import | ast.ImportFrom
        imports = {s for fn in functions for s in ast.walk(fn) if isinstance(s, kinds)}
        lazy = {s.lineno for s in imports}
        # 0-based indexes of every line of an import statement (one in parentheses spans several)
        spans = {i for s in imports for i in range(s.lineno - 1, (s.end_lineno or s.lineno))}
        for lineno in sorted(lazy):
            found += 1
            i = lineno - 1
            above = i - 1
            while above >= 0 and above in spans:
                above -= 1
            if "#" not in lines[i] and not (above >= 0 and lines[above].strip().startswith("#")):
                unexplained.append(f"{path.relative_to(pkg)}:{lineno}")
    assert found  # the scan sees them: rich, prompt_toolkit and httpx are imported this way
    assert unexplained == []


WARM = """
import asyncio, io, json, sys
from copilot_repl.api.client import CopilotClient
from copilot_repl.config import load_config
from copilot_repl.repl.controller import Repl
from copilot_repl.shell.loop import warm_up
from copilot_repl.render.markdown_stream import make_console
from copilot_repl.shell.terminal import TerminalOutput

made = []
WATCHED = ("rich.markdown", "copilot_repl.repl.commands.sessions")

def console():
    made.append(1)
    return make_console(io.StringIO(), plain=False)

async def main():
    env = {"COPILOT_REPL_HOME": sys.argv[1]}
    config = load_config(base_url="http://127.0.0.1:9/v1", env=env)
    async with CopilotClient(config=config, env=env) as client:
        out = TerminalOutput(console, plain=False)
        repl = Repl(client, out)
        before = sorted(m for m in WATCHED if m in sys.modules)
        await warm_up(repl, out)
        after = sorted(m for m in WATCHED if m in sys.modules)
        out.console
        print(json.dumps({"before": before, "after": after, "consoles": len(made)}))

asyncio.run(main())
"""


def test_the_shell_warms_up_what_a_first_reply_and_command_need(tmp_path: Path) -> None:
    """While the prompt waits: rich's Markdown and the command modules are
    imported in a thread, then the console is made (once: not again at the
    first line printed). A first ``:switch`` cost 55 ms more than the next."""
    proc = subprocess.run(
        [sys.executable, "-c", WARM, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result == {
        "before": [],
        "after": ["copilot_repl.repl.commands.sessions", "rich.markdown"],
        "consoles": 1,
    }


def test_the_shell_loads_rendering_and_completion_after_the_first_frame() -> None:
    """The first frame needs neither render/ (replies drawn) nor completion
    (Tab): they load with prompt_toolkit, after it (issue 26: the prompt)."""
    code = (
        "import sys, json\nimport copilot_repl.shell.loop\nprint(json.dumps(sorted(sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    modules = set(json.loads(proc.stdout))
    assert "copilot_repl.shell.loop" in modules  # the probe sees what it imported
    assert not {m for m in modules if m.startswith("copilot_repl.render")}
    assert "copilot_repl.repl.completion" not in modules
