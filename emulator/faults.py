"""Failures on demand, so the bot's handling of Discord's bad days can be tested.

A fault matches a method and a path template (`{anything}` matches one segment) plus optional
exact values for named segments (`channel_id=...`), and answers with the status and JSON code
Discord would send. It stays until `times` matches are used up (None: until cleared).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ApiError
from .ratelimit import too_many_requests

_DEFAULT_MESSAGES = {
    10003: "Unknown Channel",
    10004: "Unknown Guild",
    10008: "Unknown Message",
    10015: "Unknown Webhook",
    10062: "Unknown interaction",
    50001: "Missing Access",
    50007: "Cannot send messages to this user",
    50013: "Missing Permissions",
}


@dataclass
class Fault:
    method: str | None
    path: str | None
    status: int
    code: int = 0
    message: str | None = None
    times: int | None = None
    retry_after: float = 60.0
    scope: str = "user"
    params: dict[str, str] = field(default_factory=dict)
    hits: int = 0
    # The request takes effect and only the answer is the error (a 5xx or a cut connection
    # after Discord made the message): the client cannot tell whether it worked.
    after_effect: bool = False

    def matches(self, method: str, path: str, match_info: dict[str, str]) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        captured = dict(match_info)
        if self.path is not None:
            got = _match_template(self.path, path)
            if got is None:
                return False
            captured.update(got)
        return all(captured.get(k) == v for k, v in self.params.items())

    def error(self) -> ApiError:
        if self.status == 429:
            return too_many_requests(self.retry_after, is_global=False, scope=self.scope)
        message = self.message or _DEFAULT_MESSAGES.get(self.code) or f"{self.status} error"
        return ApiError(self.status, self.code, message)


def _match_template(template: str, path: str) -> dict[str, str] | None:
    t_parts = template.strip("/").split("/")
    p_parts = path.strip("/").split("/")
    if len(t_parts) != len(p_parts):
        return None
    captured: dict[str, str] = {}
    for t, p in zip(t_parts, p_parts, strict=True):
        if t.startswith("{") and t.endswith("}"):
            captured[t[1:-1]] = p
        elif t != p:
            return None
    return captured


class FaultSet:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.injected = 0

    def add(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int,
        code: int = 0,
        message: str | None = None,
        times: int | None = None,
        retry_after: float = 60.0,
        scope: str = "user",
        path_pattern: str | None = None,
        after_effect: bool = False,
        **params: object,
    ) -> Fault:
        """E.g. `add("POST", "/channels/{channel_id}/messages", channel_id=cid, status=403,
        code=50013)`. `path` is relative to /api/v10; `path_pattern` is an alias."""
        fault = Fault(
            method=method,
            path=path or path_pattern,
            status=status,
            code=code,
            message=message,
            times=times,
            retry_after=retry_after,
            scope=scope,
            params={k: str(v) for k, v in params.items()},
            after_effect=after_effect,
        )
        self._faults.append(fault)
        return fault

    # Shorthands for the failures a delivery engine must handle.
    def forbidden(self, channel_id: int, code: int = 50013, times: int | None = None) -> Fault:
        return self.add(
            "POST",
            "/channels/{channel_id}/messages",
            channel_id=channel_id,
            status=403,
            code=code,
            times=times,
        )

    def unknown_channel(self, channel_id: int, times: int | None = None) -> Fault:
        return self.add(None, None, channel_id=channel_id, status=404, code=10003, times=times)

    def server_error(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        status: int = 500,
        times: int | None = 1,
        after_effect: bool = False,
    ) -> Fault:
        return self.add(method, path, status=status, times=times, after_effect=after_effect)

    def rate_limited(
        self,
        method: str | None = None,
        path: str | None = None,
        *,
        retry_after: float = 3600.0,
        times: int | None = None,
        scope: str = "shared",
    ) -> Fault:
        return self.add(method, path, status=429, retry_after=retry_after, times=times, scope=scope)

    def remove(self, fault: Fault) -> None:
        self._faults.remove(fault)

    def clear(self) -> None:
        self._faults.clear()

    def __iter__(self):
        return iter(list(self._faults))

    def __len__(self) -> int:
        return len(self._faults)

    def check(self, method: str, path: str, match_info: dict[str, str]) -> ApiError | None:
        fault = self.take(method, path, match_info)
        return None if fault is None else fault.error()

    def take(self, method: str, path: str, match_info: dict[str, str]) -> Fault | None:
        """The first fault matching this request, counted as used."""
        for fault in self._faults:
            if fault.matches(method, path, match_info):
                fault.hits += 1
                self.injected += 1
                return fault
        return None
