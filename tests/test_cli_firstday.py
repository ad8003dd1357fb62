"""Issue 25 (a user's first day, round three): the command line's bugs,
each through cli.main or a real subprocess against the loopback server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from conftest import Result, run_cli, run_proc
from fakeserver import FakeServer, Reply

from copilot_repl.history.store import Store

DEAD_URL = "http://127.0.0.1:9/v1"  # nothing listens on the discard port


def write_config(home: Path, text: str) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(text)


# -- 1: a command-line endpoint wins over config.toml's model ------------------------
def test_base_url_and_bare_model_beat_the_config_model(server: FakeServer, home: Path) -> None:
    write_config(home, f'model = "f1:other"\n[providers.f1]\nbase_url = "{DEAD_URL}"\n')
    r = run_cli(["--base-url", server.url, "--model", "echo", "-p", "hi"])
    assert (r.code, r.out) == (0, "echo: hi\n"), r.err
    assert Store(home).load("prompt-1").data.model == "openai:echo"
    assert server.requests[-1]["body"]["model"] == "echo"


def test_base_url_alone_beats_the_config_model(server: FakeServer, home: Path) -> None:
    write_config(home, f'model = "f1:other"\n[providers.f1]\nbase_url = "{DEAD_URL}"\n')
    r = run_cli(["--base-url", server.url, "-p", "hi"])
    assert r.code == 0, r.err
    assert Store(home).load("prompt-1").data.model.startswith("openai:")


def test_base_url_and_model_switch_a_session_on_the_config_model(
    server: FakeServer, home: Path
) -> None:
    write_config(home, f'model = "f1:other"\n[providers.f1]\nbase_url = "{DEAD_URL}"\n')
    assert run_cli([], ":ls\n").code == 0  # main, on f1:other
    r = run_cli(["--base-url", server.url, "--model", "echo"], "hi\n")
    assert (r.code, r.out) == (0, "echo: hi\n"), r.err
    assert r.err == "copilot-repl: main now uses openai:echo\n"


# -- 9: sessions list shows `failed` when the last turn failed -------------------------
def test_model_options_switch_the_session_opened_not_a_newer_one_shot(
    server: FakeServer, home: Path
) -> None:
    """--model applies to the session the front end opens: the last one a
    person used, not a newer one-shot's (kept out of the list)."""
    assert run_cli(["--base-url", server.url], ":ls\n").code == 0  # main
    assert run_cli(["--base-url", server.url, "-p", "hi"]).code == 0  # prompt-1, newer
    (home / "state.json").unlink()  # no last active session: the newest person-made one
    r = run_cli(["--base-url", server.url, "--model", "echo"], "hi\n")
    assert (r.code, r.out) == (0, "echo: hi\n"), r.err
    assert r.err == "copilot-repl: main now uses openai:echo\n"
    assert Store(home).load("prompt-1").data.model != "openai:echo"


def list_states(server: FakeServer) -> dict[str, str]:
    r = run_cli(["--base-url", server.url, "sessions", "list", "--json"])
    assert r.code == 0, r.err
    return {i["name"]: i["state"] for i in json.loads(r.out)}


def test_sessions_list_says_failed_after_a_failed_turn(server: FakeServer, home: Path) -> None:
    for status in ("401", "400"):
        r = run_cli(["--base-url", server.url, "--session", "s", "-p", f"hi #status={status}"])
        assert r.code == 1
        assert list_states(server) == {"s": "failed"}
    table = run_cli(["--base-url", server.url, "sessions", "list"]).out
    assert table.splitlines()[1].split()[-1] == "failed"
    r = run_cli(["--base-url", server.url, "--session", "s", "-p", "now fine"])
    assert r.code == 0
    assert list_states(server) == {"s": "idle"}
    # the failure note is not a message: the next request holds only real ones
    sent = [m["content"] for m in server.requests[-1]["body"]["messages"]]
    assert sent == ["hi #status=401", "hi #status=400", "now fine"]


# -- 4: `sessions rm` moves to the trash, as :rm does; --purge deletes ------------------
def test_sessions_rm_moves_to_the_trash_and_restore_brings_it_back(
    server: FakeServer, home: Path
) -> None:
    def sessions(*args: str) -> Result:
        return run_cli(["--base-url", server.url, "sessions", *args])

    run_cli(["--base-url", server.url, "--session", "work", "-p", "keep me"])
    r = sessions("rm", "work")
    assert r.code == 0, r.err
    assert r.out.startswith("moved work to the trash")
    assert Store(home).names() == []
    r = run_cli(["--base-url", server.url], ":trash\n:restore work\n:history\n")
    assert "keep me" in r.out, r.err
    r = sessions("rm", "work", "--json")
    (entry,) = json.loads(r.out)["trashed"]
    assert entry["name"] == "work" and entry["entry"].startswith("work~")
    r = sessions("restore", entry["entry"], "--as", "back")
    assert (r.code, r.out) == (0, "restored back (2 messages, openai:gpt-4o-mini)\n"), r.err
    r = sessions("rm", "back", "--purge")
    assert (r.code, r.out) == (0, "deleted back for good\n")
    assert Store(home).names() == ["main"]
    assert "back" not in run_cli(["--base-url", server.url], ":trash\n").out


# -- 10: a one-shot that fails does not switch the session's model for good ------------
def test_failed_one_shot_leaves_the_session_on_its_model(server: FakeServer, home: Path) -> None:
    write_config(home, f'[providers.f1]\nbase_url = "{DEAD_URL}"\nmax_retries = 0\n')
    run_cli(["--base-url", server.url, "--session", "s", "-p", "first"])
    r = run_cli(["--base-url", server.url, "--session", "s", "--model", "f1:x", "-p", "hi"])
    assert r.code == 1
    assert "cannot connect" in r.err
    assert r.err.splitlines()[-1] == (
        "copilot-repl: s stays on openai:gpt-4o-mini (the turn on f1:x failed)"
    )
    assert Store(home).load("s").data.model == "openai:gpt-4o-mini"
    r = run_cli(["--base-url", server.url, "--session", "s", "-p", "again"])
    assert (r.code, r.out, r.err) == (0, "echo: again\n", "")


# -- 13: short readable trash stamps; a unique prefix will do; old stamps still load ----
def test_trash_stamps_are_short_and_a_unique_prefix_restores(
    server: FakeServer, home: Path
) -> None:
    script = ":new main2\nsome words\n:rm main2\n:new main2\nother words\n:rm main2\n:trash\n"
    r = run_cli(["--base-url", server.url], script)
    assert r.code == 0, r.err
    ids = re.findall(r"^(main2~\S+)", r.out, re.M)
    assert len(ids) == 2 and len(set(ids)) == 2
    for entry in ids:
        assert re.fullmatch(r"main2~\d{8}-\d{6}(\.\d+)?", entry), entry
    # an old entry, named with the nanosecond stamp of earlier versions
    trash_dir = home / "trash"
    old_ns = 1_700_000_000_123_456_789
    content = next(trash_dir.iterdir()).read_bytes()
    for name in ("old", "aged"):
        (trash_dir / f"{name}~{old_ns}~rm.jsonl").write_bytes(content)
    r = run_cli(["--base-url", server.url], ":restore main2~2\n")
    assert r.code == 1 and "main2~2" in r.err and "matches 2 entries" in r.err
    r = run_cli(["--base-url", server.url], f":restore {ids[0]} --as back\n:history\n")
    assert r.code == 0, r.err
    assert "other words" in r.out  # the newest is listed first
    r = run_cli(["--base-url", server.url], ":trash\n")
    (aged,) = re.findall(r"^(aged~\d{8}-\d{6}) ", r.out, re.M)  # a short stamp too
    r = run_cli(["--base-url", server.url], f":restore {aged[:-4]}\n")
    assert "restored session aged" in r.err
    r = run_cli(["--base-url", server.url], f":restore old~{old_ns}\n")
    assert "restored session old" in r.err


# -- --help lists every subcommand --------------------------------------------------
def test_help_lists_every_subcommand_and_each_has_its_help() -> None:
    from copilot_repl.cli.arguments import SUBCOMMANDS

    r = run_proc(["--help"])
    assert r.code == 0
    listed = re.findall(r"^  (\w+) ", r.out.split("subcommands", 1)[1].split("examples:")[0], re.M)
    assert listed == list(SUBCOMMANDS)
    assert "compare" in listed
    for name in SUBCOMMANDS:
        r = run_proc([name, "--help"])
        assert r.code == 0 and f"copilot-repl {name}" in r.out, (name, r.err)


# -- a tidy session list: one-shots and comparisons are kept, out of the way ---------
def test_one_shot_and_compare_sessions_are_kept_but_not_listed(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    url = ["--base-url", server.url]
    for text in ("one", "two"):
        assert run_cli([*url, "-p", text]).code == 0
    assert run_cli([*url, "--session", "named", "-p", "kept in view"]).code == 0
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    r = run_cli([*url, "compare", "--models", "echo", "--prompts", str(prompts), "--name", "c"])
    assert r.code == 0, r.err
    made = set(Store(home).names())
    assert {"prompt-1", "prompt-2", "named", "c-1-echo"} <= made
    r = run_cli(url, ":ls\n:next\n:ls --all\n:find one\n")
    assert r.code == 0, r.err
    names = [line.split()[-4] for line in r.out.splitlines() if "openai:" in line]
    assert names == ["named", "c-1-echo", "named", "prompt-1", "prompt-2"]  # :ls, then --all
    assert "3 more sessions from one-shots and comparisons: :ls --all lists them" in r.err
    assert "prompt-1@1" in r.out  # still searchable
    r = run_cli([*url, "--session", "main"], ":ls\n:next\n:ls\n:next\n:ls\n")
    current = [line.split()[1] for line in r.out.splitlines() if line.startswith("*")]
    assert current == ["main", "named", "main"]  # :next cycles through what :ls lists


def test_continue_and_resume(server: FakeServer, home: Path) -> None:
    url = ["--base-url", server.url]
    assert run_cli([*url, "--session", "work", "-p", "in work"]).code == 0
    assert run_cli([*url, "-p", "a one-shot"]).code == 0  # prompt-1, the most recent
    r = run_cli([*url, "-c", "-p", "and then?"])
    assert (r.code, r.out) == (0, "echo: and then?\n"), r.err
    sent = [m["content"] for m in server.requests[-1]["body"]["messages"]]
    assert sent == ["a one-shot", "echo: a one-shot", "and then?"]
    r = run_cli([*url, "--continue"], ":ls\n")
    assert r.out.startswith("*  prompt-1"), r.out  # the shell and script mode too
    r = run_cli([*url, "-r", "work", "-p", "back to work"])
    assert r.code == 0
    assert server.requests[-1]["body"]["messages"][0]["content"] == "in work"
    r = run_cli([*url, "-r", "nope", "-p", "x"])
    assert r == Result(2, "", "copilot-repl: error: no session named 'nope' to resume\n")
    r = run_cli([*url, "-r", "-p", "x"])
    assert r.code == 2 and "-r without NAME picks from a list on a terminal" in r.err
    r = run_cli([*url, "-c", "--session", "work", "-p", "x"])
    assert r.code == 2


# -- conventions users bring: -m, -s, -o ----------------------------------------------
def test_short_model_system_and_request_options(server: FakeServer, home: Path) -> None:
    url = ["--base-url", server.url]
    r = run_cli([*url, "-m", "echo", "-s", "be terse", "-o", "temperature=0.2",
                 "-o", "max_tokens=40", "-o", "stop=END", "-p", "hi"])  # fmt: skip
    assert (r.code, r.out) == (0, "echo: hi\n"), r.err
    body = server.requests[-1]["body"]
    assert body["model"] == "echo"
    assert body["messages"][0] == {"role": "system", "content": "be terse"}
    assert (body["temperature"], body["max_tokens"], body["stop"]) == (0.2, 40, "END")
    assert run_cli([*url, "--session", "s", "-p", "one"]).code == 0
    r = run_cli([*url, "--session", "s", "-s", "be kind", "-p", "two"])
    assert r.err == "copilot-repl: s has a new system prompt (-s)\n"
    assert server.requests[-1]["body"]["messages"][0]["content"] == "be kind"
    assert "temperature" not in server.requests[-1]["body"]  # -o is for that run only
    r = run_cli([*url, "-o", "temperature", "-p", "x"])
    assert r.code == 2 and "-o takes KEY=VALUE" in r.err
    r = run_cli([*url, "-o", "stream=false", "-p", "x"])
    assert r.code == 2 and "params cannot set 'stream'" in r.err


def test_models_subcommand_and_sessions_alone(server: FakeServer, home: Path) -> None:
    url = ["--base-url", server.url]
    r = run_cli([*url, "models"])
    assert r == Result(0, "openai:echo\nopenai:gpt-4o-mini\nopenai:slow\n", "")
    r = run_cli([*url, "models", "openai", "--json"])
    assert json.loads(r.out) == ["openai:echo", "openai:gpt-4o-mini", "openai:slow"]
    r = run_cli([*url, "models", "nope"])
    assert r.code == 1 and "unknown provider 'nope'" in r.err
    run_cli([*url, "--session", "work", "-p", "hi"])
    r = run_cli([*url, "sessions"])
    assert r.code == 0 and r.out.splitlines()[1].startswith("work ")


def test_history_numbers_messages_as_fork_and_switch_take_them(
    server: FakeServer, home: Path
) -> None:
    url = ["--base-url", server.url]
    r = run_cli(url, "one\ntwo\n:history\n:history 1\n")
    labels = re.findall(r"^(?:── |=== )?(\d+\. \w+)", r.out, re.M)
    assert labels == ["1. user", "2. assistant", "3. user", "4. assistant", "4. assistant"]


# -- copilot-repl completion bash|zsh|fish ----------------------------------------------
def complete_in_bash(server: FakeServer, home: Path, words: list[str]) -> list[str]:
    """What bash offers for ``words`` (the last one being completed)."""
    import shlex
    import subprocess
    import sys

    from conftest import ROOT

    script = run_proc(["completion", "bash"]).out
    line = " ".join(shlex.quote(w) for w in words)
    prog = (
        f'copilot-repl() {{ "{sys.executable}" -m copilot_repl --base-url {server.url} "$@"; }}\n'
        f"{script}\n"
        f"COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}\n"
        '_copilot_repl; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {"PATH": "/usr/bin:/bin", "COPILOT_REPL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(["bash", "-c", prog], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()


def test_completion_scripts_complete_options_subcommands_sessions_models(
    server: FakeServer, home: Path
) -> None:
    run_cli(["--base-url", server.url, "--session", "work", "-p", "hi"])
    assert complete_in_bash(server, home, ["copilot-repl", "--ses"]) == ["--session"]
    assert complete_in_bash(server, home, ["copilot-repl", "--session", "w"]) == ["work"]
    assert complete_in_bash(server, home, ["copilot-repl", "co"]) == ["compare", "completion"]
    assert complete_in_bash(server, home, ["copilot-repl", "sessions", "re"]) == [
        "restore",
        "rename",
    ]
    assert complete_in_bash(server, home, ["copilot-repl", "sessions", "show", ""]) == ["work"]
    assert "openai:gpt-4o-mini" in complete_in_bash(server, home, ["copilot-repl", "-m", "op"])
    fish = run_proc(["completion", "fish"])
    assert fish.code == 0 and "complete -c copilot-repl -l session -x" in fish.out
    zsh = run_proc(["completion", "zsh"])
    assert zsh.out.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    r = run_proc(["completion"])
    assert r.code == 2 and "give the shell" in r.err


# -- [roles.NAME]: --role for one-shots, :new NAME --role R --------------------------
ROLES = """
[roles.terse]
system = "Answer in one line."
model = "echo"
params = { temperature = 0 }
"""


def test_roles_for_one_shots_and_new_sessions(server: FakeServer, home: Path) -> None:
    write_config(home, ROLES)
    url = ["--base-url", server.url]
    r = run_cli([*url, "--role", "terse", "-p", "hi"])
    assert (r.code, r.out) == (0, "echo: hi\n"), r.err
    body = server.requests[-1]["body"]
    assert (body["model"], body["temperature"]) == ("echo", 0)
    assert body["messages"][0] == {"role": "system", "content": "Answer in one line."}
    r = run_cli([*url, "--role", "terse", "-m", "slow", "-s", "mine", "-p", "hi"])
    body = server.requests[-1]["body"]
    assert (body["model"], body["messages"][0]["content"]) == ("slow", "mine")  # flags win
    r = run_cli(url, ":new rev --role terse\nhello\n:system\n")
    assert r.code == 0, r.err
    assert "created rev (openai:echo, role terse)" in r.err
    assert "Answer in one line." in r.out
    r = run_cli([*url, "--role", "nope", "-p", "hi"])
    assert r.code == 2 and "unknown role 'nope' (known: terse)" in r.err
    write_config(home, "[roles.bad]\nsytem = 'x'\n")
    r = run_cli([*url, "-p", "hi"])
    assert r.code == 2 and "unknown role setting 'sytem'; did you mean 'system'?" in r.err


# -- 14 (part): tok/s only when meaningful ----------------------------------------------
def test_tok_s_is_shown_only_when_meaningful(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.txt"
    words = " ".join(f"w{i}" for i in range(30))
    prompts.write_text(f"hi\n{words} #delay=0.02\n")
    url = ["--base-url", server.url]
    r = run_cli([*url, "compare", "--models", "echo", "--prompts", str(prompts), "--json"])
    assert r.code == 0, r.err
    tiny, longer = [line for line in r.err.splitlines() if "· prompt " in line]
    assert "tok/s" not in tiny  # 3 tokens at once: no rate worth a number
    rate = re.search(r"(\d+) tok/s", longer)
    assert rate and 10 <= int(rate.group(1)) <= 200, longer  # ~50 a second, as sent


def test_copy_code_copies_a_code_block_as_written(server: FakeServer, home: Path) -> None:
    reply = "Two ways:\n\n```python\nprint(1)\n    indented()\n```\n\nor\n\n~~~sh\necho hi\n~~~\n"
    server.queue(Reply(text=reply))
    r = run_cli(["--base-url", server.url], "show me\n:copy code\n")
    assert r.code == 0, r.err
    clip = home / "clipboard.txt"
    assert clip.read_text() == "echo hi\n"
    assert "copied the last code block of the last reply of main" in r.err
    r = run_cli(["--base-url", server.url], ":copy code 1\n:copy code 3\n")
    assert clip.read_text() == "print(1)\n    indented()\n"  # no leading space, no fence
    assert r.code == 1 and "the last reply of main has 2 code blocks" in r.err
