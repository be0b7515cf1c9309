"""The canon feature's records: plain dataclasses its store returns."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    title: str
    site: str | None = None
    url: str | None = None

    @property
    def label(self) -> str:
        return self.site or self.title


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    key: str | None
    name: str
    roles: tuple[str, ...] = ()
    description: str | None = None
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Character:
    id: int
    key: str | None
    name: str
    aliases: tuple[str, ...]
    actor: Person | None
    seasons: tuple[int, ...]
    in_film: bool
    description: str | None
    arcs: dict[int, str] = field(default_factory=dict)
    school: str | None = None
    school_detail: str | None = None
    role: str = "other"
    sources: tuple[Source, ...] = ()

    @property
    def first_season(self) -> int | None:
        return min(self.seasons) if self.seasons else None


@dataclass(frozen=True, slots=True)
class Episode:
    season: int
    number: int
    title: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Season:
    number: int
    title: str
    status: str
    release_date: str | None
    episode_count: int | None
    episodes: tuple[str, ...]  # the titles, in order
    new_cast: tuple[Person, ...]
    sources: tuple[Source, ...] = ()
    episode_list: tuple[Episode, ...] = ()  # the same episodes, each with its sources


@dataclass(frozen=True, slots=True)
class FilmFact:
    """One thing known about the film, in our own words, with where it comes from."""

    text: str
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class Film:
    key: str
    title: str
    status: str
    release_year: int | None
    release_date: str | None
    sources: tuple[Source, ...] = ()
    known: tuple[FilmFact, ...] = ()


@dataclass(frozen=True, slots=True)
class Award:
    key: str
    year: int
    award: str
    result: str
    people: tuple[Person, ...]
    sources: tuple[Source, ...] = ()


@dataclass(frozen=True, slots=True)
class StoreStats:
    schema_version: int
    sources: int
    people: int
    characters: int
    quotes_canon: int
    quotes_attributed: int
    quotes_approved: int
    quotes_pending: int
    news_items: int
    seasons: int
    films: int
    awards: int
    episodes: int = 0
    film_facts: int = 0
    quotes_with_episode: int = 0

    def as_rows(self) -> list[tuple[str, int]]:
        return [
            ("schema version", self.schema_version),
            ("sources", self.sources),
            ("people", self.people),
            ("characters", self.characters),
            ("quotes (canon)", self.quotes_canon),
            ("quotes with speaker and outlet", self.quotes_attributed),
            ("quotes (approved submissions)", self.quotes_approved),
            ("quotes (pending review)", self.quotes_pending),
            ("news items", self.news_items),
            ("seasons", self.seasons),
            ("episodes", self.episodes),
            ("films", self.films),
            ("facts about the film", self.film_facts),
            ("awards", self.awards),
            ("quotes about one episode", self.quotes_with_episode),
        ]
