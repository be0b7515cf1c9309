import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.config import (
    DEFAULT_DATABASE,
    ConfigError,
    configure_logging,
    load_settings,
    parse_settings,
)


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


# A real-looking (made-up) bot token: three base64url parts joined by dots.
FAKE_TOKEN = "MTA1ODg5NzM0MzI4NzM5NDMwNA.GhXy7Q.ab3dEfGhIjKlMnOpQrStUvWxYz0123456789ab"


@pytest.mark.parametrize("name", ["OWNER_IDS", "DEV_GUILD_ID", "DISCORD_API_BASE",
                                  "DISCORD_GATEWAY_URL", "LOG_LEVEL", "NEWS_SENDS_PER_SECOND",
                                  "FEED_POLL_SECONDS", "SHARD_COUNT",
                                  "FEEDS_ALLOW_PRIVATE_ADDRESSES"])
def test_a_token_pasted_into_another_setting_is_never_echoed(name: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_settings({name: FAKE_TOKEN})
    message = str(raised.value)
    assert message.startswith(name)
    assert FAKE_TOKEN not in message and FAKE_TOKEN[:12] not in message
    assert "not shown" in message


def test_short_bad_values_are_still_shown() -> None:
    with pytest.raises(ConfigError, match="got 'two'"):
        parse_settings({"OWNER_IDS": "1,two"})
    with pytest.raises(ConfigError, match="must be true or false, got 'maybe'"):
        parse_settings({"FEEDS_ALLOW_PRIVATE_ADDRESSES": "maybe"})
    assert parse_settings({"FEEDS_ALLOW_PRIVATE_ADDRESSES": "TRUE"}).feeds_allow_private_addresses


def test_dotenv_is_read_from_the_current_directory(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("DEV_GUILD_ID=4242\n")
    monkeypatch.delenv("DEV_GUILD_ID", raising=False)
    monkeypatch.chdir(tmp_path)
    assert load_settings().dev_guild_id == 4242
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert load_settings().dev_guild_id is None  # not the project's, not the package's


def test_debug_logging_holds_back_what_prints_secrets() -> None:
    configure_logging(parse_settings({"LOG_LEVEL": "DEBUG"}))
    for name in ("aiosqlite", "discord.gateway", "discord.http"):
        assert logging.getLogger(name).getEffectiveLevel() == logging.INFO, name


def test_service_settings() -> None:
    settings = parse_settings({"METRICS_PORT": "9100", "METRICS_HOST": "0.0.0.0",
                               "BACKUP_DIR": "/srv/backups", "BACKUP_KEEP": "3",
                               "LOG_FORMAT": "JSON"})
    assert (settings.metrics_port, settings.metrics_host) == (9100, "0.0.0.0")
    assert settings.backup_dir == Path("/srv/backups") and settings.backup_keep == 3
    assert settings.log_format == "json"
    defaults = parse_settings({})
    assert defaults.metrics_port is None and defaults.metrics_host == "127.0.0.1"
    assert defaults.backup_dir is None and defaults.backup_keep == 7
    assert defaults.log_format == "text"
    for name, value in (("METRICS_PORT", "9.5"), ("METRICS_PORT", "70000"),
                        ("BACKUP_KEEP", "0"), ("BACKUP_KEEP", "2.5"), ("LOG_FORMAT", "xml")):
        with pytest.raises(ConfigError, match=name):
            parse_settings({name: value})
