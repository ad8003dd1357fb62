"""Completion: the pure ``suggest`` over the real command registry, and the
prompt_toolkit completer around it."""

from __future__ import annotations

from typing import Any

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from copilot_repl.repl.commands import command_groups
from copilot_repl.repl.completion import Sources, make_completer, suggest
from copilot_repl.repl.registry import Registry

SESSIONS = ["alpha", "beta", "bravo", "main"]
MODELS = ["ollama:llama3.2", "openai:gpt-4o", "openai:gpt-4o-mini"]


@pytest.fixture(scope="module")
def src() -> Sources:
    registry = Registry(*command_groups(None))  # the table only
    return Sources(registry.commands, SESSIONS, MODELS)


def test_a_colon_offers_every_command_and_alias(src: Sources) -> None:
    word, found = suggest(":", src)
    assert word == ":"
    for name in (":new", ":switch", ":s", ":ls", ":rm", ":quit", ":q", ":help", ":ask", ":all"):
        assert name in found
    assert found == sorted(found)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (":sw", [":switch"]),
        (":ne", [":new", ":next"]),
        (":q", [":q", ":quit"]),
        (":his", [":history"]),
        ("  :cl", [":clear"]),
        (":zzz", []),
    ],
)
def test_command_names_complete_from_their_prefix(
    src: Sources, line: str, expected: list[str]
) -> None:
    word, found = suggest(line, src)
    assert word == line.strip()
    assert found == expected


@pytest.mark.parametrize("line", [":switch ", ":s ", ":SWITCH ", ":rm ", ":cancel ", ":send "])
def test_session_names_after_commands_that_take_one(src: Sources, line: str) -> None:
    assert suggest(line, src) == ("", SESSIONS)


def test_session_names_complete_from_a_prefix(src: Sources) -> None:
    assert suggest(":switch b", src) == ("b", ["beta", "bravo"])
    assert suggest(":s ma", src) == ("ma", ["main"])


def test_rm_offers_the_names_not_already_given(src: Sources) -> None:
    assert suggest(":rm beta ", src) == ("", ["alpha", "bravo", "main"])
    assert suggest(":rm beta b", src) == ("b", ["bravo"])


def test_switch_takes_one_name_only(src: Sources) -> None:
    assert suggest(":switch beta ", src) == ("", [])
    assert suggest(":send beta some prompt wor", src) == ("wor", [])


def test_extra_spaces_do_not_confuse_completion(src: Sources) -> None:
    assert suggest(":switch  b", src) == ("b", ["beta", "bravo"])
    assert suggest(":new  x --model  openai:gpt-4o-", src) == (
        "openai:gpt-4o-",
        ["openai:gpt-4o-mini"],
    )


def test_ask_completes_each_name_of_its_comma_list(src: Sources) -> None:
    assert suggest(":ask ", src) == ("", SESSIONS)
    assert suggest(":ask alpha,b", src) == ("b", ["beta", "bravo"])
    assert suggest(":ask alpha,beta,", src) == ("", ["bravo", "main"])
    # after the names comes the prompt: nothing to complete there
    assert suggest(":ask alpha,beta ma", src) == ("ma", [])


def test_flags_of_new(src: Sources) -> None:
    assert suggest(":new --", src) == ("--", ["--model", "--system", "--role", "--tools"])
    assert suggest(":new work --m", src) == ("--m", ["--model"])
    assert suggest(":switch --", src) == ("--", [])


def test_models_after_model_flag(src: Sources) -> None:
    assert suggest(":new --model ", src) == ("", MODELS)
    assert suggest(":new work --model openai:", src) == (
        "openai:",
        ["openai:gpt-4o", "openai:gpt-4o-mini"],
    )
    assert suggest(":new work -m oll", src) == ("oll", ["ollama:llama3.2"])


def test_new_does_not_offer_models_as_its_name(src: Sources) -> None:
    assert suggest(":new ", src) == ("", [])
    assert suggest(":new work --system hel", src) == ("hel", [])


def test_model_command_offers_models(src: Sources) -> None:
    assert suggest(":model ", src) == ("", MODELS)
    assert suggest(":model openai:gpt-4o ", src) == ("", [])


def test_help_offers_command_names_without_colon(src: Sources) -> None:
    word, found = suggest(":help sw", src)
    assert (word, found) == ("sw", ["switch"])
    assert suggest(":help new ", src) == ("", [])


@pytest.mark.parametrize(
    "line",
    ["", "hello", "hello :switch ", "tell me about :new", "::switch ", "::", "what is 2+2 &"],
)
def test_nothing_is_offered_for_plain_prompts(src: Sources, line: str) -> None:
    assert suggest(line, src) == ("", [])


def test_unknown_command_offers_no_arguments(src: Sources) -> None:
    assert suggest(":bogus ", src) == ("", [])


def completions(completer: Any, text: str) -> list[tuple[str, int]]:
    doc = Document(text, len(text))
    return [
        (c.text, c.start_position)
        for c in completer.get_completions(doc, CompleteEvent(completion_requested=True))
    ]


def test_the_completer_replaces_the_word_being_completed(src: Sources) -> None:
    completer = make_completer(lambda: src)
    assert completions(completer, ":sw") == [(":switch", -3)]
    assert completions(completer, ":switch br") == [("bravo", -2)]
    assert completions(completer, ":ask alpha,ma") == [("main", -2)]
    assert completions(completer, "hello") == []


def test_the_completer_reads_fresh_sources_each_time(src: Sources) -> None:
    names = ["one"]
    completer = make_completer(lambda: Sources(src.commands, list(names), []))
    assert completions(completer, ":s t") == []
    names.append("two")
    assert completions(completer, ":s t") == [("two", -1)]


def test_the_completer_uses_the_cursor_position(src: Sources) -> None:
    completer = make_completer(lambda: src)
    doc = Document(":switch br and more", len(":switch br"))
    found = [c.text for c in completer.get_completions(doc, CompleteEvent())]  # type: ignore[attr-defined]
    assert found == ["bravo"]


# -- models, paths, names after a comma, switches --------------------------------------


@pytest.fixture
def full(src: Sources) -> Sources:
    return Sources(src.commands, SESSIONS, MODELS, ["local", "ollama", "openai"])


def test_models_completes_provider_names(full: Sources) -> None:
    assert suggest(":models o", full) == ("o", ["ollama", "openai"])


def test_export_completes_paths(
    full: Sources, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes.md").write_text("")
    (tmp_path / ".hidden").write_text("")
    monkeypatch.chdir(tmp_path)
    assert suggest(":export no", full) == ("no", ["notes/", "notes.md"])
    assert suggest(":export ", full)[1] == ["notes/", "notes.md"]  # no hidden files
    assert suggest(":export .h", full) == (".h", [".hidden"])
    assert suggest(f":export {tmp_path}/n", full) == (
        f"{tmp_path}/n",
        [f"{tmp_path}/notes/", f"{tmp_path}/notes.md"],
    )
    assert suggest(":export x --f", full) == ("--f", ["--force"])


def test_ask_completes_after_a_comma_and_a_space(full: Sources) -> None:
    assert suggest(":ask alpha, b", full) == ("b", ["beta", "bravo"])
    assert suggest(":ask alpha, beta,", full) == ("", ["bravo", "main"])


def test_cancel_offers_its_switches(full: Sources) -> None:
    assert suggest(":cancel main --", full) == ("--", ["--queued", "--all"])
