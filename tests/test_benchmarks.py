"""The benchmark suite itself works: every benchmark runs end to end on tiny sizes.

Only correctness figures are asserted (nothing lost, nothing doubled, every call answered);
never a time or a rate, which depend on the machine. `make bench` runs the real sizes.
"""

from benchmarks.figures import Figure, Section
from benchmarks.machine import describe
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
        if key != "baseline":  # every call is counted under the kind of input it was
            assert sum(kind["n"] for kind in case["by_kind"].values()) == TINY.calls, key
    assert set(cases["character"]["by_kind"]) == {"full name", "first name", "typo",
                                                  "half the name"}

    for name in ("fanout", "crash"):
        details = sections[name].details
        runs = details["runs"] if name == "fanout" else [details]
        for run in runs:
            assert run["lost"] == 0 and run["duplicates"] == 0, run
            assert run["delivered"] == run["channels"]
    assert sections["crash"].details["delivered_at_kill"] < sections["crash"].details["channels"]
    assert figure(sections["crash"], "exactly once").value == "yes"

    memory = sections["scale"].details["runs"][str(TINY.memory_guilds[0])]
    assert memory["ours"]["rss_mib"] > 0 and memory["baseline"]["rss_mib"] > 0

    machine = describe()
    data = results_json(list(sections.values()), TINY, "tiny", machine)
    assert data["errors"] == {}
    assert "| latency |" in markdown(list(sections.values()), machine, "tiny")
    assert "baseline" in text_table(list(sections.values()))
