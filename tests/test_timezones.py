"""Time zones for the quote of the day: abbreviations and fixed offsets (which would not follow
daylight saving) are refused with the places' zones to pick instead; city and country names are
read as their zone. Unit checks on bot/quotes/schedule.py, then end to end."""

from __future__ import annotations

import pytest

from bot.core.errors import UserFacingError
from bot.quotes.schedule import find_zone, zone_choices, zones_at_offset
from tests.conftest import Harness


@pytest.mark.parametrize(("typed", "zone"), [
    ("london", "Europe/London"), ("LONDON", "Europe/London"), ("new york", "America/New_York"),
    ("New_York", "America/New_York"), ("são paulo", "America/Sao_Paulo"),
    ("buenos aires", "America/Argentina/Buenos_Aires"), ("uk", "Europe/London"),
    ("Europe/London", "Europe/London"), ("europe/london", "Europe/London"), ("UTC", "UTC"),
    ("tokyo", "Asia/Tokyo"),
])
def test_cities_countries_and_zone_names_are_accepted(typed: str, zone: str) -> None:
    assert find_zone(typed).key == zone


@pytest.mark.parametrize(("typed", "suggested"), [
    ("EST", "`America/New_York`"), ("est", "`America/New_York`"), ("PST", "`America/Los_Angeles`"),
    ("CET", "`Europe/Paris`"), ("BST", "`Europe/London`"), ("GMT", "`Europe/London`"),
    ("EST5EDT", "`America/New_York`"), ("MST", "`America/Denver`"),
    ("UTC+1", "`Europe/Paris`"), ("GMT-5", "`America/New_York`"),
    ("Etc/GMT+5", "`America/New_York`"),  # POSIX signs: five hours behind
    ("+05:30", "`Asia/Kolkata`"),
])
def test_abbreviations_and_fixed_offsets_are_refused_with_places(typed: str,
                                                                 suggested: str) -> None:
    with pytest.raises(UserFacingError) as caught:
        find_zone(typed)
    message = str(caught.value)
    assert "daylight saving" in message and suggested in message


def test_unknown_zones_suggest_near_spellings() -> None:
    with pytest.raises(UserFacingError, match="Did you mean `Europe/London`"):
        find_zone("lodnon")
    with pytest.raises(UserFacingError, match="I don't know the time zone 'Mars/Base'"):
        find_zone("Mars/Base")


def test_suggestions_lead_with_the_places_an_abbreviation_means() -> None:
    assert zone_choices("EST")[:2] == ["America/New_York", "America/Toronto"]
    assert "EST" not in zone_choices("EST")
    assert zone_choices("london") == ["Europe/London"]
    assert zone_choices("new york") == ["America/New_York"]
    assert zone_choices("sao") == ["Africa/Sao_Tome", "America/Sao_Paulo"]
    assert zone_choices("uk")[0] == "Europe/London"
    # An offset: where it is standard time first (Paris), then summer time (London).
    at_one = zones_at_offset(60)
    assert at_one.index("Europe/Paris") < at_one.index("Europe/London")


async def test_daily_set_refuses_est_and_accepts_a_city(harness: Harness) -> None:
    emu = harness.emu
    options = {"channel": "general", "time": "09:00"}
    est = await emu.invoke("quote daily set", {**options, "timezone": "EST"}, user="moderator")
    assert est.ephemeral and "`EST` is an abbreviation, not a place" in est.content
    assert "`America/New_York`" in est.content
    assert await harness.store.quotes.daily(harness.guild_id) is None  # nothing was set
    offset = await emu.invoke("quote daily set", {**options, "timezone": "UTC-5"},
                              user="moderator")
    assert "is a fixed offset, not a place" in offset.content
    city = await emu.invoke("quote daily set", {**options, "timezone": "new york"},
                            user="moderator")
    assert "every day at 09:00 America/New_York" in city.content
    schedule = await harness.store.quotes.daily(harness.guild_id)
    assert schedule is not None and schedule.timezone == "America/New_York"
    choices = await emu.autocomplete("quote daily set", {"timezone": "EST"},
                                     focused="timezone", user="moderator")
    assert [c["value"] for c in choices][:2] == ["America/New_York", "America/Toronto"]
    london = await emu.autocomplete("quote daily set", {"timezone": "london"},
                                    focused="timezone", user="moderator")
    assert london == [{"name": "Europe/London", "value": "Europe/London"}]
