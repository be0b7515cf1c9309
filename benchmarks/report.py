"""The table printed at the end of a run, and the same as Markdown for the README."""

from __future__ import annotations

from typing import Any

from benchmarks.figures import Section

_MET = {True: "yes", False: "NO", None: ""}


def rows(sections: list[Section]) -> list[tuple[str, str, str, str, str]]:
    out = []
    for section in sections:
        if section.error:
            out.append((section.name, "(did not run)", section.error[:80], "", ""))
            continue
        for f in section.figures:
            out.append((section.name, f.name, f.shown(), f.target, _MET[f.met]))
    return out


def text_table(sections: list[Section]) -> str:
    header = ("benchmark", "figure", "value", "target", "met")
    body = rows(sections)
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(5)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(line.rstrip() for line in lines)


def markdown(sections: list[Section], machine: dict[str, Any], mode: str) -> str:
    lines = [
        f"Run `{mode}` on {machine['when']}: {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_mib']:,} MiB, Python {machine['python']}, discord.py "
        f"{machine['discord_py']}, SQLite {machine['sqlite']}, event loop "
        f"{machine.get('event_loop', 'asyncio')}.",
        "",
        "| Benchmark | Figure | Value | Target | Met |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {' | '.join(r)} |" for r in rows(sections)]
    return "\n".join(lines) + "\n"
