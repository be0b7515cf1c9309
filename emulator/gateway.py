"""The gateway websocket: HELLO, heartbeats, IDENTIFY/READY/GUILD_CREATE, RESUME, dispatch.

Sessions outlive their connection so a dropped bot can RESUME and receive every event it missed,
which is how discord.py recovers from network blips; tests use `drop()` to prove it does.
Frames are plain JSON text even though discord.py asks for zlib-stream: it parses text frames
as JSON, and skipping compression keeps the emulator simple.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from .server import Emulator

OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 7, 9, 10, 11

PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message_content
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
_BUFFER = 2000


@dataclass
class Session:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    ws: web.WebSocketResponse | None = None
    request: web.Request | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    invalidated: bool = False

    def owns(self, guild_id: int | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0  # DMs and app-level events go to shard 0
        return (guild_id >> 22) % self.shard_count == self.shard_id

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed


class Gateway:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.sessions: dict[str, Session] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._changed = asyncio.Condition()
        self.listeners: list[Callable[[str, dict[str, Any]], None]] = []

    # -- state ----------------------------------------------------------------------------------

    def active_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if not s.invalidated]

    @property
    def connected(self) -> bool:
        active = self.active_sessions()
        return bool(active) and all(s.connected for s in active)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_connected(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Until every active session is attached to a live socket (e.g. after a RESUME)."""

        async def _wait() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: self.connected)

        await asyncio.wait_for(_wait(), timeout)

    # -- sending --------------------------------------------------------------------------------

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any], *,
                    sending: Callable[[], None] | None = None) -> None:
        if ws.closed:
            return
        text = json.dumps(payload)
        if sending is not None:
            sending()
        with contextlib.suppress(ConnectionError, RuntimeError):
            await ws.send_str(text)

    async def _dispatch_to(self, session: Session, event: str, data: dict[str, Any], *,
                           sending: Callable[[], None] | None = None) -> None:
        async with session.lock:
            session.seq += 1
            payload = {"op": OP_DISPATCH, "t": event, "s": session.seq, "d": data}
            session.events.append((session.seq, payload))
            del session.events[:-_BUFFER]
            if session.ws is not None:
                await self._send(session.ws, payload, sending=sending)

    async def dispatch(
        self,
        event: str,
        data: dict[str, Any],
        *,
        guild_id: int | None = None,
        intent: int | None = None,
        sending: Callable[[], None] | None = None,
    ) -> int:
        """Send (or buffer for RESUME) an event to the shard owning `guild_id`; returns how many
        sessions got it. `sending` is called just before each frame is written to a socket;
        not for an event only buffered (no socket) or replayed later on RESUME."""
        for listener in self.listeners:
            listener(event, data)
        count = 0
        for session in self.active_sessions():
            if not session.owns(guild_id):
                continue
            if intent is not None and not session.intents & intent:
                continue
            await self._dispatch_to(session, event, data, sending=sending)
            count += 1
        return count

    # -- connection lifecycle -------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0, timeout=1.0)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.emu.stats.gateway_connections += 1
        session: Session | None = None
        try:
            cfg = self.emu.config
            await self._send(
                ws,
                {
                    "op": OP_HELLO,
                    "d": {"heartbeat_interval": cfg.heartbeat_interval_ms},
                    "s": None,
                    "t": None,
                },
            )
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    if msg.type == WSMsgType.BINARY:
                        await ws.close(code=4002, message=b"Error while decoding payload.")
                    continue
                try:
                    frame = json.loads(msg.data)
                    op = frame["op"]
                except (ValueError, KeyError, TypeError):
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                if op == OP_HEARTBEAT:
                    await self._send(ws, {"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
                elif op == OP_IDENTIFY:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session = await self._identify(ws, request, frame.get("d") or {})
                    if session is None:
                        break
                elif op == OP_RESUME:
                    if session is not None:
                        await ws.close(code=4005, message=b"Already authenticated.")
                        break
                    session = await self._resume(ws, request, frame.get("d") or {})
                    if session is None:
                        break
                elif session is None:
                    await ws.close(code=4003, message=b"Not authenticated.")
                    break
                # Presence updates, member requests, voice: accepted and ignored.
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
                session.request = None
                # A client closing with 1000/1001 ends its session, as on Discord.
                if ws.close_code in (1000, 1001):
                    session.invalidated = True
            await self._notify()
        return ws

    async def _identify(
        self, ws: web.WebSocketResponse, request: web.Request, d: dict[str, Any]
    ) -> Session | None:
        cfg = self.emu.config
        self.emu.stats.identifies += 1
        if d.get("token") != cfg.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(d.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~cfg.allowed_privileged_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard_id, shard_count = d.get("shard") or [0, 1]
        if not (isinstance(shard_count, int) and shard_count >= 1 and 0 <= shard_id < shard_count):
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        # A new IDENTIFY for the same shard replaces the old session (Discord invalidates it).
        for old in self.active_sessions():
            if old.shard_id == shard_id and old.shard_count == shard_count:
                old.invalidated = True
        session = Session(
            secrets.token_hex(16), shard_id, shard_count, intents, ws=ws, request=request
        )
        self.sessions[session.session_id] = session
        world = self.emu.world
        guilds = [g for g in world.guilds.values() if session.owns(g.id)]
        ready = {
            "v": 10,
            "user": world.me_payload(),
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "resume_gateway_url": self.emu.gateway_url,
            "session_type": "normal",
            "shard": [shard_id, shard_count],
            "application": {"id": str(cfg.application_id), "flags": cfg.application_flags},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "user_settings": {},
            "geo_ordered_rtc_regions": [],
            "guild_join_requests": [],
            "auth": {},
            "_trace": ["emulator"],
        }
        await self._dispatch_to(session, "READY", ready)
        for g in guilds:
            await self._dispatch_to(session, "GUILD_CREATE", world.guild_payload(g, full=True))
        await self._notify()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, request: web.Request, d: dict[str, Any]
    ) -> Session | None:
        self.emu.stats.resumes += 1
        session = self.sessions.get(str(d.get("session_id")))
        if d.get("token") != self.emu.config.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        if session is None or session.invalidated:
            await self._send(ws, {"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return None
        last = int(d.get("seq") or 0)
        async with session.lock:
            if session.ws is not None and session.ws is not ws:
                with contextlib.suppress(Exception):
                    await session.ws.close(code=4000)
            session.ws = ws
            session.request = request
            for seq, payload in session.events:
                if seq > last:
                    await self._send(ws, payload)
            session.seq += 1
            resumed = {
                "op": OP_DISPATCH,
                "t": "RESUMED",
                "s": session.seq,
                "d": {"_trace": ["emulator"]},
            }
            session.events.append((session.seq, resumed))
            await self._send(ws, resumed)
        await self._notify()
        return session

    async def drop(self, *, code: int | None = None, shard_id: int | None = None) -> int:
        """Cut live connections. `code=None` aborts the TCP connection without a close frame
        (a network failure); a code such as 4000 sends a close frame. Sessions stay resumable."""
        dropped = 0
        for session in self.active_sessions():
            if shard_id is not None and session.shard_id != shard_id:
                continue
            ws, request = session.ws, session.request
            if ws is None:
                continue
            session.ws = None
            session.request = None
            dropped += 1
            if code is None and request is not None and request.transport is not None:
                request.transport.abort()
            else:
                with contextlib.suppress(Exception):
                    await ws.close(code=code or 4000, message=b"Dropped by emulator")
        await self._notify()
        return dropped

    async def request_reconnect(self) -> None:
        for session in self.active_sessions():
            if session.ws is not None:
                await self._send(session.ws, {"op": OP_RECONNECT, "d": None, "s": None, "t": None})

    async def invalidate(self, *, resumable: bool = False) -> None:
        for session in self.active_sessions():
            if session.ws is not None:
                await self._send(
                    session.ws, {"op": OP_INVALID_SESSION, "d": resumable, "s": None, "t": None}
                )
            if not resumable:
                session.invalidated = True

    async def close_all(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=1001, message=b"Emulator shutting down")
        self._sockets.clear()
