"""What the bot counts, for Prometheus (`GET /metrics`, see health_server.py).

Every metric lives in a `CollectorRegistry` the bot owns (never prometheus_client's global one),
so several bots in one process (the tests) keep their own numbers. Counters and the histogram
move as things happen; what the database knows (deliveries by state, the outbox) and what
discord.py knows (latency, servers) is read when /metrics is scraped.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING

import aiohttp
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    import discord

    from bot.client import HeartstopperBot

# Interactions are answered within Discord's 3 s deadline, most within a few milliseconds.
INTERACTION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class BotMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.interactions = Counter(
            "heartstopper_interactions", "Slash commands and autocompletes handled, by command "
            "and outcome (ok, refused: a user-facing refusal or a failed check, error: a bug, "
            "expired: answered after Discord's deadline, shed: left unanswered, having waited too "
            "long in this process to be answered in time)",
            ["command", "kind", "outcome"], registry=r)
        self.interaction_seconds = Histogram(
            "heartstopper_interaction_seconds", "Time from the interaction reaching the command "
            "tree to its handler returning", ["kind"], buckets=INTERACTION_BUCKETS, registry=r)
        self._interaction_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}
        self.interactions_shed = Counter(
            "heartstopper_interactions_shed", "Interactions left unanswered because they waited "
            "too long in this process to be answered within Discord's 3 s (bot/core/lateness.py),"
            " by kind (application_command, autocomplete, component)", ["kind"], registry=r)
        self.news_deliveries = Gauge(
            "heartstopper_news_deliveries", "News deliveries in the database, by state",
            ["state"], registry=r)
        self.outbox_depth = Gauge(
            "heartstopper_news_outbox_depth",
            "News deliveries not finished yet (waiting, paused or in flight)", registry=r)
        self.oldest_pending = Gauge(
            "heartstopper_news_oldest_pending_seconds",
            "Age of the oldest unfinished news delivery (0 when there is none)", registry=r)
        self.news_unrecorded = Gauge(
            "heartstopper_news_unrecorded_outcomes", "Delivery outcomes the database refused "
            "and the engine keeps in memory, writing them again until they land", registry=r)
        self.rate_limited = Counter(
            "heartstopper_discord_rate_limited", "HTTP 429 answers received from Discord, by "
            "scope (global, user, shared)", ["scope"], registry=r)
        self.feed_fetches = Counter(
            "heartstopper_feed_fetches", "Feed fetches by result (ingested, not_modified, "
            "failed, disabled)", ["result"], registry=r)
        self.gateway_latency = Gauge(
            "heartstopper_gateway_latency_seconds", "Gateway heartbeat latency per shard",
            ["shard"], registry=r)
        self.guilds = Gauge("heartstopper_guilds", "Servers the bot is in", registry=r)
        self.backup_last_time = Gauge(
            "heartstopper_backup_last_timestamp_seconds",
            "When the last automatic backup was made or tried (Unix time; 0: none yet)",
            registry=r)
        self.backup_last_ok = Gauge(
            "heartstopper_backup_last_ok",
            "1 if the last automatic backup was written and checked, 0 if it failed or none was "
            "made yet", registry=r)
        self.backups = Gauge(
            "heartstopper_backups", "Automatic backups since start, by result (ok, failed)",
            ["result"], registry=r)
        self.store_writes_failed = Gauge(
            "heartstopper_store_write_failures",
            "Writes the database refused since start (busy, full, I/O)", registry=r)

    # ---- as things happen -------------------------------------------------------------------

    def interaction_done(self, command: str, kind: str, outcome: str, seconds: float) -> None:
        # Every interaction passes here: each label set's counter and histogram are looked up
        # once (prometheus_client's labels() takes a lock and checks its arguments each time).
        key = (command, kind, outcome)
        children = self._interaction_children.get(key)
        if children is None:
            children = (self.interactions.labels(command=command, kind=kind, outcome=outcome),
                        self.interaction_seconds.labels(kind=kind))
            self._interaction_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def interaction_shed(self, kind: str) -> None:
        self.interactions_shed.labels(kind=kind).inc()

    def feed_fetched(self, result: str) -> None:
        self.feed_fetches.labels(result=result).inc()

    def http_trace(self) -> aiohttp.TraceConfig:
        """For discord.py's HTTP client (`http_trace=`): counts every 429 it receives, whether
        discord.py then waits and retries by itself or raises RateLimited."""
        trace = aiohttp.TraceConfig()

        async def on_request_end(session: aiohttp.ClientSession, context: SimpleNamespace,
                                 params: aiohttp.TraceRequestEndParams) -> None:
            if params.response.status == 429:
                headers = params.response.headers
                scope = headers.get("X-RateLimit-Scope") or (
                    "global" if headers.get("X-RateLimit-Global") else "unknown")
                self.rate_limited.labels(scope=scope.lower()).inc()

        trace.on_request_end.append(on_request_end)
        return trace

    # ---- read at scrape time ----------------------------------------------------------------

    async def refresh(self, bot: HeartstopperBot) -> None:
        status = await bot.store.news.status()
        for state, count in status.deliveries.items():
            self.news_deliveries.labels(state=state).set(count)
        self.outbox_depth.set(await bot.store.news.open_deliveries())
        self.oldest_pending.set(_age(bot.clock(), status.oldest_open_at))
        engine = bot.news_engine
        self.news_unrecorded.set(0 if engine is None else engine.health().unrecorded)
        self.store_writes_failed.set(bot.store.database.write_failures)
        self.gateway_latency.clear()
        for shard_id, latency in _latencies(bot):
            if latency == latency and latency != float("inf"):  # NaN/inf before a heartbeat
                self.gateway_latency.labels(shard=str(shard_id)).set(latency)
        self.guilds.set(len(bot.guilds))
        backups = bot.backups
        last = backups.last if backups is not None else None
        self.backup_last_time.set(0 if last is None else last.at.timestamp())
        self.backup_last_ok.set(1 if last is not None and last.ok else 0)
        self.backups.labels(result="ok").set(backups.made if backups is not None else 0)
        self.backups.labels(result="failed").set(backups.failed if backups is not None else 0)

    async def exposition(self, bot: HeartstopperBot) -> bytes:
        await self.refresh(bot)
        return generate_latest(self.registry)


def _age(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max((now - since).total_seconds(), 0.0)


def _latencies(bot: discord.Client) -> list[tuple[int, float]]:
    latencies = getattr(bot, "latencies", None)  # AutoShardedClient: one per shard
    if latencies is not None:
        return list(latencies)
    return [(bot.shard_id or 0, bot.latency)]
