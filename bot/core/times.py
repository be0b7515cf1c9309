"""The stored time format, which every repository uses."""

from __future__ import annotations

from datetime import UTC, datetime

_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp(moment: datetime) -> str:
    """The one stored time format: UTC, fixed width, so text order is time order."""
    if moment.tzinfo is None:
        raise ValueError("store times must be timezone-aware")
    return moment.astimezone(UTC).strftime(_TIME_FORMAT)


def parse_stamp(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    return datetime.strptime(raw, _TIME_FORMAT).replace(tzinfo=UTC)
