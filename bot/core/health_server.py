"""Health and metrics over HTTP (`METRICS_PORT`, off by default): an aiohttp server on the bot's
own event loop, started in setup_hook and stopped with the bot.

`GET /healthz` answers 200 "ok" when the bot can do its work, otherwise 503 with one reason a
line:
- the gateway: the client is not closed, is ready, and every shard's connection is open;
- the store: a write probe (BEGIN IMMEDIATE, then COMMIT of nothing) on the bot's own writer
  connection, which needs SQLite's write lock and the bot's own write turn, so a lock held
  elsewhere or a failing connection shows; it writes no pages, so a full disk shows through
  the news engine instead: outcomes it could not write and keeps retrying. The probe runs at
  most once a second however often the endpoint is asked.

`GET /metrics` is Prometheus's text format from the bot's own registry (bot/core/metrics.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.core.database import StoreUnavailable

if TYPE_CHECKING:
    from bot.client import HeartstopperBot

log = logging.getLogger(__name__)

PROBE_EVERY = 1.0  # seconds a write probe's answer is reused
PROBE_TIMEOUT = 2.0  # the writer waits at most 1 s for its turn; SQLite's busy wait is short


class HealthServer:
    def __init__(self, bot: HeartstopperBot, host: str, port: int) -> None:
        self.bot = bot
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self._probe: tuple[float, str | None] | None = None  # (loop time, failure or None)
        self._probe_lock = asyncio.Lock()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("health and metrics on http://%s:%d (/healthz, /metrics)", self.host,
                 self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # ---- /healthz -----------------------------------------------------------------------------

    async def problems(self) -> list[str]:
        problems = self._gateway_problems()
        problems += await self._store_problems()
        return problems

    def _gateway_problems(self) -> list[str]:
        bot = self.bot
        if bot.is_closed():
            return ["gateway: closed"]
        if getattr(bot, "stopping", False):
            return ["gateway: the bot is stopping"]
        if not bot.is_ready():
            return ["gateway: not ready yet (connecting or resuming)"]
        shards = getattr(bot, "shards", None)
        if shards is not None:  # AutoShardedClient
            closed = sorted(i for i, shard in shards.items() if shard.is_closed())
            return [f"gateway: shard {i} is disconnected" for i in closed]
        ws = bot.ws
        if ws is None or not ws.open:
            return ["gateway: disconnected"]
        return []

    async def _store_problems(self) -> list[str]:
        problems = []
        failure = await self._write_probe()
        if failure is not None:
            problems.append(f"database: refuses writes ({failure})")
        engine = self.bot.news_engine
        if engine is not None:
            health = engine.health()
            if health.unrecorded:
                error = health.last_store_error
                why = f" ({error.kind}: {error.detail})" if error is not None else ""
                problems.append(f"database: {health.unrecorded} news delivery outcomes wait to "
                                f"be written{why}")
        return problems

    async def _write_probe(self) -> str | None:
        loop = asyncio.get_running_loop()
        async with self._probe_lock:
            if self._probe is not None and loop.time() - self._probe[0] < PROBE_EVERY:
                return self._probe[1]
            failure: str | None = None
            try:
                async with asyncio.timeout(PROBE_TIMEOUT):
                    async with self.bot.store.database.transaction():
                        pass
            except TimeoutError:
                failure = f"no write turn within {PROBE_TIMEOUT:g} s"
            except StoreUnavailable as exc:
                failure = f"{exc.kind}: {exc.detail}"
            except Exception as exc:
                failure = str(exc) or type(exc).__name__
            self._probe = (loop.time(), failure)
            return failure

    async def _healthz(self, request: web.Request) -> web.Response:
        problems = await self.problems()
        if problems:
            return web.Response(status=503, text="\n".join(problems) + "\n")
        return web.Response(text="ok\n")

    # ---- /metrics -----------------------------------------------------------------------------

    async def _metrics(self, request: web.Request) -> web.Response:
        body = await self.bot.metrics.exposition(self.bot)
        response = web.Response(body=body)
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response
