"""Configuration: the TOML file, providers, aliases, models, env vars and flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from copilot_repl.config import BUILTIN_PROVIDERS, LOCAL_MODEL, load_config
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
