"""The REST front door: recording, auth, faults, the global rate limit and spec validation,
applied in that order to every /api/v10 request before its handler runs.

Keeping these cross-cutting rules here means each route handler only implements the endpoint's
own behaviour, and a fault or 429 can hit any endpoint without the handler knowing.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .errors import ApiError, FormErrors, invalid_form_body, json_response
from .ratelimit import too_many_requests

if TYPE_CHECKING:
    from .server import Emulator

API_PREFIX = "/api/v10"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
JSON_BODY = web.RequestKey("emulator_json_body", object)
ATTACHMENTS = web.RequestKey("emulator_attachments", list)
TEMPLATE = web.RequestKey("emulator_route_template", str)
# Typed by annotation: the Emulator class cannot be imported here (it imports this module).
EMULATOR: web.AppKey[Emulator] = web.AppKey("emulator")


@dataclass
class RecordedRequest:
    method: str
    path: str  # relative to /api/v10, e.g. "/channels/123/messages"
    query: dict[str, str]
    json: Any
    time: float
    route: str | None = None  # the template, e.g. "/channels/{channel_id}/messages"
    status: int | None = None
    error_code: int | None = None


@dataclass
class RouteInfo:
    auth: bool = True  # needs "Authorization: Bot <token>"
    exempt: bool = False  # not counted against the global rate limit (interactions)
    # The handler calls validate() itself, after its 404/403 checks, as Discord orders them.
    validates: bool = False


class RouteTable:
    def __init__(self, app: web.Application) -> None:
        self.app = app
        self.info: dict[tuple[str, str], RouteInfo] = {}

    def add(
        self,
        method: str,
        template: str,
        handler: Handler,
        *,
        auth: bool = True,
        exempt: bool = False,
        validates: bool = False,
    ) -> None:
        self.app.router.add_route(method, API_PREFIX + template, handler)
        self.info[(method, template)] = RouteInfo(auth=auth, exempt=exempt, validates=validates)


async def read_body(request: web.Request, emu: Emulator) -> tuple[Any, list[dict[str, Any]]]:
    """JSON body (for multipart: its payload_json) and uploaded files as attachment payloads."""
    ctype = request.content_type
    if ctype == "multipart/form-data":
        form = await request.post()
        body = None
        attachments = []
        for key, value in form.items():
            if key == "payload_json":
                body = _parse_json(value.file.read().decode() if isinstance(value, web.FileField)
                                   else value if isinstance(value, str) else bytes(value).decode())
            elif isinstance(value, web.FileField):
                data = value.file.read()
                aid = str(emu.world.ids.next())
                url = f"{emu.base_url}/attachments/{aid}/{value.filename}"
                attachments.append(
                    {
                        "id": aid,
                        "filename": value.filename,
                        "size": len(data),
                        "url": url,
                        "proxy_url": url,
                        "content_type": value.content_type,
                    }
                )
        return body, attachments
    raw = await request.text()
    if not raw:
        return None, []
    return _parse_json(raw), []


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def make_middleware(emu: Emulator, table: RouteTable):
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(API_PREFIX + "/"):
            return await handler(request)
        path = request.path[len(API_PREFIX) :]
        resource = request.match_info.route.resource
        template = resource.canonical[len(API_PREFIX) :] if resource is not None else None
        info = table.info.get((request.method, template or ""))
        rec = RecordedRequest(
            request.method,
            path,
            dict(request.query),
            None,
            emu.clock.now(),
            route=template if info else None,
        )
        emu.requests.append(rec)
        emu.stats.requests += 1
        try:
            body, attachments = await read_body(request, emu)
            rec.json = body
            if info is None:
                emu.unknown_requests.append(rec)
                raise ApiError(404, 0, "404: Not Found")
            assert template is not None
            if info.auth and request.headers.get("Authorization") != f"Bot {emu.config.token}":
                raise ApiError(401, 0, "401: Unauthorized")
            fault = emu.faults.take(request.method, path, dict(request.match_info))
            if fault is not None and not fault.after_effect:
                emu.stats.faults_injected += 1
                raise fault.error()
            if info.auth and not info.exempt:
                retry = emu.global_limiter.hit(emu.config.token)
                if retry is not None:
                    emu.stats.rate_limited += 1
                    raise too_many_requests(retry, is_global=True, scope="global")
            request[JSON_BODY] = body
            request[ATTACHMENTS] = attachments
            request[TEMPLATE] = template
            if not info.validates:
                validate(request)
            response = await handler(request)
            if fault is not None:  # it took effect; the answer is lost
                emu.stats.faults_injected += 1
                raise fault.error()
        except ApiError as err:
            rec.error_code = err.code
            if err.code == 50035:
                emu.stats.invalid_form_bodies += 1
            emu.note_interaction_error(request.match_info, rec, err)
            response = err.response()
        rec.status = response.status
        return response

    return middleware


def validate(request: web.Request, own: FormErrors | dict[str, Any] | None = None) -> None:
    """Reject the body with 400/50035: first by the emulator's own Discord rules (`own`, with
    Discord's wording), then by the OpenAPI schema of the operation when the spec is loaded."""
    tree = own.tree if isinstance(own, FormErrors) else own
    if tree:
        raise invalid_form_body(tree)
    emu = request.app[EMULATOR]
    body = request.get(JSON_BODY)
    if emu.spec is None or body is None or request.method not in ("POST", "PUT", "PATCH"):
        return
    errors = emu.spec.validate(request.method, request[TEMPLATE], body)
    if errors:
        emu.stats.spec_rejections += 1
        raise invalid_form_body(errors)


def no_content() -> web.Response:
    return web.Response(status=204)


def ok(data: Any, status: int = 200) -> web.Response:
    return json_response(data, status)


def body_of(request: web.Request) -> dict[str, Any]:
    body = request.get(JSON_BODY)
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            errors={"_errors": [{"code": "MODEL_TYPE_CONVERT", "message": "Expected an object"}]},
        )
    return body


def snowflake_param(request: web.Request, name: str, unknown_code: int, what: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404, unknown_code, f"Unknown {what}") from None
