"""Reads and validates the human-editable seed files in `data/`.

Every record is checked before anything is written, so a typo in one file never leaves the database
half-seeded. Errors name the file and the entry (`data/characters.json: characters[3] 'tao-xu':
...`) because the people who edit these files are fans, not programmers.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn, ParamSpec, TypeVar, cast, overload

from bot.canon.parts import FILM_PART

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
PERSON_ROLES = ("creator", "cast", "director", "executive producer")
MAX_QUOTE_LENGTH = 1000


T = TypeVar("T")
P = ParamSpec("P")


class SeedError(ValueError):
    """The seed files hold mistakes: `problems` names each one with its file and entry (every
    mistake found, not only the first), or the seed folder itself is unusable."""

    def __init__(self, problems: str | Sequence[str]) -> None:
        self.problems: tuple[str, ...] = (
            (problems,) if isinstance(problems, str) else tuple(problems))
        super().__init__(self.problems[0] if len(self.problems) == 1 else (
            f"{len(self.problems)} mistakes in the seed files:\n"
            + "\n".join(f"  {problem}" for problem in self.problems)))


class _Invalid(Exception):
    """A value failed its check; the problem is already recorded."""


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
    episode: int | None = None  # within `season`


@dataclass(frozen=True, slots=True)
class SeedEpisode:
    number: int
    title: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedSeason:
    number: int
    title: str
    status: str
    release_date: str | None
    episode_count: int | None
    episodes: tuple[SeedEpisode, ...]
    new_cast: tuple[str, ...]
    sources: tuple[str, ...]

    @property
    def episode_titles(self) -> tuple[str, ...]:
        return tuple(e.title for e in self.episodes)


@dataclass(frozen=True, slots=True)
class SeedFilmFact:
    text: str
    sources: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SeedFilm:
    key: str
    title: str
    status: str
    release_year: int | None
    release_date: str | None
    sources: tuple[str, ...]
    known: tuple[SeedFilmFact, ...] = ()


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


def _field(check: Callable[P, T]) -> Callable[P, T]:
    """A field's check records its problem and gives None, so every other field of the entry is
    still checked (and reported) too. Its type is the check's, for a passing check: a failed one
    leaves the entry with failures, and `_Loader.entries` drops the record built from it, so that
    None is never kept."""

    @functools.wraps(check)
    def checked(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return check(*args, **kwargs)
        except _Invalid:
            return cast(T, None)  # a failed check's value: dropped with its entry (see above)

    return checked


class _Entry:
    """One JSON object under validation; every problem names where it is. The checks record
    problems and go on (the entry is then left out), so one run reports every mistake."""

    def __init__(self, where: str, raw: Any, problems: list[str]) -> None:
        self.where = where
        self.problems = problems
        self.failures = 0
        self.raw: dict[str, Any] = raw if isinstance(raw, dict) else {}
        if not isinstance(raw, dict):
            self.fail("must be a JSON object")

    def note(self, message: str) -> None:
        self.problems.append(f"{self.where}: {message}")
        self.failures += 1

    def fail(self, message: str) -> NoReturn:
        self.note(message)
        raise _Invalid

    def _get(self, name: str, required: bool) -> Any:
        if name not in self.raw or self.raw[name] is None:
            if required:
                self.fail(f"'{name}' is required")
            return None
        return self.raw[name]

    @overload
    def text(self, name: str, *, required: Literal[True] = ..., max_length: int | None = ...
             ) -> str: ...
    @overload
    def text(self, name: str, *, required: bool, max_length: int | None = ...) -> str | None: ...
    @_field
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

    @_field
    def key(self, name: str = "key") -> str:
        value = self.text(name)
        if value is not None and not _KEY.match(value):
            self.fail(f"'{name}' must be lowercase letters, digits and dashes, got {value!r}")
        return value

    @overload
    def integer(self, name: str, *, required: Literal[True] = ..., minimum: int = ...) -> int: ...
    @overload
    def integer(self, name: str, *, required: bool, minimum: int = ...) -> int | None: ...
    @_field
    def integer(self, name: str, *, required: bool = True, minimum: int = 1) -> int | None:
        value = self._get(name, required)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.fail(f"'{name}' must be a whole number of at least {minimum}, got {value!r}")
        return value

    @_field
    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(f"'{name}' must be true or false, got {value!r}")
        return value

    @overload
    def date(self, name: str, pattern: re.Pattern[str], shape: str, *,
             required: Literal[True] = ...) -> str: ...
    @overload
    def date(self, name: str, pattern: re.Pattern[str], shape: str, *, required: bool
             ) -> str | None: ...
    @_field
    def date(self, name: str, pattern: re.Pattern[str], shape: str, *, required: bool = True
             ) -> str | None:
        value = self.text(name, required=required)
        if value is not None and not pattern.match(value):
            self.fail(f"'{name}' must be {shape}, got {value!r}")
        return value

    @_field
    def choice(self, name: str, allowed: tuple[str, ...]) -> str:
        value = self.text(name)
        if value is not None and value not in allowed:
            self.fail(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}")
        return value

    @_field
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

    @_field
    def int_list(self, name: str) -> tuple[int, ...]:
        value = self._get(name, True)
        def season_number(v: object) -> bool:
            return isinstance(v, int) and not isinstance(v, bool) and v > 0

        if not isinstance(value, list) or not value or not all(map(season_number, value)):
            self.fail(f"'{name}' must be a non-empty list of season numbers, like [1, 2]")
        return tuple(sorted(set(value)))

    @_field
    def refs(self, name: str, known: set[str] | None, what: str, *, non_empty: bool = False
             ) -> tuple[str, ...]:
        """`known` is None when the file that defines them could not be read: nothing to
        check against (and its own problem is already reported)."""
        values = self.text_list(name, non_empty=non_empty)
        for value in values or ():
            if known is not None and value not in known:
                self.note(f"'{name}' names unknown {what} {value!r}")
        return values

    @overload
    def ref(self, name: str, known: set[str] | None, what: str, *,
            required: Literal[True] = ...) -> str: ...
    @overload
    def ref(self, name: str, known: set[str] | None, what: str, *, required: bool
            ) -> str | None: ...
    @_field
    def ref(self, name: str, known: set[str] | None, what: str, *, required: bool = True
            ) -> str | None:
        value = self.text(name, required=required)
        if value is not None and known is not None and value not in known:
            self.fail(f"'{name}' names unknown {what} {value!r}")
        return value


class _Loader:
    """Reads the seed files of one folder, collecting every problem instead of stopping at the
    first, so `db seed` can name them all in one run."""

    def __init__(self, seed_dir: Path) -> None:
        self.seed_dir = seed_dir
        self.problems: list[str] = []
        self._documents: dict[str, dict[str, Any] | None] = {}

    def label(self, filename: str) -> str:
        return (f"data/{filename}" if self.seed_dir.name == "data"
                else str(self.seed_dir / filename))

    def document(self, filename: str) -> dict[str, Any] | None:
        """The file's JSON object, read once; None (with the problem recorded) if unusable."""
        if filename not in self._documents:
            self._documents[filename] = self._read(filename)
        return self._documents[filename]

    def _read(self, filename: str) -> dict[str, Any] | None:
        label = self.label(filename)
        try:
            data = (self.seed_dir / filename).read_bytes()
        except FileNotFoundError:
            self._problem(f"{label}: file is missing")
            return None
        except IsADirectoryError:
            self._problem(f"{label}: is a folder, not a file")
            return None
        except PermissionError:
            self._problem(f"{label}: cannot be read (permission denied). Let this user "
                          "read it.")
            return None
        except OSError as exc:
            self._problem(f"{label}: cannot be read ({exc.strerror or exc})")
            return None
        try:
            text = data.decode("utf-8-sig")  # a byte-order mark, as some editors write, is fine
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            self._problem(f"{label}: line {line} is not UTF-8 text. Save the file as "
                          "UTF-8 (your editor's 'save with encoding').")
            return None
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            self._problem(f"{label}: not valid JSON (line {exc.lineno}, column "
                          f"{exc.colno}: {exc.msg})")
            return None
        except RecursionError:
            self._problem(f"{label}: not valid JSON (nested too deeply)")
            return None
        if not isinstance(document, dict):
            self._problem(f"{label}: must be a JSON object, like {{\"...\": [...]}}")
            return None
        return document

    def _problem(self, message: str) -> None:
        self.problems.append(message)

    def entries(self, filename: str, top: str, build: Callable[[_Entry], T],
                key_of: Callable[[T], object]) -> tuple[tuple[T, ...], set[Any] | None]:
        """The valid records, and the keys other files may refer to (None when the file could
        not be read at all: references to it are then not checked, rather than each reported
        as unknown)."""
        document = self.document(filename)
        if document is None:
            return (), None
        raw_entries = document.get(top)
        if not isinstance(raw_entries, list):
            self.problems.append(f"{self.label(filename)}: must be an object with a list under "
                                 f"{top!r}")
            return (), None
        records: list[T] = []
        keys: set[Any] = set()
        seen: set[object] = set()
        for index, raw in enumerate(raw_entries):
            name = raw.get("key") or raw.get("number") if isinstance(raw, dict) else None
            where = f"{self.label(filename)}: {top}[{index}]" + (f" {name!r}" if name else "")
            if isinstance(name, str | int) and not isinstance(name, bool):
                # Known even when the entry has mistakes, so each is reported once, here,
                # not again wherever another file refers to it.
                keys.add(name)
            try:
                entry = _Entry(where, raw, self.problems)
                record = build(entry)
            except _Invalid:
                continue
            if entry.failures:
                continue
            key = key_of(record)
            if key in seen:
                self.problems.append(f"{where}: duplicate key {key!r}")
                continue
            seen.add(key)
            records.append(record)
        return tuple(records), keys


def _check_seed_dir(seed_dir: Path) -> None:
    try:
        if not seed_dir.exists():
            raise SeedError(f"the seed folder {seed_dir} does not exist. Point SEED_DIR at the "
                            "folder holding sources.json, people.json and the other seed files, "
                            "or unset it to use the ones that came with the bot.")
        if not seed_dir.is_dir():
            raise SeedError(f"the seed folder {seed_dir} is a file, not a folder. Point SEED_DIR "
                            "at the folder holding sources.json, people.json and the other seed "
                            "files, or unset it to use the ones that came with the bot.")
    except OSError as exc:
        raise SeedError(f"cannot look at the seed folder {seed_dir} "
                        f"({exc.strerror or exc}). Let this user open it.") from None


def load_seed(seed_dir: Path) -> SeedData:
    """Parse and cross-check every seed file; raise SeedError naming every mistake found."""
    _check_seed_dir(seed_dir)
    files = _Loader(seed_dir)
    sources, source_keys = files.entries("sources.json", "sources", lambda e: SeedSource(
        key=e.key(), title=e.text("title"), site=e.text("site", required=False),
        url=e.text("url", required=False), note=e.text("note", required=False),
    ), lambda r: r.key)

    def cited(e: _Entry) -> tuple[str, ...]:
        return e.refs("sources", source_keys, "source", non_empty=True)

    people, person_keys = files.entries("people.json", "people", lambda e: SeedPerson(
        key=e.key(), name=e.text("name"),
        roles=_check_roles(e), description=e.text("description", required=False),
        sources=cited(e),
    ), lambda r: r.key)

    characters, character_keys = files.entries(
        "characters.json", "characters", lambda e: _character(e, person_keys, cited),
        lambda r: r.key)

    quotes, _ = files.entries("quotes.json", "quotes", lambda e: SeedQuote(
        key=e.key(), text=e.text("text", max_length=MAX_QUOTE_LENGTH),
        speaker=e.ref("speaker", person_keys, "person"),
        # Null where the source names no outlet or date: better blank than guessed.
        outlet=e.text("outlet", required=False),
        date=e.date("date", _MONTH, "a month like 2022-04", required=False),
        season=_part(e, "season"), episode=e.integer("episode", required=False),
        about=e.refs("about", character_keys, "character"),
        context=e.text("context", required=False), sources=cited(e),
    ), lambda r: r.key)

    seasons, _ = files.entries("seasons.json", "seasons", lambda e: SeedSeason(
        number=_season_number(e), title=e.text("title"), status=e.text("status"),
        release_date=e.date("release_date", _FULL_DATE, "a date like 2022-04-22", required=False),
        episode_count=e.integer("episode_count", required=False),
        episodes=_episodes(e, source_keys),
        new_cast=e.refs("new_cast", person_keys, "person"),
        sources=cited(e),
    ), lambda r: r.number)
    _check_quote_episodes(files, quotes, seasons)

    films = _films(files, source_keys)

    news, _ = files.entries("news.json", "news", lambda e: SeedNews(
        key=e.key(), title=e.text("title", max_length=256), body=e.text("body"),
        url=e.text("url", required=False), season=e.integer("season", required=False),
        published=e.date("published", _PARTIAL_DATE, "a date like 2022-05-20, 2022-05 or 2022"),
        sources=cited(e),
    ), lambda r: r.key)

    awards, _ = files.entries("awards.json", "awards", lambda e: SeedAward(
        key=e.key(), year=e.integer("year", minimum=1900), award=e.text("award"),
        result=e.text("result"), people=e.refs("people", person_keys, "person"),
        sources=cited(e),
    ), lambda r: r.key)

    if files.problems:
        raise SeedError(files.problems)
    return SeedData(sources, people, characters, quotes, seasons, films, news, awards)


def _season_number(e: _Entry) -> int:
    number = e.integer("number")
    if number is not None and number >= FILM_PART:
        e.fail(f"'number' {number} is where the film comes in the watching order; seasons are "
               f"numbered below {FILM_PART} (the film's place is FILM_PART in "
               "bot/canon/parts.py)")
    return number


def _character(e: _Entry, person_keys: set[str] | None,
               cited: Callable[[_Entry], tuple[str, ...]]) -> SeedCharacter:
    # `editor_note` is for the people who edit the seed (why a field says what it says): it is
    # checked like any text but never stored, so no card can show it to fans.
    e.text("editor_note", required=False)
    return SeedCharacter(
        key=e.key(), name=e.text("name", max_length=100), aliases=e.text_list("aliases"),
        actor=e.ref("actor", person_keys, "person", required=False),
        seasons=e.int_list("seasons"), in_film=e.boolean("in_film"),
        description=e.text("description", required=False, max_length=1000),
        arcs=_arcs(e), school=e.text("school", required=False),
        school_detail=e.text("school_detail", required=False),
        role=e.choice("role", ROLES), sources=cited(e),
    )


def _part(e: _Entry, name: str) -> int | None:
    """A season number, or the film's place after the last season (FILM_PART)."""
    value = e.integer(name, required=False)
    if value is not None and value > FILM_PART:
        e.note(f"'{name}' must be a season number, or {FILM_PART} for the film, got {value!r}")
    return value


def _episodes(e: _Entry, source_keys: set[str] | None) -> tuple[SeedEpisode, ...]:
    """A season's episodes: objects with `number`, `title` and `sources`, or (the older form)
    plain titles in order, which cite the season's own sources (checked with the season)."""
    raw = e.raw.get("episodes") or []
    own = e.raw.get("sources")
    season_sources = tuple(k for k in own if isinstance(k, str)) if isinstance(own, list) else ()
    if not isinstance(raw, list):
        e.note("'episodes' must be a list of episodes")
        return ()
    episodes: list[SeedEpisode] = []
    for index, item in enumerate(raw):
        where = f"{e.where}: episodes[{index}]"
        if isinstance(item, str) and item.strip():
            episodes.append(SeedEpisode(index + 1, item.strip(), season_sources))
            continue
        try:
            entry = _Entry(where, item, e.problems)
        except _Invalid:
            e.failures += 1
            continue
        episode = SeedEpisode(
            number=entry.integer("number"), title=entry.text("title", max_length=100),
            sources=entry.refs("sources", source_keys, "source", non_empty=True),
        )
        if entry.failures:
            e.failures += entry.failures
            continue
        episodes.append(episode)
    numbers = [ep.number for ep in episodes]
    if len(set(numbers)) != len(numbers):
        e.note("'episodes' numbers the same episode twice")
    count = e.raw.get("episode_count")
    if isinstance(count, int) and len(episodes) > count:
        e.note(f"'episodes' lists {len(episodes)} episodes but 'episode_count' is {count}")
    return tuple(sorted(episodes, key=lambda ep: ep.number))


def _check_quote_episodes(files: _Loader, quotes: Sequence[SeedQuote],
                          seasons: Sequence[SeedSeason]) -> None:
    """A quote's `episode` must be one of the episodes listed for its season."""
    listed = {(s.number, ep.number) for s in seasons for ep in s.episodes}
    known_seasons = {s.number for s in seasons}
    for q in quotes:
        if q.episode is None:
            continue
        where = f"{files.label('quotes.json')}: quote {q.key!r}"
        if q.season is None or q.season not in known_seasons:
            files.problems.append(f"{where}: 'episode' needs the 'season' it belongs to")
        elif (q.season, q.episode) not in listed:
            files.problems.append(f"{where}: season {q.season} has no episode {q.episode} in "
                                  "seasons.json")


def _check_roles(e: _Entry) -> tuple[str, ...]:
    roles = e.text_list("roles", required=True, non_empty=True)
    for role in roles or ():
        if role not in PERSON_ROLES:
            e.note(f"'roles' may hold only {', '.join(PERSON_ROLES)}, got {role!r}")
    return roles


def _arcs(e: _Entry) -> dict[int, str]:
    raw = e.raw.get("arcs") or {}
    if not isinstance(raw, dict):
        e.note("'arcs' must be an object mapping a season number to text")
        return {}
    arcs: dict[int, str] = {}
    for season, text in raw.items():
        if not str(season).isdigit() or not isinstance(text, str) or not text.strip():
            e.note(f"'arcs' entry {season!r} must map a season number to non-empty text")
            continue
        arcs[int(season)] = text.strip()
    return arcs


def _films(files: _Loader, source_keys: set[str] | None) -> tuple[SeedFilm, ...]:
    document = files.document("seasons.json")
    raw = document.get("film") if document is not None else None
    if raw is None:
        return ()
    try:
        e = _Entry(f"{files.label('seasons.json')}: film", raw, files.problems)
    except _Invalid:
        return ()
    title = e.text("title")
    key = e.raw.get("key") or re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")
    film = SeedFilm(
        key=key, title=title, status=e.text("status"),
        release_year=e.integer("release_year", required=False, minimum=1900),
        release_date=e.date("release_date", _FULL_DATE, "a date like 2026-01-01", required=False),
        sources=e.refs("sources", source_keys, "source", non_empty=True),
        known=_film_facts(e, source_keys),
    )
    return () if e.failures else (film,)


def _film_facts(e: _Entry, source_keys: set[str] | None) -> tuple[SeedFilmFact, ...]:
    raw = e.raw.get("known") or []
    if not isinstance(raw, list):
        e.note("'known' must be a list of facts, each with 'text' and 'sources'")
        return ()
    facts: list[SeedFilmFact] = []
    for index, item in enumerate(raw):
        try:
            entry = _Entry(f"{e.where}: known[{index}]", item, e.problems)
        except _Invalid:
            e.failures += 1
            continue
        fact = SeedFilmFact(text=entry.text("text", max_length=400),
                            sources=entry.refs("sources", source_keys, "source", non_empty=True))
        if entry.failures:
            e.failures += entry.failures
            continue
        facts.append(fact)
    return tuple(facts)
