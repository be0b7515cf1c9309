"""A local HTTP server for the feed tests: serves the fixtures in tests/fixtures/feeds/ and
misbehaves on request (errors, hangs, redirect loops, endless bodies), recording every request.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestServer

FIXTURES = Path(__file__).parent / "fixtures" / "feeds"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rss(items: list[dict[str, str]], *, title: str = "Generated Feed") -> bytes:
    """An RSS 2.0 document; each item's keys become elements (guid, link, title, ...)."""
    parts = []
    for item in items:
        inner = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{inner}</item>")
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://gen.example.org/</link>{''.join(parts)}</channel></rss>").encode()


@dataclass
class Route:
    kind: str  # 'feed', 'status', 'hang', 'redirect', 'stream'
    body: bytes = b""
    content_type: str = "application/rss+xml"
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    target: str = ""
    size: int = 0
    declare_length: bool = False


@dataclass
class Seen:
    path: str
    headers: dict[str, str]


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[Seen] = []
        self.streams_finished: dict[str, bool] = {}
        self._release = asyncio.Event()
        self._server: TestServer | None = None

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_route("GET", "/{path:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._release.set()
        assert self._server is not None
        await self._server.close()

    def url(self, path: str) -> str:
        assert self._server is not None
        return str(self._server.make_url(path))

    def hits(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.path == path]

    # ---- what each path does ------------------------------------------------------------

    def serve(self, path: str, body: bytes, *, content_type: str = "application/rss+xml",
              etag: str | None = None, last_modified: str | None = None) -> None:
        self.routes[path] = Route("feed", body, content_type, etag, last_modified)

    def status(self, path: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.routes[path] = Route("status", status=status, headers=headers or {})

    def hang(self, path: str) -> None:
        self.routes[path] = Route("hang")

    def redirect(self, path: str, target: str) -> None:
        self.routes[path] = Route("redirect", target=target)

    def stream(self, path: str, size: int, *, declare_length: bool = False) -> None:
        self.routes[path] = Route("stream", size=size, declare_length=declare_length)

    # ---- serving ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.requests.append(Seen(path, dict(request.headers)))
        route = self.routes.get(path)
        if route is None:
            return web.Response(status=404)
        if route.kind == "status":
            return web.Response(status=route.status, headers=route.headers, text="error")
        if route.kind == "hang":
            await self._release.wait()
            return web.Response(status=503)
        if route.kind == "redirect":
            raise web.HTTPFound(route.target)
        if route.kind == "stream":
            return await self._stream(request, route)
        if route.etag and request.headers.get("If-None-Match") == route.etag:
            return web.Response(status=304)
        if route.last_modified and request.headers.get("If-Modified-Since") == (
                route.last_modified):
            return web.Response(status=304)
        headers = {"Content-Type": route.content_type}
        if route.etag:
            headers["ETag"] = route.etag
        if route.last_modified:
            headers["Last-Modified"] = route.last_modified
        return web.Response(body=route.body, headers=headers)

    async def _stream(self, request: web.Request, route: Route) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        if route.declare_length:
            response.content_length = route.size
        self.streams_finished[request.path] = False
        await response.prepare(request)
        chunk = b"<!-- " + b"x" * (64 * 1024 - 9) + b" -->"
        sent = 0
        with contextlib.suppress(ConnectionError, RuntimeError):
            while sent < route.size:
                await response.write(chunk)
                sent += len(chunk)
            await response.write_eof()
            self.streams_finished[request.path] = True
        return response
