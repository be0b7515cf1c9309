"""Small pieces every repository needs: the stored time format and the source lookup."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.store.database import Database
from bot.store.models import Source

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


async def load_sources(database: Database) -> dict[str, Source]:
    """Every cited source by its seed key (a small table, read whole)."""
    rows = await database.fetch_all("SELECT seed_key, title, site, url FROM sources")
    return {r["seed_key"]: Source(r["seed_key"], r["title"], r["site"], r["url"]) for r in rows}
