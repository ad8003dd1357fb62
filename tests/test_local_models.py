"""The embedded model has one name: with nothing configured, ``-m gpt-4o``
(or ``:model llama3.2``) was taken as ``local:gpt-4o`` and answered by
SmolLM2-135M under that name, the user none the wiser. It is refused in
one line, before anything starts; a ``model_path`` of one's own may be
called anything."""

from __future__ import annotations

from pathlib import Path

from conftest import run_proc
from helpers import new_store, session_records


def test_a_one_shot_naming_a_model_the_embedded_one_is_not_is_refused(home: Path) -> None:
    r = run_proc(["-m", "gpt-4o", "hello"])
    assert r.code != 0
    lines = r.err.strip().splitlines()
    assert len(lines) == 1, r.err
    assert lines[0].startswith("copilot-repl: error: ")
    assert "local:smollm2" in lines[0] and "gpt-4o" in lines[0] and "--base-url" in lines[0]
    assert "starting local model" not in r.err and r.out == ""


def test_model_and_new_in_the_shell_refuse_it_and_keep_the_model(home: Path) -> None:
    r = run_proc([], stdin=":model gpt-4o\n:new x --model llama3.2\n:model\n")
    assert r.code == 1
    errors = [line for line in r.err.splitlines() if "error:" in line]
    assert len(errors) == 2 and all("local:smollm2" in e for e in errors), r.err
    assert r.err.splitlines()[-1] == "copilot-repl: main uses local:smollm2", r.err
    assert "x" not in [p.stem for p in (home / "sessions").glob("*")]


def test_a_model_file_of_one_s_own_may_have_any_name(home: Path, tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF")
    config = tmp_path / "config.toml"
    config.write_text(f'model = "local:mine"\n[providers.local]\nmodel_path = "{gguf}"\n')
    r = run_proc(["--config", str(config)], stdin=":model\n:model local:other\n")
    assert r.code == 0, r.err
    assert r.err.splitlines() == [
        "copilot-repl: main uses local:mine",
        "copilot-repl: main uses local:other",
    ]


def test_a_session_saved_under_another_embedded_name_is_refused_at_its_prompt(home: Path) -> None:
    """Saved as local:gpt-4o before the refusal: it still opens, but its
    prompt is refused in one line, unsaved, with nothing started."""
    new_store(home, "main", model="local:gpt-4o")
    before = session_records(home, "main")
    r = run_proc([], stdin="hello\n:model\n")
    assert r.code == 1
    errors = [line for line in r.err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "local:smollm2, not local:gpt-4o" in errors[0], r.err
    assert "starting local model" not in r.err and r.out == ""
    assert r.err.splitlines()[-1] == "copilot-repl: main uses local:gpt-4o"
    assert session_records(home, "main") == before
