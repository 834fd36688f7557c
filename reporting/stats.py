"""Report section "stats": mean, std, extremes, skew, kurtosis and NaN/Inf counts of every tensor."""
from __future__ import annotations

from dataclasses import asdict

from reporting import Section
from topics import health as topic


def section(result: topic.Health) -> Section:
    return Section("stats", "Every tensor's statistics", [asdict(s) for s in result.stats], topic.reading(result))
