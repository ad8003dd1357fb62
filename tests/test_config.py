"""Configuration: the TOML file, providers, aliases, models, env vars and flags."""

from __future__ import annotations

from dataclasses import asdict, fields
from pathlib import Path

import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot_repl.config import BUILTIN_PROVIDERS, LOCAL_MODEL, ProviderSettings, load_config
from copilot_repl.errors import ConfigError, UsageError

GOOD = """\
model = "work:qwen2.5"
system = "You are concise."

[providers.work]
base_url = "http://127.0.0.1:8080/v1"
api_key_env = "WORK_KEY"
default_model = "qwen2.5"
max_parallel = 2
context_tokens = 32768
read_timeout = 0.5
max_retries = 1
params = { temperature = 0.2 }

[aliases]
fast = "work:tiny"
claude-sonnet-4 = "work:qwen2.5"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_providers_aliases_and_defaults_from_the_file(tmp_path: Path) -> None:
    cfg = load_config(env={}, data_dir=tmp_path / "d", config_path=write(tmp_path, GOOD))
    assert cfg.model == "work:qwen2.5"
    assert cfg.system == "You are concise."
    work = cfg.provider("work")
    assert work.base_url == "http://127.0.0.1:8080/v1"
    assert work.api_key_env == "WORK_KEY"
    assert work.max_parallel == 2
    assert work.context_tokens == 32768
    assert work.read_timeout == 0.5
    assert work.max_retries == 1
    assert dict(work.params) == {"temperature": 0.2}
    assert cfg.aliases["fast"] == "work:tiny"
    # the built-in providers are still there
    assert cfg.provider("openai").base_url == BUILTIN_PROVIDERS["openai"].base_url


def test_overriding_a_builtin_provider_keeps_its_other_settings(tmp_path: Path) -> None:
    text = '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\nmax_retries = 0\n'
    cfg = load_config(env={}, data_dir=tmp_path, config_path=write(tmp_path, text))
    openai = cfg.provider("openai")
    assert openai.base_url == "http://127.0.0.1:9/v1"
    assert openai.max_retries == 0
    assert openai.api_key_env == "OPENAI_API_KEY"
    assert openai.default_model == "gpt-4o-mini"


@pytest.mark.parametrize(
    ("spec", "want"),
    [
        ("", "work:qwen2.5"),
        ("fast", "work:tiny"),
        ("claude-sonnet-4", "work:qwen2.5"),
        ("work:other", "work:other"),
        ("work:", "work:qwen2.5"),
        ("work", "work:qwen2.5"),
        ("openai", "openai:gpt-4o-mini"),
        ("openai:gpt-4.1", "openai:gpt-4.1"),
        ("bare-model", "work:bare-model"),
        ("  openai:o3  ", "openai:o3"),
        ("github:openai/gpt-4.1-mini", "github:openai/gpt-4.1-mini"),
        ("ollama:llama3.2:latest", "ollama:llama3.2:latest"),
    ],
)
def test_resolve_model(tmp_path: Path, spec: str, want: str) -> None:
    cfg = load_config(env={}, data_dir=tmp_path, config_path=write(tmp_path, GOOD))
    assert cfg.resolve_model(spec) == want


def test_resolve_model_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    cfg = load_config(env={}, data_dir=tmp_path, config_path=write(tmp_path, GOOD))
    with pytest.raises(UsageError, match=r"unknown provider 'nope' \(known: .*openai.*work"):
        cfg.resolve_model("nope:model")


def test_model_flag_is_resolved(tmp_path: Path) -> None:
    cfg = load_config(env={}, data_dir=tmp_path, config_path=write(tmp_path, GOOD), model="fast")
    assert cfg.model == "work:tiny"


def test_model_flag_with_unknown_provider_fails(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown provider 'nope'"):
        load_config(env={}, data_dir=tmp_path, model="nope:x")


def test_bad_toml_names_the_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "openai:x"\n\n[providers.work\nbase_url = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    msg = str(info.value)
    assert str(path) in msg
    assert "line 3" in msg
    assert "\n" not in msg


def test_unknown_top_level_key_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, 'model = "openai:x"\n# comment\nmodle = "typo"\n')
    with pytest.raises(ConfigError, match=r"line 3: unknown setting 'modle'") as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(path) in str(info.value)


def test_unknown_provider_key_names_the_line(tmp_path: Path) -> None:
    text = '[providers.work]\nbase_url = "http://127.0.0.1:1/v1"\nread_timout = 3\n'
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"line 3: unknown setting 'read_timout'"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_wrong_type_names_the_line_of_the_right_provider(tmp_path: Path) -> None:
    text = (
        '[providers.a]\nbase_url = "http://127.0.0.1:1/v1"\nmax_parallel = 2\n\n'
        '[providers.b]\nbase_url = "http://127.0.0.1:2/v1"\nmax_parallel = "four"\n'
    )
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=r"line 7: 'max_parallel' has the wrong type"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_bool_is_not_an_int(tmp_path: Path) -> None:
    path = write(tmp_path, "[providers.openai]\nmax_retries = true\n")
    with pytest.raises(ConfigError, match=r"line 2: 'max_retries' has the wrong type"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_provider_without_base_url(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.mine]\ndefault_model = "x"\n')
    with pytest.raises(ConfigError, match=r"line 1: \[providers.mine\] needs base_url"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_default_model_with_unknown_provider_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '# my config\nmodel = "nope:gpt"\n')
    with pytest.raises(ConfigError, match=r"line 2: unknown provider 'nope'"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_wrong_type_for_top_level_string(tmp_path: Path) -> None:
    path = write(tmp_path, "system = 3\n")
    with pytest.raises(ConfigError, match=r"line 1: 'system' must be a string"):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(path) in str(info.value)


def test_config_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.toml"
    path.write_bytes(b'model = "\xff\xfe"\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(path) in str(info.value)


def test_bad_config_through_the_cli_is_one_line_exit_2(tmp_path: Path) -> None:
    path = write(tmp_path, "model = [unclosed\n")
    r = run_cli(["--config", str(path)], ":ls\n")
    assert r.code == 2
    lines = r.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("copilot-repl: error: config file ")
    assert str(path) in lines[0] and "line 1" in lines[0]
    assert "Traceback" not in r.err and r.out == ""


def test_unknown_provider_through_the_cli_is_exit_2(tmp_path: Path) -> None:
    r = run_cli(["--model", "nope:gpt"], ":ls\n")
    assert r.code == 2
    assert r.err.startswith("copilot-repl: error: unknown provider 'nope'")
    assert len(r.err.splitlines()) == 1


def test_no_settings_means_the_local_model(tmp_path: Path) -> None:
    cfg = load_config(env={}, data_dir=tmp_path)
    assert cfg.model == LOCAL_MODEL


def test_openai_api_key_makes_openai_the_default(tmp_path: Path) -> None:
    cfg = load_config(env={"OPENAI_API_KEY": "sk-x"}, data_dir=tmp_path)
    assert cfg.model == "openai:gpt-4o-mini"


def test_openai_base_url_env(tmp_path: Path) -> None:
    cfg = load_config(env={"OPENAI_BASE_URL": "http://127.0.0.1:5/v1"}, data_dir=tmp_path)
    assert cfg.provider("openai").base_url == "http://127.0.0.1:5/v1"
    assert cfg.model == "openai:gpt-4o-mini"


def test_base_url_flag_wins_over_env(tmp_path: Path) -> None:
    cfg = load_config(
        env={"OPENAI_BASE_URL": "http://127.0.0.1:5/v1"},
        data_dir=tmp_path,
        base_url="http://127.0.0.1:6/v1",
    )
    assert cfg.provider("openai").base_url == "http://127.0.0.1:6/v1"


def test_base_url_flag_wins_over_the_config_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.openai]\nbase_url = "http://127.0.0.1:7/v1"\n')
    cfg = load_config(env={}, data_dir=tmp_path, config_path=path, base_url="http://127.0.0.1:8/v1")
    assert cfg.provider("openai").base_url == "http://127.0.0.1:8/v1"


def test_api_key_env_flag(tmp_path: Path) -> None:
    cfg = load_config(env={}, data_dir=tmp_path, api_key_env="MY_KEY")
    assert cfg.provider("openai").api_key_env == "MY_KEY"


def test_copilot_repl_home_moves_data_and_config(tmp_path: Path) -> None:
    home = tmp_path / "h"
    home.mkdir()
    (home / "config.toml").write_text('system = "from home"\n')
    cfg = load_config(env={"COPILOT_REPL_HOME": str(home)})
    assert cfg.data_dir == home
    assert cfg.config_path == home / "config.toml"
    assert cfg.system == "from home"


def test_data_dir_flag_wins_over_copilot_repl_home(tmp_path: Path) -> None:
    home, other = tmp_path / "h", tmp_path / "o"
    other.mkdir()
    (other / "config.toml").write_text('system = "from flag dir"\n')
    cfg = load_config(env={"COPILOT_REPL_HOME": str(home)}, data_dir=other)
    assert cfg.data_dir == other
    assert cfg.system == "from flag dir"


def test_explicit_config_wins_over_the_data_dir_one(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('system = "default"\n')
    path = write(tmp_path, 'system = "explicit"\n', "other.toml")
    cfg = load_config(env={}, data_dir=tmp_path, config_path=path)
    assert cfg.system == "explicit"


def test_cli_data_dir_and_home_env(tmp_path: Path, home: Path) -> None:
    r = run_cli([], ":ls\n")
    assert r.code == 0, r.err
    assert (home / "sessions" / "main.jsonl").exists()
    other = tmp_path / "elsewhere"
    r = run_cli(["--data-dir", str(other)], ":new only-here\n")
    assert r.code == 0, r.err
    assert (other / "sessions" / "only-here.jsonl").exists()
    assert not (home / "sessions" / "only-here.jsonl").exists()


# -- values checked at load time, with file, line and the expected form ----------------

BAD_VALUES = {
    "read_timeout nan": ("read_timeout = nan", "read_timeout = nan: expected a number above 0"),
    "read_timeout zero": ("read_timeout = 0", "read_timeout = 0: expected a number above 0"),
    "read_timeout negative": ("read_timeout = -1.5", "expected a number above 0"),
    "read_timeout inf": ("read_timeout = inf", "read_timeout = inf: expected a number above 0"),
    "connect_timeout zero": ("connect_timeout = 0", "connect_timeout = 0: expected"),
    "first_token_timeout nan": ("first_token_timeout = nan", "first_token_timeout = nan"),
    "max_reply_chars zero": ("max_reply_chars = 0", "max_reply_chars = 0: expected"),
    "max_retries negative": ("max_retries = -1", "max_retries = -1: expected"),
    "max_parallel zero": ("max_parallel = 0", "max_parallel = 0: expected a number at least 1"),
    "context_tokens zero": ("context_tokens = 0", "context_tokens = 0: expected"),
    "bad IPv6": ('base_url = "http://[::1/v1"', "is not a valid URL (invalid ipv6 url)"),
    "port 99999": ('base_url = "http://127.0.0.1:99999/v1"', "port out of range"),
    "port not a number": ('base_url = "http://127.0.0.1:x/v1"', "is not a valid URL"),
    "port 0": ('base_url = "http://127.0.0.1:0/v1"', "has port 0"),
    "file URL": ('base_url = "file:///etc/passwd"', "must start with http:// or https://"),
    "ftp URL": ('base_url = "ftp://example.com/v1"', "must start with http:// or https://"),
    "no host": ('base_url = "http:///v1"', "has no host name"),
    "space in URL": ('base_url = "http://exa mple.com/v1"', "contains a space"),
    "byok URL": ('byok_base_url = "ftp://x/v1"', "byok_base_url 'ftp://x/v1' must start"),
    "params stream": ("params = { stream = false }", "params cannot set 'stream'"),
    "params model": ('params = { model = "x" }', "params cannot set 'model'"),
    "params nan": ("params = { temperature = nan }", "params.temperature = nan is not a finite"),
    "params date": ("params = { seed = 1979-05-27 }", "params.seed is a date or time"),
    "params nested date": ("params = { a = [1, { b = 07:32:00 }] }", "params.a[1].b is a date"),
}


@pytest.mark.parametrize(("line", "words"), BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_values_name_the_file_line_and_expected_form(
    tmp_path: Path, line: str, words: str
) -> None:
    text = f'# mine\n[providers.work]\nbase_url = "http://127.0.0.1:1/v1"\n{line}\n'
    if line.startswith("base_url"):
        text = f"# mine\n[providers.work]\n\n{line}\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    msg = str(info.value)
    assert msg.startswith(f"config file {path}, line 4: "), msg
    assert words in msg
    assert "\n" not in msg


def test_a_number_out_of_range_shows_an_example(tmp_path: Path) -> None:
    path = write(tmp_path, "[providers.openai]\nread_timeout = nan\n")
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(info.value) == (
        f"config file {path}, line 2: read_timeout = nan: expected a number above 0 "
        "and at most 86400 (e.g. read_timeout = 60)"
    )


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"
    return repr(value)


def test_each_declared_provider_setting_is_read_from_the_file(tmp_path: Path) -> None:
    """A setting declared once on ProviderSettings is a setting of the file:
    each one the file may set is read back (with a value other than its
    default); one out of its range names an example of the right form."""
    other = {str: "x", bool: True, int: 7, float: 7.5, dict: {"seed": 7}}
    settable = [f for f in fields(ProviderSettings) if f.metadata.get("in_file", True)]
    assert {f.name for f in settable} >= {"base_url", "read_timeout", "threads", "tools"}
    for f in settable:
        if f.name == "name":
            continue
        kind = {"str": str, "bool": bool, "int": int, "float": float}.get(str(f.type), dict)
        value = "http://127.0.0.1:1/v1" if f.name.endswith("base_url") else other[kind]
        value = "copilot" if f.name == "kind" else value
        path = write(tmp_path, f"[providers.copilot]\n{f.name} = {_toml(value)}\n")
        got = load_config(env={}, data_dir=tmp_path, config_path=path).providers["copilot"]
        assert asdict(got)[f.name] == value, f.name
        if "range" in f.metadata:
            path = write(tmp_path, f"[providers.copilot]\n{f.name} = -5\n")
            with pytest.raises(ConfigError, match=rf"\(e\.g\. {f.name} = \d+\)$"):
                load_config(env={}, data_dir=tmp_path, config_path=path)


def test_userinfo_in_a_bad_url_is_not_shown(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.w]\nbase_url = "ftp://bob:hunter2pw@host/v1"\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert "hunter2pw" not in str(info.value)
    assert "ftp://[redacted]@host/v1" in str(info.value)


@pytest.mark.parametrize(
    ("source", "kwargs", "env"),
    [
        ("--base-url", {"base_url": "http://[::1/v1"}, {}),
        ("--base-url", {"base_url": "file:///etc/passwd"}, {}),
        ("OPENAI_BASE_URL", {}, {"OPENAI_BASE_URL": "http://127.0.0.1:99999/v1"}),
    ],
)
def test_a_bad_base_url_flag_or_env_is_refused_at_start(
    tmp_path: Path, source: str, kwargs: dict[str, str], env: dict[str, str]
) -> None:
    with pytest.raises(ConfigError, match=rf"^{source} '.*' .*\(e\.g\. https://host:8080/v1\)$"):
        load_config(env=env, data_dir=tmp_path, **kwargs)  # type: ignore[arg-type]


def test_bad_base_url_flag_through_the_cli_is_one_line_exit_2() -> None:
    r = run_cli(["--base-url", "ftp://example.com/v1"], "hello\n")
    assert r.code == 2
    assert r.err == (
        "copilot-repl: error: --base-url 'ftp://example.com/v1' must start with http:// or "
        "https:// (e.g. https://host:8080/v1)\n"
    )


def test_good_values_at_the_edges_load(tmp_path: Path) -> None:
    text = (
        "[providers.work]\n"
        'base_url = "https://[::1]:65535/v1"\n'
        "read_timeout = 0.001\nfirst_token_timeout = 86400\nmax_reply_chars = 1\n"
        "max_retries = 0\nthreads = 0\n"
        'params = { temperature = 0.2, stop = ["a", "b"], extra = { x = true } }\n'
    )
    cfg = load_config(env={}, data_dir=tmp_path, config_path=write(tmp_path, text))
    work = cfg.provider("work")
    assert (work.first_token_timeout, work.max_reply_chars) == (86400, 1)
    assert BUILTIN_PROVIDERS["openai"].first_token_timeout == 120.0
    assert BUILTIN_PROVIDERS["openai"].max_reply_chars == 2_000_000


# -- "did you mean" and the expected type ----------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("baseurl", "base_url"),
        ("base-url", "base_url"),
        ("read_timout", "read_timeout"),
        ("apikey_env", "api_key_env"),
        ("max_reply_char", "max_reply_chars"),
        ("first_token_timout", "first_token_timeout"),
    ],
)
def test_unknown_provider_setting_suggests_the_nearest(
    tmp_path: Path, typo: str, meant: str
) -> None:
    path = write(tmp_path, f'[providers.work]\nbase_url = "http://h/v1"\n{typo} = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(info.value) == (
        f"config file {path}, line 3: unknown setting {typo!r} in [providers.work]; "
        f"did you mean {meant!r}?"
    )


def test_unknown_top_level_setting_suggests_the_nearest(tmp_path: Path) -> None:
    path = write(tmp_path, 'modle = "openai:x"\n')
    with pytest.raises(
        ConfigError, match=r"line 1: unknown setting 'modle'; did you mean 'model'\?$"
    ):
        load_config(env={}, data_dir=tmp_path, config_path=path)


def test_a_provider_setting_at_the_top_says_where_it_belongs(tmp_path: Path) -> None:
    path = write(tmp_path, 'base_url = "http://h/v1"\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(info.value).endswith(
        "line 1: unknown setting 'base_url' (it belongs in a [providers.NAME] table)"
    )


def test_nothing_near_suggests_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, '[providers.work]\nbase_url = "http://h/v1"\nzzzz = 1\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(info.value).endswith("unknown setting 'zzzz' in [providers.work]")


@pytest.mark.parametrize(
    ("line", "words"),
    [
        (
            'read_timeout = "3"',
            "'read_timeout' has the wrong type: expected a number, not a string",
        ),
        (
            "max_parallel = 2.5",
            "'max_parallel' has the wrong type: expected an integer, not a number",
        ),
        (
            "max_retries = true",
            "'max_retries' has the wrong type: expected an integer, not true or false",
        ),
        ("tools = 1", "'tools' has the wrong type: expected true or false, not an integer"),
        ('params = "x"', "'params' has the wrong type: expected a table, not a string"),
        ("api_key_env = [1]", "'api_key_env' has the wrong type: expected a string, not an array"),
        (
            "cli_path = 1979-05-27",
            "'cli_path' has the wrong type: expected a string, not a date or time",
        ),
    ],
)
def test_wrong_type_names_the_expected_type(tmp_path: Path, line: str, words: str) -> None:
    path = write(tmp_path, f'[providers.work]\nbase_url = "http://h/v1"\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert str(info.value) == f"config file {path}, line 3: {words}"


def test_wrong_top_level_type_names_the_type(tmp_path: Path) -> None:
    path = write(tmp_path, "system = 3\n")
    with pytest.raises(ConfigError) as info:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    assert (
        str(info.value) == f"config file {path}, line 1: 'system' must be a string, not an integer"
    )


# -- the loader, fuzzed: a Config or one ConfigError line, nothing else ------------

_VALUES = [
    '"x"', '""', "0", "1", "-1", "99999", "1.5", "-0.0", "nan", "inf", "-inf", "true",
    "[1, 2]", "[]", "{ a = 1 }", "{ stream = true }", "{ t = nan }", "1979-05-27",
    "07:32:00", '"http://127.0.0.1:1/v1"', '"http://[::1/v1"', '"http://h:99999/v1"',
    '"ftp://h/v1"', '"file:///x"', '"https://u:p@h/v1"', '"local"', '"copilot"', '"openai"',
    "9999999999999999999999",
]  # fmt: skip
_KEYS = [*sorted(BUILTIN_PROVIDERS["openai"].__dataclass_fields__), "baseurl", "bogus"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["work", "openai", "local", "copilot", "x.y"]),
            st.lists(st.tuples(st.sampled_from(_KEYS), st.sampled_from(_VALUES)), max_size=5),
        ),
        max_size=3,
    ),
    st.sampled_from(["", 'model = "work:m"\n', "model = 3\n", 'modle = "x"\n', "system = nan\n"]),
)
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_config_loads_or_is_one_config_error(
    tmp_path: Path, tables: list[tuple[str, list[tuple[str, str]]]], top: str
) -> None:
    text = top
    for name, pairs in tables:
        text += f"[providers.{name}]\n" + "".join(f"{k} = {v}\n" for k, v in dict(pairs).items())
    path = write(tmp_path, text)
    try:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    except ConfigError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(f"config file {path}")


@given(st.text())
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_loads_or_is_one_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_config(env={}, data_dir=tmp_path, config_path=path)
    except ConfigError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("with_config", [False, True])
def test_a_data_dir_that_cannot_be_looked_at_is_one_line_and_exit_2(
    tmp_path: Path, with_config: bool
) -> None:
    """(stat fails with ENAMETOOLONG here: unlike EACCES it does so for root too)"""
    from conftest import run_cli

    unusable = tmp_path / ("a" * 250) / ("b" * 250) / ("c" * 4000)
    args = ["--data-dir", str(unusable)]
    if with_config:
        cfg = tmp_path / "c.toml"
        cfg.write_text("")
        args += ["--config", str(cfg)]
    r = run_cli(args, ":ls\n")
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("copilot-repl: error:"), r.err
    assert "Traceback" not in r.err
