from pathlib import Path

import pytest

from bot.cli import main
from bot.config import DEFAULT_DATABASE, ConfigError, load_settings, parse_settings


def test_defaults_without_any_setting() -> None:
    settings = parse_settings({})
    assert settings.token is None
    assert settings.database_path == DEFAULT_DATABASE
    assert settings.dev_guild_id is None
    assert settings.owner_ids == frozenset()
    assert settings.api_base is None and settings.gateway_url is None
    assert settings.log_level == "INFO"
    assert settings.news_sends_per_second == 45


def test_values_are_parsed() -> None:
    settings = parse_settings({
        "DISCORD_TOKEN": " abc.def.ghi ",
        "DATABASE_PATH": "/tmp/x.db",
        "DEV_GUILD_ID": "123456789012345678",
        "OWNER_IDS": "1, 2,3,",
        "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
        "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9999/gateway",
        "LOG_LEVEL": "debug",
        "NEWS_SENDS_PER_SECOND": "49",
    })
    assert settings.token == "abc.def.ghi"
    assert settings.database_path == Path("/tmp/x.db")
    assert settings.dev_guild_id == 123456789012345678
    assert settings.owner_ids == frozenset({1, 2, 3})
    assert settings.api_base == "http://127.0.0.1:9999/api/v10"
    assert settings.log_level == "DEBUG"
    assert settings.news_sends_per_second == 49


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("DEV_GUILD_ID", "my-server", "DEV_GUILD_ID must be a Discord ID"),
    ("DEV_GUILD_ID", "-5", "DEV_GUILD_ID must be a positive Discord ID"),
    ("OWNER_IDS", "1,two", "OWNER_IDS must be a Discord ID"),
    ("DISCORD_API_BASE", "discord.com/api", "DISCORD_API_BASE must be a URL starting with http"),
    ("DISCORD_GATEWAY_URL", "http://x/gw", "DISCORD_GATEWAY_URL must be a URL starting with ws"),
    ("LOG_LEVEL", "LOUD", "LOG_LEVEL must be one of"),
    ("NEWS_SENDS_PER_SECOND", "50", "at most 49"),
    ("NEWS_SENDS_PER_SECOND", "fast", "NEWS_SENDS_PER_SECOND must be a number"),
    ("DISCORD_TOKEN", "abc def", "DISCORD_TOKEN must be"),
    ("SHARD_COUNT", "0", "SHARD_COUNT must be auto or a whole number"),
    ("SHARD_COUNT", "many", "SHARD_COUNT must be auto or a whole number"),
])
def test_bad_values_name_the_setting(name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_settings({name: value})


@pytest.mark.parametrize(("raw", "sharded", "count"), [
    (None, False, None), ("", False, None), ("auto", True, None), ("AUTO", True, None),
    ("4", True, 4),
])
def test_shard_count(raw: str | None, sharded: bool, count: int | None) -> None:
    settings = parse_settings({} if raw is None else {"SHARD_COUNT": raw})
    assert (settings.sharded, settings.shard_count) == (sharded, count)


def test_token_never_in_repr() -> None:
    settings = parse_settings({"DISCORD_TOKEN": "super-secret-token"})
    assert "super-secret-token" not in repr(settings)
    assert "super-secret-token" not in str(settings)


def test_env_file_is_read_and_environment_wins(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    env = tmp_path / ".env"
    env.write_text("LOG_LEVEL=WARNING\nDEV_GUILD_ID=42\n")
    monkeypatch.setenv("DEV_GUILD_ID", "43")
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    settings = load_settings(env)
    assert settings.log_level == "WARNING"
    assert settings.dev_guild_id == 43


def test_cli_bad_setting_is_one_line_and_exit_2(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    env = tmp_path / ".env"
    env.write_text("DEV_GUILD_ID=not-a-number\nDISCORD_TOKEN=secret.token.value\n")
    code = main(["--env-file", str(env), "db", "stats"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "DEV_GUILD_ID must be a Discord ID" in err
    assert "Traceback" not in err and "secret.token.value" not in err
