"""The stored time format, which every repository uses."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import overload

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(moment: datetime) -> str:
    """The one stored time format: UTC, fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


@overload
def parse_stamp(raw: str) -> datetime: ...
@overload
def parse_stamp(raw: None) -> None: ...
@overload
def parse_stamp(raw: str | None) -> datetime | None: ...
def parse_stamp(raw: str | None) -> datetime | None:
    """A stored time back as an aware UTC datetime; only the one format is accepted."""
    if raw is None:
        return None
    return datetime.strptime(raw, _TIME_FORMAT).replace(tzinfo=UTC)
