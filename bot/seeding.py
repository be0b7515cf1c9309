"""Reads and validates the human-editable seed files in `data/`.

Every record is checked before anything is written, so a typo in one file never leaves the database
half-seeded. Errors name the file and the entry (`data/characters.json: characters[3] 'tao-xu':
...`) because the people who edit these files are fans, not programmers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

SEED_FILES = (
    "sources.json",
    "people.json",
    "characters.json",
    "quotes.json",
    "seasons.json",
    "news.json",
    "awards.json",
)
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_FULL_DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$")
ROLES = ("student", "staff", "family", "other")
PERSON_ROLES = ("creator", "cast")
MAX_QUOTE_LENGTH = 1000


T = TypeVar("T")


class SeedError(ValueError):
    """A seed file or entry is invalid; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class SeedSource:
    key: str
    title: str
    site: str | None
    url: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class SeedPerson:
    key: str
    name: str
    roles: tuple[str, ...]
    description: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedCharacter:
    key: str
    name: str
    aliases: tuple[str, ...]
    actor: str | None
    seasons: tuple[int, ...]
    in_film: bool
    description: str | None
    arcs: dict[int, str]
    school: str | None
    school_detail: str | None
    role: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedQuote:
    key: str
    text: str
    speaker: str
    outlet: str | None
    date: str | None
    season: int | None
    about: tuple[str, ...]
    context: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedSeason:
    number: int
    title: str
    status: str
    release_date: str | None
    episode_count: int | None
    episodes: tuple[str, ...]
    new_cast: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedFilm:
    key: str
    title: str
    status: str
    release_year: int | None
    release_date: str | None
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedNews:
    key: str
    title: str
    body: str
    url: str | None
    season: int | None
    published: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedAward:
    key: str
    year: int
    award: str
    result: str
    people: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedData:
    sources: tuple[SeedSource, ...]
    people: tuple[SeedPerson, ...]
    characters: tuple[SeedCharacter, ...]
    quotes: tuple[SeedQuote, ...]
    seasons: tuple[SeedSeason, ...]
    films: tuple[SeedFilm, ...]
    news: tuple[SeedNews, ...]
    awards: tuple[SeedAward, ...]


class _Entry:
    """One JSON object under validation; every failure names where it is."""

    def __init__(self, where: str, raw: Any) -> None:
        self.where = where
        if not isinstance(raw, dict):
            self.fail("must be a JSON object")
        self.raw: dict[str, Any] = raw

    def fail(self, message: str) -> None:
        raise SeedError(f"{self.where}: {message}")

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.raw or self.raw[name] is None:
            if required:
                self.fail(f"'{name}' is required")
            return None
        return self.raw[name]

    def text(self, name: str, *, required: bool = True, max_length: int | None = None
             ) -> str | None:
        value = self._get(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.fail(f"'{name}' must be non-empty text")
        if max_length is not None and len(value) > max_length:
            self.fail(f"'{name}' is {len(value)} characters; the limit is {max_length}")
        return value.strip()

    def key(self, name: str = "key") -> str:
        value = self.text(name)
        assert value is not None
        if not _KEY.match(value):
            self.fail(f"'{name}' must be lowercase letters, digits and dashes, got {value!r}")
        return value

    def integer(self, name: str, *, required: bool = True, minimum: int = 1) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"'{name}' must be a whole number of at least {minimum}, got {value!r}")
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"'{name}' must be true or false, got {value!r}")
        return value

    def date(self, name: str, pattern: re.Pattern[str], shape: str, *, required: bool = True
             ) -> str | None:
        value = self.text(name, required=required)
        if value is not None and not pattern.match(value):
            self.fail(f"'{name}' must be {shape}, got {value!r}")
        return value

    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value not in allowed:
            self.fail(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}")
        assert value is not None
        return value

    def text_list(self, name: str, *, required: bool = False, non_empty: bool = False
                  ) -> tuple[str, ...]:
        value = self._get(name, required)
        if value is None:
            value = []
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.fail(f"'{name}' must be a list of non-empty texts")
        if non_empty and not value:
            self.fail(f"'{name}' must name at least one entry")
        return tuple(v.strip() for v in value)

    def int_list(self, name: str) -> tuple[int, ...]:
        value = self._get(name, True)
        def season_number(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v > 0

        if not isinstance(value, list) or not value or not all(map(season_number, value)):
            self.fail(f"'{name}' must be a non-empty list of season numbers, like [1, 2]")
        return tuple(sorted(set(value)))

    def refs(self, name: str, known: set[str], what: str, *, non_empty: bool = False
             ) -> tuple[str, ...]:
        values = self.text_list(name, non_empty=non_empty)
        for value in values:
            if value not in known:
                self.fail(f"'{name}' names unknown {what} {value!r}")
        return values

    def ref(self, name: str, known: set[str], what: str, *, required: bool = True) -> str | None:
        value = self.text(name, required=required)
        if value is not None and value not in known:
            self.fail(f"'{name}' names unknown {what} {value!r}")
        return value


def _read(seed_dir: Path, filename: str, top: str) -> list[Any]:
    path = seed_dir / filename
    label = f"data/{filename}" if seed_dir.name == "data" else str(path)
    try:
        document = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise SeedError(f"{label}: file is missing") from None
    except json.JSONDecodeError as exc:
        raise SeedError(f"{label}: not valid JSON (line {exc.lineno}, column {exc.colno}: "
                        f"{exc.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get(top), list):
        raise SeedError(f"{label}: must be an object with a list under {top!r}")
    return document[top]


def _entries(seed_dir: Path, filename: str, top: str, build: Callable[[_Entry], T],
                key_of: Callable[[T], object]) -> tuple[T, ...]:
    label = f"data/{filename}" if seed_dir.name == "data" else str(seed_dir / filename)
    records: list[T] = []
    seen: set[object] = set()
    for index, raw in enumerate(_read(seed_dir, filename, top)):
        name = raw.get("key") or raw.get("number") if isinstance(raw, dict) else None
        where = f"{label}: {top}[{index}]" + (f" {name!r}" if name else "")
        record = build(_Entry(where, raw))
        key = key_of(record)
        if key in seen:
            raise SeedError(f"{where}: duplicate key {key!r}")
        seen.add(key)
        records.append(record)
    return tuple(records)


def load_seed(seed_dir: Path) -> SeedData:
    """Parse and cross-check every seed file; raise SeedError on the first bad entry."""
    sources = _entries(seed_dir, "sources.json", "sources", lambda e: SeedSource(
        key=e.key(), title=e.text("title"), site=e.text("site", required=False),
        url=e.text("url", required=False), note=e.text("note", required=False),
    ), lambda r: r.key)
    source_keys = {s.key for s in sources}

    def cited(e: _Entry) -> tuple[str, ...]:
        return e.refs("sources", source_keys, "source", non_empty=True)

    people = _entries(seed_dir, "people.json", "people", lambda e: SeedPerson(
        key=e.key(), name=e.text("name"),
        roles=tuple(_check_roles(e)), description=e.text("description", required=False),
        sources=cited(e),
    ), lambda r: r.key)
    person_keys = {p.key for p in people}

    characters = _entries(seed_dir, "characters.json", "characters", lambda e: SeedCharacter(
        key=e.key(), name=e.text("name", max_length=100), aliases=e.text_list("aliases"),
        actor=e.ref("actor", person_keys, "person", required=False),
        seasons=e.int_list("seasons"), in_film=e.boolean("in_film"),
        description=e.text("description", required=False, max_length=1000),
        arcs=_arcs(e), school=e.text("school", required=False),
        school_detail=e.text("school_detail", required=False),
        role=e.choice("role", ROLES), sources=cited(e),
    ), lambda r: r.key)
    character_keys = {c.key for c in characters}

    quotes = _entries(seed_dir, "quotes.json", "quotes", lambda e: SeedQuote(
        key=e.key(), text=e.text("text", max_length=MAX_QUOTE_LENGTH),
        speaker=e.ref("speaker", person_keys, "person"),
        # Null where the source names no outlet or date: better blank than guessed.
        outlet=e.text("outlet", required=False),
        date=e.date("date", _MONTH, "a month like 2022-04", required=False),
        season=e.integer("season", required=False),
        about=e.refs("about", character_keys, "character"),
        context=e.text("context", required=False), sources=cited(e),
    ), lambda r: r.key)

    seasons = _entries(seed_dir, "seasons.json", "seasons", lambda e: SeedSeason(
        number=e.integer("number"), title=e.text("title"), status=e.text("status"),
        release_date=e.date("release_date", _FULL_DATE, "a date like 2022-04-22", required=False),
        episode_count=e.integer("episode_count", required=False),
        episodes=e.text_list("episodes"), new_cast=e.refs("new_cast", person_keys, "person"),
        sources=cited(e),
    ), lambda r: r.number)

    films = _films(seed_dir, source_keys)

    news = _entries(seed_dir, "news.json", "news", lambda e: SeedNews(
        key=e.key(), title=e.text("title", max_length=256), body=e.text("body"),
        url=e.text("url", required=False), season=e.integer("season", required=False),
        published=e.date("published", _PARTIAL_DATE, "a date like 2022-05-20, 2022-05 or 2022"),
        sources=cited(e),
    ), lambda r: r.key)

    awards = _entries(seed_dir, "awards.json", "awards", lambda e: SeedAward(
        key=e.key(), year=e.integer("year", minimum=1900), award=e.text("award"),
        result=e.text("result"), people=e.refs("people", person_keys, "person"),
        sources=cited(e),
    ), lambda r: r.key)

    return SeedData(sources, people, characters, quotes, seasons, films, news, awards)


def _check_roles(e: _Entry) -> list[str]:
    roles = list(e.text_list("roles", required=True, non_empty=True))
    for role in roles:
        if role not in PERSON_ROLES:
            e.fail(f"'roles' may hold only {', '.join(PERSON_ROLES)}, got {role!r}")
    return roles


def _arcs(e: _Entry) -> dict[int, str]:
    raw = e.raw.get("arcs") or {}
    if not isinstance(raw, dict):
        e.fail("'arcs' must be an object mapping a season number to text")
    arcs: dict[int, str] = {}
    for season, text in raw.items():
        if not str(season).isdigit() or not isinstance(text, str) or not text.strip():
            e.fail(f"'arcs' entry {season!r} must map a season number to non-empty text")
        arcs[int(season)] = text.strip()
    return arcs


def _films(seed_dir: Path, source_keys: set[str]) -> tuple[SeedFilm, ...]:
    path = seed_dir / "seasons.json"
    raw = json.loads(path.read_text("utf-8")).get("film")
    if raw is None:
        return ()
    e = _Entry("data/seasons.json: film", raw)
    title = e.text("title")
    key = e.raw.get("key") or re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")
    return (SeedFilm(
        key=key, title=title, status=e.text("status"),
        release_year=e.integer("release_year", required=False, minimum=1900),
        release_date=e.date("release_date", _FULL_DATE, "a date like 2026-01-01", required=False),
        sources=e.refs("sources", source_keys, "source", non_empty=True),
    ),)
