"""The benchmark suite itself works: every benchmark runs end to end on tiny sizes.

Only correctness figures are asserted (nothing lost, nothing doubled, every call answered);
never a time or a rate, which depend on the machine. `make bench` runs the real sizes.
"""

import math
import random

from benchmarks.burst import Inputs, Layout, Mix, burst_world, capacity, next_refinement, subscribed
from benchmarks.figures import Figure, Section, percentile, ratio_interval
from benchmarks.machine import describe, one_line
from benchmarks.report import markdown, text_table
from benchmarks.run import BENCHMARKS, TINY, results_json, run_all


def figure(section: Section, words: str) -> Figure:
    matches = [f for f in section.figures if words in f.name]
    assert matches, f"no figure {words!r} in {[f.name for f in section.figures]}"
    return matches[0]


async def test_every_benchmark_runs_on_tiny_sizes() -> None:
    sections = {s.name: s for s in await run_all(TINY, list(BENCHMARKS), echo=False)}
    assert {name: s.error for name, s in sections.items() if s.error} == {}

    latency = sections["latency"]
    cases = latency.details["cases"]
    assert {"baseline", "character", "character_autocomplete"} <= set(cases)
    for key, case in cases.items():
        assert case["failures"] == 0, (key, case["failure_examples"])
        assert case["n"] == TINY.calls
        assert case["min_ms"] > 0, key  # the dispatch is stamped before the bot can answer
        if key != "baseline":  # every call is counted under the kind of input it was
            assert sum(kind["n"] for kind in case["by_kind"].values()) == TINY.calls, key
    assert set(cases["character"]["by_kind"]) == {"full name", "first name", "typo",
                                                  "half the name"}
    low, high = cases["character"]["p99_ratio_interval"]
    assert low <= high
    assert figure(latency, "/character p99 / baseline p99, 95% interval").value == (
        f"{low:.2f}-{high:.2f}")

    for name in ("fanout", "crash"):
        details = sections[name].details
        runs = details["runs"] if name == "fanout" else [details]
        for run in runs:
            assert run["lost"] == 0 and run["duplicates"] == 0, run
            assert run["delivered"] == run["channels"]
    assert sections["crash"].details["delivered_at_kill"] < sections["crash"].details["channels"]
    assert figure(sections["crash"], "exactly once").value == "yes"

    burst = sections["burst"].details
    assert set(burst["steps"]) == {"bot", "no-op bot"}
    for name, steps in burst["steps"].items():
        assert steps, name
        for step in steps:  # every interaction sent is accounted for, and none failed
            assert step["failures"] == 0, (name, step["failure_examples"])
            assert step["answered"] + step["late"] == step["dispatched"], (name, step)
            assert step["dispatched"] > 0 and len(step["cpu"]["bot_percent"]) == 1
    assert sum(s["answered"] for s in burst["steps"]["bot"]) > 0
    fanout = burst["fanout"]["fanout"]
    assert fanout["lost"] == 0 and fanout["duplicates"] == 0
    assert fanout["delivered"] == fanout["channels"] == TINY.burst_guilds * (
        TINY.burst_channels_per_guild)
    assert burst["fanout"]["with_fanout"]["failures"] == 0
    # Both bots said which loop they ran on: the same one, the one the machine line names.
    loop = describe()["event_loop"].split()[0]
    assert burst["event_loops"] == {"bot": [loop], "no-op bot": [loop]}

    memory = sections["scale"].details["runs"][str(TINY.memory_guilds[0])]
    assert memory["ours"]["rss_mib"] > 0 and memory["baseline"]["rss_mib"] > 0

    machine = describe()
    # The figures say which loop the bots ran on (EVENT_LOOP's default picks it).
    assert machine["event_loop"].split()[0] in {"uvloop", "asyncio"}
    assert f"event loop {machine['event_loop']}" in one_line(machine)
    data = results_json(list(sections.values()), TINY, "tiny", machine)
    assert data["errors"] == {}
    table = markdown(list(sections.values()), machine, "tiny")
    assert "| latency |" in table and f"event loop {machine['event_loop']}." in table
    assert "baseline" in text_table(list(sections.values()))


def test_ratio_interval_brackets_the_ratio_and_shrinks_with_steadier_samples() -> None:
    rng = random.Random(3)
    base = [rng.expovariate(1.0) for _ in range(2000)]
    noisy = [1.5 * rng.expovariate(1.0) for _ in range(2000)]
    low, high = ratio_interval(noisy, base)
    assert low < percentile(noisy, 99) / percentile(base, 99) < high
    assert ratio_interval([3.0] * 500, [2.0] * 500) == (1.5, 1.5)  # no spread, no doubt
    steady = [1.5 * (1 + rng.random() / 10) for _ in range(2000)]
    flat_base = [1 + rng.random() / 10 for _ in range(2000)]
    steady_low, steady_high = ratio_interval(steady, flat_base)
    assert steady_high - steady_low < (high - low) / 5
    assert all(math.isnan(x) for x in ratio_interval([], base))


def test_burst_capacity_is_the_highest_rate_that_holds_below_the_first_failure() -> None:
    steps = [{"rate": r, "holds": h} for r, h in
             [(25, True), (50, True), (100, False), (200, True), (75, True)]]
    assert capacity(steps) == 75  # 200 held by chance above a failure: not capacity
    assert capacity([{"rate": 25, "holds": False}]) == 0
    assert capacity([{"rate": 25, "holds": True}, {"rate": 50, "holds": True}]) == 50


def test_burst_refinement_bisects_until_the_gap_is_narrow() -> None:
    def steps(*pairs: tuple[float, bool]) -> list[dict[str, object]]:
        return [{"rate": r, "holds": h} for r, h in pairs]

    assert next_refinement(steps((400, True), (800, True))) is None  # nothing failed yet
    assert next_refinement(steps((25, False))) is None  # nothing held to refine from
    assert next_refinement(steps((400, True), (800, False))) == 600
    assert next_refinement(steps((400, True), (800, False), (600, True))) == 700
    assert next_refinement(steps((400, True), (800, False), (600, False))) == 500
    # 700 held, 800 failed: within REFINE_WITHIN, the search is done.
    assert next_refinement(steps((400, True), (800, False), (600, True), (700, True))) is None
    # A pass above a failure is noise, not a floor: the gap is 400 to 600.
    assert next_refinement(steps((400, True), (800, False), (600, False), (700, True))) == 500


def test_burst_mix_offers_the_rate_asked_in_open_loop() -> None:
    config, fans = burst_world(Layout(guilds=3, channels_per_guild=2, fans_per_guild=4))
    assert len(fans) == 12 and len({f.user.id for f in fans}) == 12
    assert len(subscribed(config)) == 6  # each server's first channel is where fans talk
    mix = Mix(Inputs(names=["Nick Nelson", "Charlie Spring"], speakers=["Alice Oseman"],
                     words=[f"w{i}" for i in range(5000)], seasons=[1, 2, 3]), fans)
    arrivals = mix.schedule(rate=200, seconds=30)
    assert abs(len(arrivals) / 30 - 200) < 200 * 0.1
    times = [a[0] for a in arrivals]
    assert times == sorted(times) and times[0] >= 0 and times[-1] < 32
    kinds = {a[1] for a in arrivals}
    assert kinds == {"quote random", "quote random (filters)", "another", "quote search",
                     "news latest", "season", "character", "character autocomplete"}
