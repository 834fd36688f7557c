"""Report section "stats": mean, std, extremes, skew, kurtosis and NaN/Inf counts of every tensor."""
from __future__ import annotations

from dataclasses import asdict

from analyses.health import reading
from reporting import Section
from reporting.stats_scan import scan


def section(model) -> Section:
    stats = scan(model)
    return Section("stats", "Every tensor's statistics", [asdict(s) for s in stats], reading(stats))
