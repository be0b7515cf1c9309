"""Wiring an already-constructed discord.py client to an emulator, for pytest fixtures and the
terminal playground alike.

discord.py reads its endpoints from two process-wide class attributes (Route.BASE and
DiscordWebSocket.DEFAULT_GATEWAY); they are pointed at the emulator only inside these context
managers and restored on exit, so nothing leaks into other tests.

Construct the client with a small `guild_ready_timeout` (e.g. 0.05): discord.py waits that
long after the last GUILD_CREATE before it is ready (default 2 s). For AutoShardedClient also
override `before_identify_hook` to skip its 5 s pause between shards.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

import discord
import discord.gateway
import discord.http
import yarl

from .config import EmulatorConfig
from .server import Emulator

ClientT = TypeVar("ClientT", bound=discord.Client)


@contextlib.contextmanager
def pointed_at(emu: Emulator) -> Iterator[None]:
    """Point discord.py's REST base and default gateway at the emulator, then restore them."""
    route, ws = discord.http.Route, discord.gateway.DiscordWebSocket
    old_base, old_gateway = route.BASE, ws.DEFAULT_GATEWAY
    route.BASE = emu.api_base
    ws.DEFAULT_GATEWAY = yarl.URL(emu.gateway_url)
    try:
        yield
    finally:
        route.BASE = old_base
        ws.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_emulator(config: EmulatorConfig | None = None) -> AsyncIterator[Emulator]:
    """Start an emulator and point discord.py at it."""
    async with Emulator(config) as emu:
        with pointed_at(emu):
            yield emu


async def start_client(
    client: discord.Client, emu: Emulator, *, token: str | None = None, ready_timeout: float = 5.0
) -> asyncio.Task[None]:
    """Log in, connect in a background task, and return once the client is ready. Login or
    gateway failures (bad token: LoginFailure; 4004/4014 closes) are raised here rather than
    surfacing later as a timeout."""
    await client.login(token if token is not None else emu.config.token)
    task = asyncio.create_task(client.connect(reconnect=True), name="emulated-discord-client")
    ready = asyncio.create_task(client.wait_until_ready())
    try:
        done, _ = await asyncio.wait(
            {task, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        ready.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ready
    if task in done:
        await client.close()
        task.result()  # re-raise the connection error
        raise RuntimeError("the client stopped before it became ready")
    if not done:
        await stop_client(client, task)
        raise TimeoutError(
            f"client not ready within {ready_timeout}s (guild_ready_timeout too large?)"
        )
    return task


async def stop_client(client: discord.Client, task: asyncio.Task[None] | None) -> None:
    await client.close()
    if task is not None:
        # asyncio.wait, not wait_for: on 3.11 wait_for can swallow a cancellation aimed at us.
        done, _ = await asyncio.wait({task}, timeout=2.0)
        if not done:
            task.cancel()
        elif not task.cancelled():
            exc = task.exception()
            if exc is not None and not isinstance(
                exc, discord.ConnectionClosed | discord.GatewayNotFound | OSError
            ):
                raise exc


@contextlib.asynccontextmanager
async def connected_client(
    client: ClientT, emu: Emulator, *, token: str | None = None, ready_timeout: float = 5.0
) -> AsyncIterator[ClientT]:
    """Run `client` against a running (and pointed-at) emulator until the block exits."""
    task = await start_client(client, emu, token=token, ready_timeout=ready_timeout)
    try:
        yield client
    finally:
        await stop_client(client, task)


@contextlib.asynccontextmanager
async def emulated(
    client: ClientT, config: EmulatorConfig | None = None, *, ready_timeout: float = 5.0
) -> AsyncIterator[tuple[Emulator, ClientT]]:
    """Everything at once: emulator up, discord.py pointed at it, client ready; all undone on
    exit (client closed first so it does not try to reconnect)."""
    async with (
        running_emulator(config) as emu,
        connected_client(client, emu, ready_timeout=ready_timeout),
    ):
        yield emu, client
