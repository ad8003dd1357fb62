"""Pure parsing of input lines and command arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from copilot_repl.errors import UsageError
from copilot_repl.repl.parsing import (
    Line,
    natural_sorted,
    nearest,
    parse_args,
    parse_line,
    split_targets,
)

NEW_FLAGS = {"--model": "model", "-m": "model", "--system": "system", "-s": "system"}


@pytest.mark.parametrize("text", ["", "   ", "\n", "\t \n"])
def test_blank_lines_are_empty(text: str) -> None:
    assert parse_line(text) == Line("empty")


def test_command_with_arguments() -> None:
    line = parse_line(":new work --model openai:gpt-4o")
    assert line == Line("command", "new", "work --model openai:gpt-4o")


def test_command_name_is_lower_cased_and_stripped() -> None:
    assert parse_line("  :LS  ") == Line("command", "ls", "")
    assert parse_line(":switch   other  ").args == "other"


def test_bare_colon_is_an_empty_command_name() -> None:
    line = parse_line(":")
    assert line.kind == "command" and line.name == ""


def test_double_colon_sends_a_literal_colon() -> None:
    assert parse_line("::x") == Line("prompt", args=":x")
    assert parse_line("::help me") == Line("prompt", args=":help me")
    assert parse_line("  ::ls  ") == Line("prompt", args=":ls")


def test_plain_text_is_a_prompt() -> None:
    assert parse_line("hello world") == Line("prompt", args="hello world")
    assert parse_line("  what is 2+2?  \n") == Line("prompt", args="what is 2+2?")


def test_prompt_keeps_inner_newlines() -> None:
    assert parse_line("line one\nline two").args == "line one\nline two"


def test_trailing_ampersand_sends_in_the_background() -> None:
    line = parse_line("summarise this &")
    assert line == Line("prompt", args="summarise this", background=True)
    assert parse_line("::x &") == Line("prompt", args=":x", background=True)


def test_ampersand_without_space_is_part_of_the_prompt() -> None:
    line = parse_line("fish&chips")
    assert line.background is False and line.args == "fish&chips"
    assert parse_line("a && b") == Line("prompt", args="a && b")


def test_command_is_never_background() -> None:
    line = parse_line(":ls &")
    assert line.kind == "command" and not line.background


def test_parse_args_positionals_and_flags() -> None:
    a = parse_args("work --model openai:gpt-4o --system 'be brief'", NEW_FLAGS, max_pos=1)
    assert a.positional == ["work"]
    assert a.flags == {"model": "openai:gpt-4o", "system": "be brief"}


def test_parse_args_short_and_equals_forms() -> None:
    a = parse_args("-m echo --system=hi", NEW_FLAGS)
    assert a.flags == {"model": "echo", "system": "hi"}
    assert a.positional == []


def test_parse_args_quoting() -> None:
    a = parse_args("\"two words\" 'and more'", max_pos=2)
    assert a.positional == ["two words", "and more"]


def test_parse_args_unknown_flag_names_it_and_the_usage() -> None:
    with pytest.raises(UsageError, match=r"unknown option --bogus; usage: :new NAME"):
        parse_args("x --bogus 1", NEW_FLAGS, usage=":new NAME")


def test_parse_args_flag_without_value() -> None:
    with pytest.raises(UsageError, match="--model needs a value"):
        parse_args("x --model", NEW_FLAGS)


def test_parse_args_too_many_and_too_few() -> None:
    with pytest.raises(UsageError, match="usage: :switch NAME"):
        parse_args("a b", max_pos=1, usage=":switch NAME")
    with pytest.raises(UsageError, match="usage: :switch NAME"):
        parse_args("", min_pos=1, usage=":switch NAME")
    with pytest.raises(UsageError, match="wrong number"):
        parse_args("a b", max_pos=1)


def test_parse_args_unbalanced_quote() -> None:
    with pytest.raises(UsageError, match="cannot parse arguments"):
        parse_args("'unclosed")


def test_parse_args_lone_dash_is_positional() -> None:
    assert parse_args("-", max_pos=1).positional == ["-"]


def test_errors_are_one_line() -> None:
    for text, kw in [("--x", {}), ("'", {}), ("a b", {"max_pos": 0, "usage": ":ls"})]:
        with pytest.raises(UsageError) as info:
            parse_args(text, **kw)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)


COMMANDS = [
    "new",
    "switch",
    "s",
    "ls",
    "list",
    "rm",
    "rename",
    "model",
    "models",
    "history",
    "help",
    "quit",
    "q",
    "export",
    "retry",
    "clear",
    "system",
]


@pytest.mark.parametrize(
    ("typo", "want"),
    [
        ("lss", "ls"),
        ("swich", "switch"),
        ("histroy", "history"),
        ("expor", "export"),
        ("renam", "rename"),
        ("hist", "history"),
    ],
)
def test_nearest_suggests_the_closest_command(typo: str, want: str) -> None:
    assert nearest(typo, COMMANDS) == want


def test_nearest_gives_nothing_for_nonsense() -> None:
    assert nearest("zzzzzzzz", COMMANDS) is None
    assert nearest("", COMMANDS) is None
    assert nearest("x", []) is None


# -- a final ampersand, switches, near words, names before a prompt --------------------


def test_a_backslash_before_the_final_ampersand_keeps_it_in_the_prompt() -> None:
    assert parse_line("fish and chips \\&") == Line("prompt", args="fish and chips &")
    assert parse_line("a \\& b &") == Line("prompt", args="a \\& b", background=True)


def test_switches_take_no_value() -> None:
    a = parse_args("x --all", {"--all": "all", "--model": "model"}, switches={"all"})
    assert a.positional == ["x"] and a.switches == {"all"} and a.flags == {}
    with pytest.raises(UsageError, match="--all takes no value"):
        parse_args("--all=1", {"--all": "all"}, switches={"all"})


def test_nearest_does_not_reach_for_a_far_word() -> None:
    assert nearest("nosuch", COMMANDS + ["switch"]) is None


def test_split_targets_with_and_without_spaces() -> None:
    assert split_targets("main, s3 spaced") == (["main", "s3"], "spaced")
    assert split_targets("a,b,c hi there") == (["a", "b", "c"], "hi there")
    assert split_targets("a , b\nline two") == (["a", "b"], "line two")
    assert split_targets("a,a x") == (["a"], "x")
    assert split_targets("a;b x") == ([], "")


NAMES = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,10}", fullmatch=True)
SEPARATORS = st.sampled_from([",", ", ", " ,", " , ", ",  "])


@given(
    st.lists(NAMES, min_size=1, max_size=5),
    st.lists(SEPARATORS, min_size=4, max_size=4),
    st.text(min_size=1).filter(lambda t: t.strip() and not t.lstrip().startswith(",")),
)
def test_split_targets_finds_every_name_and_the_prompt(
    names: list[str], seps: list[str], prompt: str
) -> None:
    joined = names[0] + "".join(s + n for s, n in zip(seps, names[1:], strict=False))
    found, rest = split_targets(f"{joined} {prompt}")
    assert found == list(dict.fromkeys(names))
    assert rest == prompt.strip()


def test_natural_sort() -> None:
    names = ["sess-10", "sess-2", "Main", "alpha", "sess-1", "b2c10", "b2c9"]
    assert natural_sorted(names) == [
        "alpha",
        "b2c9",
        "b2c10",
        "Main",
        "sess-1",
        "sess-2",
        "sess-10",
    ]


def test_dropped_file_reads_a_path_as_terminals_paste_it(tmp_path: Path) -> None:
    """Drag-and-drop: the path alone, as it is, quoted, backslash-escaped or
    a file:// URL; anything else (a missing file, a directory, more words,
    several lines) is no drop."""
    from urllib.parse import quote

    from copilot_repl.repl.parsing import dropped_file

    f = tmp_path / "a cat's photo.png"
    f.write_bytes(b"x")
    path = str(f)
    escaped = path.replace(" ", "\\ ").replace("'", "\\'")
    for pasted in (path, f'"{path}"', escaped, f"file://{quote(path)}", f"  {escaped}\n"):
        assert dropped_file(pasted) == path, pasted
    for pasted in (str(tmp_path), path + " and more", f"{path}\n{path}", str(tmp_path / "no")):
        assert dropped_file(pasted) is None, pasted
