"""Interactions that waited too long in the process to be answered in time are left alone
(bot/core/lateness.py): the rule on a clock of the test's, then the real bot through the
emulator, where a command, an autocomplete and a button press that waited are shed and counted,
and the next ones in time are answered as ever."""

from __future__ import annotations

import logging
import time

import discord
import pytest

from bot.core.lateness import Lateness
from emulator.errors import NoAnswer
from tests.conftest import Harness


def snowflake_at(seconds: float) -> int:
    """An id Discord would have made at `seconds` after the Unix epoch."""
    return (int(seconds * 1000) - discord.utils.DISCORD_EPOCH) << 22


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_delay_counts_against_the_least_delay_seen_lately() -> None:
    # The process's monotonic clock is nowhere near Discord's: only differences count.
    clock = Clock(500.0)
    lateness = Lateness(shed_after=2.5, window=60.0, clock=clock)
    created = 1_800_000_000.0
    assert lateness.waited(snowflake_at(created)) == 0.0  # the first sets the floor
    clock.now += 0.05
    assert not lateness.too_late(snowflake_at(created + 0.04))  # 10 ms more than the floor
    clock.now += 3.0
    assert lateness.too_late(snowflake_at(created + 0.1))  # waited about 2.95 s longer
    assert lateness.shed == 1
    # A faster answer lowers the floor: later delays are judged against it.
    clock.now += 0.01
    assert lateness.waited(snowflake_at(created + 3.5)) == pytest.approx(0.0, abs=0.002)
    assert not lateness.too_late(snowflake_at(created + 2.0))  # 1.56 s more: still in time


def test_a_slower_network_is_learnt_slowly_and_an_overload_never() -> None:
    clock = Clock(0.0)
    lateness = Lateness(shed_after=2.5, window=60.0, rise=0.05, clock=clock)
    base = 1_800_000_000.0
    lateness.waited(snowflake_at(base))  # the baseline: offset -base
    # Ten minutes of a steady 0.3 s more delay (a slower network): the baseline rises 0.05 s a
    # minute towards it, and nothing is shed meanwhile.
    waits = []
    for second in range(1, 601):
        clock.now = float(second)
        waits.append(lateness.waited(snowflake_at(base + second - 0.3)))
    assert waits[0] == pytest.approx(0.3, abs=0.002)
    assert waits[-1] == pytest.approx(0.0, abs=0.002)
    assert lateness.shed == 0


def test_an_hour_of_overload_keeps_shedding_what_waited_too_long() -> None:
    """Under an overload that lasts, the least wait of every minute is the queue's: taken for
    the network's delay, it would raise the bar a little more each minute until nothing was
    ever shed and nothing answered in time."""
    clock = Clock(0.0)
    lateness = Lateness(shed_after=2.5, window=60.0, clock=clock)
    base = 1_800_000_000.0
    lateness.waited(snowflake_at(base))
    shed_by_minute = []
    for minute in range(60):
        shed_before = lateness.shed
        for tenth in range(600):
            clock.now = 1.0 + minute * 60 + tenth / 10
            created = base + clock.now
            # Half wait 1 s in the queue (answered), half 3 s (too late): every minute.
            lateness.too_late(snowflake_at(created - (1.0 if tenth % 2 else 3.0)))
        shed_by_minute.append(lateness.shed - shed_before)
    assert shed_by_minute == [300] * 60


def test_after_a_long_idle_the_baseline_may_have_moved() -> None:
    clock = Clock(0.0)
    lateness = Lateness(shed_after=2.5, window=60.0, rise=0.05, clock=clock)
    base = 1_800_000_000.0
    assert not lateness.too_late(snowflake_at(base))
    # Ten hours without an interaction, and the clocks are now 4 s further apart than they
    # were (no NTP): allowed to have risen 0.05 s a minute, the baseline lets it be.
    clock.now = 10 * 3600.0
    assert not lateness.too_late(snowflake_at(base + clock.now - 4.0))
    assert lateness.shed == 0


def test_the_last_shed_of_a_burst_is_logged_too(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock(0.0)
    lateness = Lateness(clock=clock)
    base = 1_800_000_000.0
    lateness.waited(snowflake_at(base))
    with caplog.at_level(logging.WARNING, logger="bot.core.lateness"):
        for tenth in range(1, 31):  # 3 s of interactions that waited 3 s
            clock.now = tenth / 10
            assert lateness.too_late(snowflake_at(base + clock.now - 3.0))
        clock.now = 20.0  # the burst is over: the next interaction is in time
        assert not lateness.too_late(snowflake_at(base + clock.now))
    counts = [r.getMessage().split()[1] for r in caplog.records]
    assert counts == ["1", "29"]  # the first at once, the rest once the burst was over


async def test_what_waited_too_long_is_left_alone_and_the_rest_is_answered(
        harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    h, emu = harness, harness.emu
    behind = [0.0]  # seconds this process is behind, as if its loop were busy that long
    h.bot.lateness = Lateness(clock=lambda: time.monotonic() + behind[0])
    card = await emu.invoke("quote random", {"person": "Joe Locke"})
    assert card.errors == [] and card.embed is not None

    behind[0] = 4.0
    with caplog.at_level(logging.WARNING, logger="bot.core.lateness"):
        with pytest.raises(NoAnswer):
            await emu.invoke("about", timeout=0.5)
        with pytest.raises(NoAnswer):
            await emu.autocomplete("character", {"name": "ni"}, focused="name", timeout=0.5)
        with pytest.raises(NoAnswer):
            await emu.press(card, "Another", timeout=0.5)
    shed = emu.interactions[-3:]
    assert [r.type for r in shed] == [2, 4, 3]  # command, autocomplete, button
    # Nothing was even tried: no answer, no refusal from Discord.
    assert all(r.activity == 0 and r.errors == [] for r in shed)
    assert h.bot.lateness.shed == 3
    warnings = [r.getMessage() for r in caplog.records if r.name == "bot.core.lateness"]
    assert len(warnings) == 1 and "left 1 interactions unanswered" in warnings[0]
    assert h.bot.metrics.registry.get_sample_value(
        "heartstopper_interactions_total",
        {"command": "about", "kind": "command", "outcome": "shed"}) == 1
    assert h.bot.metrics.registry.get_sample_value(
        "heartstopper_interactions_total",
        {"command": "character", "kind": "autocomplete", "outcome": "shed"}) == 1
    for kind in ("application_command", "autocomplete", "component"):  # the press too
        assert h.bot.metrics.registry.get_sample_value(
            "heartstopper_interactions_shed_total", {"kind": kind}) == 1

    behind[0] = 0.0
    assert (await emu.invoke("about")).errors == []
    again = await emu.press(card, "Another")
    assert again.errors == [] and again.embed is not None
