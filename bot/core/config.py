"""Settings: the only module that reads the environment.

`.env` is loaded once (python-dotenv, never overriding variables already set), then every value is
parsed into one frozen `Settings`. A bad value raises `ConfigError` naming the setting and what was
expected; the CLI turns that into a one-line message and exit code 2.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from bot.core.runtime import EVENT_LOOPS, EventLoopUnavailable, loop_factory

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Relative, so resolved against the current directory, like `.env`: where the operator runs the
# bot (the project folder for `make run`), never inside site-packages. Its folder is made if
# missing (bot/cli.py); any other DATABASE_PATH's folder must exist.
DEFAULT_DATABASE = Path("data") / "heartstopper.db"
SEED_PACKAGE = "heartstopper_seed"  # the repository's data/, shipped in the wheel


def packaged_seed_dir() -> Path:
    """The seed files that came with the bot: the package `heartstopper_seed` (data/ in the
    repository, mapped by pyproject.toml; an editable install points it back at data/), or
    data/ beside the code when the bot runs from a checkout that was never installed."""
    try:
        root = resources.files(SEED_PACKAGE)
    except ModuleNotFoundError:
        return PROJECT_ROOT / "data"
    return Path(str(root))


DEFAULT_SEED_DIR = packaged_seed_dir()

DISCORD_REQUESTS_PER_SECOND = 50  # Discord's global rate limit per bot
# Sending at exactly Discord's limit overruns it on request jitter alone (the fan-out benchmark
# drew 121 429s at 50 and none at 49), so the setting stops one short of it.
MAX_NEWS_SENDS_PER_SECOND = 49.0
DEFAULT_NEWS_SENDS_PER_SECOND = 45.0
# Feeds: every 15 minutes by default; a failing feed backs off from this interval.
DEFAULT_FEED_POLL_SECONDS = 900.0
MIN_FEED_POLL_SECONDS = 1.0
MAX_FEED_POLL_SECONDS = 7 * 86400.0

DEFAULT_BACKUP_KEEP = 7
_LOG_FORMATS = ("text", "json")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names it."""


@dataclass(frozen=True, slots=True)
class Settings:
    token: str | None = field(default=None, repr=False)
    database_path: Path = DEFAULT_DATABASE
    seed_dir: Path = DEFAULT_SEED_DIR
    dev_guild_id: int | None = None
    owner_ids: frozenset[int] = frozenset()
    api_base: str | None = None
    gateway_url: str | None = None
    log_level: str = "INFO"
    news_sends_per_second: float = DEFAULT_NEWS_SENDS_PER_SECOND
    feed_poll_seconds: float = DEFAULT_FEED_POLL_SECONDS
    # Feeds may be fetched from loopback, private and other non-public addresses (tests,
    # intranets). Off by default: a feed must not reach into the bot's own network.
    feeds_allow_private_addresses: bool = False
    # SHARD_COUNT: unset = one gateway connection; "auto" (shard_count None) = as many shards as
    # Discord recommends; N = exactly N. Discord requires shards above 2,500 servers.
    sharded: bool = False
    shard_count: int | None = None
    # SHARD_IDS: the shards this process runs (None: all of them). Processes serving different
    # slices share one database; one of them, chosen through it, runs the background work.
    shard_ids: tuple[int, ...] | None = None
    # Running as a service (issue 17): health and metrics over HTTP (off unless a port is set),
    # automatic backups (off unless a folder is set), and the log's format.
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    backup_dir: Path | None = None
    backup_keep: int = DEFAULT_BACKUP_KEEP
    log_format: str = "text"
    # EVENT_LOOP: auto (uvloop where installed), uvloop or asyncio; see bot/core/runtime.py.
    event_loop: str = "auto"
    # NEWS_HUB_CHANNEL_ID (issue 20): an announcement channel in the operator's own server that
    # gets every news item, published, so other servers' channels can follow it. Off if unset.
    news_hub_channel_id: int | None = None

    @property
    def has_token(self) -> bool:
        return bool(self.token)

    @property
    def uses_emulated_discord(self) -> bool:
        return self.api_base is not None or self.gateway_url is not None

    @property
    def shards_text(self) -> str:
        """Which shards this process runs, for log lines and status: 'off', 'auto', 'all 4'
        or '0-1 of 4'."""
        if not self.sharded:
            return "off"
        if self.shard_count is None:
            return "auto"
        if self.shard_ids is None:
            return f"all {self.shard_count}"
        return f"{shard_ranges(self.shard_ids)} of {self.shard_count}"

    def __repr__(self) -> str:  # the token must never reach a log line
        token = "set" if self.token else "unset"
        return (
            f"Settings(token={token}, database_path={self.database_path!s}, "
            f"dev_guild_id={self.dev_guild_id}, owner_ids={sorted(self.owner_ids)}, "
            f"api_base={self.api_base}, gateway_url={self.gateway_url}, "
            f"log_level={self.log_level}, news_sends_per_second={self.news_sends_per_second}, "
            f"feed_poll_seconds={self.feed_poll_seconds:g}, "
            f"feeds_allow_private_addresses={self.feeds_allow_private_addresses}, "
            f"shards={self.shards_text}, "
            f"metrics={self.metrics_host}:{self.metrics_port or 'off'}, "
            f"backup_dir={self.backup_dir or 'off'}, backup_keep={self.backup_keep}, "
            f"log_format={self.log_format}, event_loop={self.event_loop}, "
            f"news_hub_channel_id={self.news_hub_channel_id or 'off'})"
        )


# A bot token: three base64url parts joined by dots, the first at least ~18 characters.
_TOKEN_LIKE = re.compile(r"[\w-]{16,}\.[\w-]{4,}\.[\w-]{10,}")


def shown(raw: str) -> str:
    """A setting's bad value, quoted for an error message, unless it could be a secret (a token
    pasted into the wrong setting must not be echoed to a terminal or a log)."""
    if _TOKEN_LIKE.search(raw) or len(raw) > 40:
        return "a value that looks like a token or key (not shown)"
    return repr(raw)


def _snowflake(name: str, raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a Discord ID (a number), got {shown(raw)}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be a positive Discord ID, got {shown(raw)}")
    return value


def _number(env: Mapping[str, str | None], name: str, default: float, *, wanted: str,
            most: float, above: float | None = None, least: float | None = None) -> float:
    raw = _clean(env, name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    low_ok = (above is None or value > above) and (least is None or value >= least)
    if not (low_ok and value <= most):  # NaN fails every comparison
        raise ConfigError(f"{name} must be {wanted}, got {shown(raw)}")
    return value


def _flag(name: str, raw: str | None) -> bool:
    if raw is None:
        return False
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {shown(raw)}")


def _url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parsed = urlparse(raw)
    if parsed.scheme not in schemes or not parsed.netloc:
        wanted = " or ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"{name} must be a URL starting with {wanted}, got {shown(raw)}")
    return raw.rstrip("/")


def _clean(env: Mapping[str, str | None], name: str) -> str | None:
    raw = env.get(name)
    if raw is None:
        return None
    raw = raw.strip()
    return raw or None


def parse_settings(env: Mapping[str, str | None]) -> Settings:
    """Build settings from a mapping of raw strings (the environment, or a test's dict)."""
    token = _clean(env, "DISCORD_TOKEN")
    if token is not None and any(c.isspace() for c in token):
        raise ConfigError("DISCORD_TOKEN must be the bot token from the Developer Portal, "
                          "without spaces")

    database = _clean(env, "DATABASE_PATH")
    database_path = Path(database).expanduser() if database else DEFAULT_DATABASE

    seed = _clean(env, "SEED_DIR")
    seed_dir = Path(seed).expanduser() if seed else DEFAULT_SEED_DIR

    dev_guild = _clean(env, "DEV_GUILD_ID")
    dev_guild_id = _snowflake("DEV_GUILD_ID", dev_guild) if dev_guild else None

    owners_raw = _clean(env, "OWNER_IDS")
    owner_ids: frozenset[int] = frozenset()
    if owners_raw:
        parts = [p.strip() for p in owners_raw.split(",") if p.strip()]
        owner_ids = frozenset(_snowflake("OWNER_IDS", p) for p in parts)

    api = _clean(env, "DISCORD_API_BASE")
    api_base = _url("DISCORD_API_BASE", api, ("http", "https")) if api else None
    gateway = _clean(env, "DISCORD_GATEWAY_URL")
    gateway_url = _url("DISCORD_GATEWAY_URL", gateway, ("ws", "wss")) if gateway else None

    level = (_clean(env, "LOG_LEVEL") or "INFO").upper()
    if level not in _LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, got {shown(level)}")

    rate = _number(env, "NEWS_SENDS_PER_SECOND", DEFAULT_NEWS_SENDS_PER_SECOND,
                   above=0, most=MAX_NEWS_SENDS_PER_SECOND,
                   wanted=f"a number above 0 and at most {MAX_NEWS_SENDS_PER_SECOND:g} (just "
                          f"under Discord's limit of {DISCORD_REQUESTS_PER_SECOND} requests a "
                          "second)")
    poll = _number(env, "FEED_POLL_SECONDS", DEFAULT_FEED_POLL_SECONDS,
                   least=MIN_FEED_POLL_SECONDS, most=MAX_FEED_POLL_SECONDS,
                   wanted=f"a number of seconds from {MIN_FEED_POLL_SECONDS:g} to "
                          f"{MAX_FEED_POLL_SECONDS:g} (a week)")

    allow_private = _flag("FEEDS_ALLOW_PRIVATE_ADDRESSES",
                          _clean(env, "FEEDS_ALLOW_PRIVATE_ADDRESSES"))

    port_raw = _clean(env, "METRICS_PORT")
    metrics_port = None
    if port_raw:
        metrics_port = int(_number(env, "METRICS_PORT", 0, least=1, most=65535,
                                   wanted="a TCP port number from 1 to 65535"))
        if metrics_port != float(port_raw):
            raise ConfigError(f"METRICS_PORT must be a whole port number, got {shown(port_raw)}")
    metrics_host = _clean(env, "METRICS_HOST") or "127.0.0.1"
    backup_raw = _clean(env, "BACKUP_DIR")
    backup_dir = Path(backup_raw).expanduser() if backup_raw else None
    keep = _number(env, "BACKUP_KEEP", DEFAULT_BACKUP_KEEP, least=1, most=1000,
                   wanted="a whole number of backups to keep, from 1 to 1000")
    if keep != int(keep):
        raise ConfigError(f"BACKUP_KEEP must be a whole number, got {shown(str(keep))}")
    log_format = (_clean(env, "LOG_FORMAT") or "text").lower()
    if log_format not in _LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be text or json, got {shown(log_format)}")
    event_loop = (_clean(env, "EVENT_LOOP") or "auto").lower()
    if event_loop not in EVENT_LOOPS:
        raise ConfigError(f"EVENT_LOOP must be auto, uvloop or asyncio, got {shown(event_loop)}")
    try:
        loop_factory(event_loop)
    except EventLoopUnavailable as exc:
        raise ConfigError(str(exc)) from None

    hub_raw = _clean(env, "NEWS_HUB_CHANNEL_ID")
    news_hub_channel_id = _snowflake("NEWS_HUB_CHANNEL_ID", hub_raw) if hub_raw else None

    shards_raw = _clean(env, "SHARD_COUNT")
    sharded, shard_count = shards_raw is not None, None
    if shards_raw is not None and shards_raw.lower() != "auto":
        try:
            shard_count = int(shards_raw)
        except ValueError:
            shard_count = 0
        if shard_count < 1:
            raise ConfigError(f"SHARD_COUNT must be auto or a whole number of shards (1 or "
                              f"more), got {shown(shards_raw)}")

    shard_ids = _shard_ids(_clean(env, "SHARD_IDS"), shards_raw, shard_count)

    return Settings(
        token=token,
        database_path=database_path,
        seed_dir=seed_dir,
        dev_guild_id=dev_guild_id,
        owner_ids=owner_ids,
        api_base=api_base,
        gateway_url=gateway_url,
        log_level=level,
        news_sends_per_second=rate,
        feed_poll_seconds=poll,
        feeds_allow_private_addresses=allow_private,
        sharded=sharded,
        metrics_port=metrics_port,
        metrics_host=metrics_host,
        backup_dir=backup_dir,
        backup_keep=int(keep),
        log_format=log_format,
        event_loop=event_loop,
        shard_count=shard_count,
        news_hub_channel_id=news_hub_channel_id,
        shard_ids=shard_ids,
    )


def shard_ranges(ids: tuple[int, ...]) -> str:
    """Shard ids as SHARD_IDS spells them: runs of consecutive ids as ranges ('0-3,6')."""
    parts: list[str] = []
    start = prev = ids[0]
    for shard in (*ids[1:], None):
        if shard is not None and shard == prev + 1:
            prev = shard
            continue
        parts.append(str(start) if start == prev else f"{start}-{prev}")
        if shard is not None:
            start = prev = shard
    return ",".join(parts)


_SHARD_PART = re.compile(r"([0-9]+)(?:-([0-9]+))?")


def _shard_ids(raw: str | None, count_raw: str | None,
               count: int | None) -> tuple[int, ...] | None:
    """SHARD_IDS: '0,1', '0-3' or a mix ('0-1,4'); each below SHARD_COUNT, which must be
    a number (each process of a sharded bot must agree on how many shards there are)."""
    if raw is None:
        return None
    if count_raw is None or count is None:
        raise ConfigError("SHARD_IDS needs SHARD_COUNT set to the total number of shards across "
                          "all processes (a number, not auto)")
    ids: set[int] = set()
    for part in raw.split(","):
        match = _SHARD_PART.fullmatch(part.strip())
        low, high = (int(match[1]), int(match[2] or match[1])) if match else (1, 0)
        if low > high:
            raise ConfigError(f"SHARD_IDS must be shard numbers or ranges separated by commas, "
                              f"e.g. 0,1 or 0-3, got {shown(raw)}")
        if high >= count:
            raise ConfigError(f"SHARD_IDS lists shard {high}, but with SHARD_COUNT={count} the "
                              f"shards are numbered 0 to {count - 1}")
        ids.update(range(low, high + 1))
    return tuple(sorted(ids))


def load_settings(dotenv_path: Path | None = None) -> Settings:
    """Read `.env` (if any) under the real environment, which wins, and parse the result.
    Without `dotenv_path`, `.env` in the current directory: where the operator runs the bot,
    not where the package happens to be installed."""
    path = dotenv_path if dotenv_path is not None else Path.cwd() / ".env"
    values: dict[str, str | None] = dict(dotenv_values(path)) if path.is_file() else {}
    values.update(os.environ)
    return parse_settings(values)


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)-8s %(name)s: %(message)s",
    )
    if settings.log_format == "json":
        # One JSON object per line, for log shippers (bot/core/logs.py).
        from bot.core.logs import JsonFormatter

        for handler in logging.getLogger().handlers:
            handler.setFormatter(JsonFormatter())
    quiet = max(logging.INFO, logging.getLevelName(settings.log_level))
    # discord.py's HTTP debug lines can include request headers; keep them out below DEBUG.
    logging.getLogger("discord.http").setLevel(quiet)
    # Its gateway debug lines print every event whole: what members type (a feed address an
    # owner adds, with its token) included.
    logging.getLogger("discord.gateway").setLevel(quiet)
    # aiosqlite logs every statement with its parameters at DEBUG: a feed's full address
    # (which may hold a token) among them, and a line per query.
    logging.getLogger("aiosqlite").setLevel(quiet)
