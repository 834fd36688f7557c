"""Report section "stats": mean, std, extremes, skew, kurtosis and NaN/Inf counts of every tensor."""
from __future__ import annotations

from dataclasses import asdict

from reporting import Section
from topics import health as topic


def section(result: topic.Health) -> Section:
    """data: one record per stored tensor (analyses.tensor_stats.TensorStats' fields), plus `problem` (why it
    looks broken, or None) and `first_bad` (the index of its first NaN or Inf, or None)."""
    broken = {b.name: b for b in result.broken}
    data = [{**asdict(s), "problem": broken[s.name].problem if s.name in broken else None,
             "first_bad": list(broken[s.name].first) if s.name in broken and broken[s.name].first else None}
            for s in result.stats]
    warning = topic.broken_reading(result)
    return Section("stats", "Every tensor's statistics", data, (warning + "\n\n" if warning else "") + topic.reading(result))
