"""What a benchmark reports: named figures, each with its unit and, where the issue sets one,
the target it is held to."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Figure:
    name: str
    value: float | int | str | None
    unit: str = ""
    target: str = ""  # human-readable, e.g. "<= 1.5x baseline p99"
    met: bool | None = None  # None: no target, or not measurable in this run

    def shown(self) -> str:
        v = self.value
        if v is None:
            return "n/a"
        if isinstance(v, float):
            if math.isnan(v):
                return "n/a"
            text = f"{v:,.2f}" if abs(v) < 100 else f"{v:,.1f}" if abs(v) < 1000 else f"{v:,.0f}"
        elif isinstance(v, int):
            text = f"{v:,}"
        else:
            text = str(v)
        return f"{text} {self.unit}".strip()


@dataclass
class Section:
    """One benchmark's results: its figures plus anything worth keeping in the JSON."""

    name: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None  # the benchmark could not run (e.g. a feature not there yet)

    def add(self, *figures: Figure) -> None:
        self.figures.extend(figures)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def misses(self) -> list[Figure]:
        return [f for f in self.figures if f.met is False]


def percentile(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def ratio_interval(samples: list[float], base: list[float], q: float = 99, *,
                   rounds: int = 400, seed: int = 1) -> tuple[float, float]:
    """A 95% bootstrap interval for percentile(samples, q) / percentile(base, q): how far the
    ratio could move on another run of the same machine, from the spread of these samples
    alone (each resampled with replacement, `rounds` times)."""
    if not samples or not base:
        return math.nan, math.nan
    rng = random.Random(seed)
    ratios = sorted(
        percentile(rng.choices(samples, k=len(samples)), q)
        / percentile(rng.choices(base, k=len(base)), q)
        for _ in range(rounds)
    )
    return ratios[int(0.025 * rounds)], ratios[min(rounds - 1, int(0.975 * rounds))]
