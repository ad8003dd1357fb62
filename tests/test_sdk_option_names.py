"""Every keyword option of the installed SDK's ``CopilotClient``,
``create_session`` and ``resume_session`` is honoured, accepted and ignored,
or refused in one line naming it; never a TypeError. A name the SDK does not
know is a TypeError on both sides. The names are generated from the SDK by
tools/gen_sdk_options.py (regenerate-and-review on a new SDK release)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from copilot_repl import CopilotClient
from copilot_repl.api import generated_options as names
from copilot_repl.api.client import (
    CLIENT_OPTIONS,
    IGNORED_CLIENT_OPTIONS,
    UNSUPPORTED_CLIENT_OPTIONS,
)
from copilot_repl.api.options import IGNORED, SESSION_OPTIONS, UNSUPPORTED
from copilot_repl.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
SESSION_NAMES = sorted(set(names.CREATE_SESSION_OPTIONS) | set(names.RESUME_SESSION_OPTIONS))
# a value that asks for something (not empty, not turned off)
SOMETHING = {"enabled": True, "x": 1}


def one_line(error: BaseException, option: str) -> None:
    text = str(error)
    assert repr(option) in text and "\n" not in text, text


def test_the_generated_names_are_what_the_generator_writes_now(tmp_path: Path) -> None:
    """Regenerating from the installed SDK changes nothing (else: regenerate and review)."""
    pytest.importorskip("copilot")
    out = tmp_path / "generated_options.py"
    subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_sdk_options.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    assert out.read_text() == (ROOT / "copilot_repl" / "api" / "generated_options.py").read_text()


def test_the_generated_names_are_the_installed_sdks_signatures() -> None:
    import inspect

    sdk = pytest.importorskip("copilot")
    from importlib import metadata

    assert metadata.version("github-copilot-sdk") == names.SDK_VERSION
    create = inspect.signature(sdk.CopilotClient.create_session).parameters
    resume = inspect.signature(sdk.CopilotClient.resume_session).parameters
    client = inspect.signature(sdk.CopilotClient.__init__).parameters
    assert set(names.CREATE_SESSION_OPTIONS) == set(create) - {"self"}
    assert set(names.RESUME_SESSION_OPTIONS) == set(resume) - {"self", "session_id"}
    assert set(names.CLIENT_OPTIONS) == set(client) - {"self"}
    assert len(SESSION_NAMES) > 90  # the comparison saw the whole surface


def test_a_name_the_sdk_does_not_know_is_a_type_error_on_both_sides(home: Path) -> None:
    sdk = pytest.importorskip("copilot")
    # binding the arguments fails at the call, before any runtime is started
    with pytest.raises(TypeError, match="session_limitz"):
        sdk.CopilotClient.create_session(None, session_limitz=1)
    with pytest.raises(TypeError, match="trust_working_directory"):  # create_session's only
        sdk.CopilotClient.resume_session(None, "id", trust_working_directory=True)
    with pytest.raises(TypeError, match="telemetri"):
        sdk.CopilotClient(telemetri=None)
    with pytest.raises(TypeError, match="telemetri"):
        CopilotClient(data_dir=str(home), telemetri=None)


async def test_a_misspelt_session_option_is_a_type_error(home: Path) -> None:
    async with CopilotClient(data_dir=str(home)) as client:
        with pytest.raises(TypeError, match="session_limitz"):
            await client.create_session(session_limitz={"max_turns": 3})
        s = await client.create_session()
        await s.disconnect()
        with pytest.raises(TypeError, match="trust_working_directory"):
            await client.resume_session(s.session_id, trust_working_directory=True)


async def test_every_sdk_session_option_left_empty_is_accepted(home: Path) -> None:
    """All of them at once, as the SDK's defaults (None or False): no TypeError."""
    async with CopilotClient(data_dir=str(home)) as client:
        s = await client.create_session(**dict.fromkeys(names.CREATE_SESSION_OPTIONS))
        await s.disconnect()
        off = dict.fromkeys(names.RESUME_SESSION_OPTIONS, False)
        off = {k: v for k, v in off.items() if k not in SESSION_OPTIONS}
        again = await client.resume_session(s.session_id, **off)
        await again.disconnect()


async def test_every_sdk_session_option_not_honoured_is_ignored_or_one_line(home: Path) -> None:
    """Each with a value that asks for something: accepted if ignored, else
    one line naming it (what went otherwise is collected, then compared)."""
    wrong: dict[str, str] = {}
    async with CopilotClient(data_dir=str(home)) as client:
        first = await client.create_session()
        await first.disconnect()

        async def resume(**kw: object) -> object:
            return await client.resume_session(first.session_id, **kw)

        for call, known in (
            (client.create_session, names.CREATE_SESSION_OPTIONS),
            (resume, names.RESUME_SESSION_OPTIONS),
        ):
            for option in known:
                if option in SESSION_OPTIONS:
                    continue
                try:
                    await call(**{option: SOMETHING})
                except UsageError as e:
                    if option in IGNORED or repr(option) not in str(e) or "\n" in str(e):
                        wrong[option] = str(e)
                except Exception as e:  # noqa: BLE001 - the test's point: which ones
                    wrong[option] = repr(e)
                else:
                    if option not in IGNORED:
                        wrong[option] = "accepted"
    assert wrong == {}


async def test_ignored_options_change_nothing_in_a_chat(home: Path, server: object) -> None:
    """The harmless ones (no plan mode, sub-agents, instruction files...) are
    accepted with a value, and the session chats."""
    from fakeserver import FakeServer

    assert isinstance(server, FakeServer)
    async with CopilotClient(data_dir=str(home), base_url=server.url) as client:
        s = await client.create_session(
            trust_working_directory=True,
            skip_custom_instructions=True,
            on_exit_plan_mode_request=lambda request, invocation: {"approved": False},
            include_sub_agent_streaming_events=True,
        )
        assert await s.send_and_wait("hi") is not None


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("session_limits", {"max_turns": 3}, "the Copilot CLI's agent runtime"),
        ("instruction_directories", ["/tmp/i"], "the Copilot CLI's agent runtime"),
        ("providers", [{"name": "p", "base_url": "http://x"}], "provider lists"),
        ("mcp_servers", {"s": {"command": "x"}}, "MCP servers"),
    ],
)
async def test_refused_session_options_say_so_in_one_line(
    home: Path, option: str, value: object, said: str
) -> None:
    async with CopilotClient(data_dir=str(home)) as client:
        with pytest.raises(UsageError, match=said) as caught:
            await client.create_session(**{option: value})
    one_line(caught.value, option)


def test_every_sdk_client_option_is_honoured_ignored_or_one_line(home: Path) -> None:
    CopilotClient(data_dir=str(home), **dict.fromkeys(names.CLIENT_OPTIONS))  # all left empty
    for option in names.CLIENT_OPTIONS:
        if option in CLIENT_OPTIONS:
            continue
        if option in IGNORED_CLIENT_OPTIONS:
            CopilotClient(data_dir=str(home), **{option: SOMETHING})
            continue
        assert option in UNSUPPORTED_CLIENT_OPTIONS  # each refusal has its reason
        with pytest.raises(UsageError) as caught:
            CopilotClient(data_dir=str(home), **{option: SOMETHING})
        one_line(caught.value, option)


def test_every_reason_names_an_sdk_option() -> None:
    """The tables hold no name the SDK lacks (but the 0.1 names kept for old code)."""
    old = {"config_dir", "cli_path", "cli_args", "cwd", "port", "use_stdio", "auto_start"}
    old |= {"auto_restart", "data_dir", "config_path", "model", "base_url"}
    sdk_session = set(SESSION_NAMES) | {"session_id"}
    assert (set(UNSUPPORTED) | IGNORED | SESSION_OPTIONS) - sdk_session - old == set()
    client_tables = set(UNSUPPORTED_CLIENT_OPTIONS) | IGNORED_CLIENT_OPTIONS | CLIENT_OPTIONS
    assert client_tables - set(names.CLIENT_OPTIONS) - old == set()
