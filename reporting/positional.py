"""Report section "positional": the learned W_pos in numbers, or what the model uses instead."""
from __future__ import annotations

import numpy as np

from analyses.positional import STRONG_PEAK
from charts import positional as charts
from reporting import Section
from topics import positional as topic

TITLE = "Positional embeddings"


def _stat(fn, values: np.ndarray) -> float | None:
    """fn over the finite values given; None (JSON null) when there are none."""
    return float(fn(values)) if values.size else None


def section(result: topic.Positional) -> Section:
    """data is None unless the model has a learned W_pos; rotary models get their frequencies as a chart."""
    learned = result.learned
    if learned is None:
        chart_list = [charts.rotary(result.rotary)] if result.rotary is not None else []
        return Section("positional", TITLE, None, topic.reading(result), chart_list)
    s = learned.summary
    v = s.variances[np.isfinite(s.variances)]  # a dimension with no finite value has no variance
    bad = s.nonfinite
    data = {
        "n_ctx": s.n_ctx,
        "d_model": s.d_model,
        "highest_variance_dim": s.highest_variance_dim,
        "median_variance_dim": s.median_variance_dim,
        "lowest_variance_dim": s.lowest_variance_dim,
        "variances": {"min": _stat(np.min, v), "median": float(s.variances[s.median_variance_dim]),
                      "max": _stat(np.max, v), "mean": _stat(np.mean, v)},
        "adjacent_correlation": [float(r) for r in s.adjacent_correlation],
        "periods": [float(p) for p in s.periods],  # dominant period per dimension, in positions
        "period_power": [float(p) for p in s.peak_power],  # share of the dimension's power at that period
        "periodic_dims": int((s.peak_power >= STRONG_PEAK).sum()),
        "mean_adjacent_correlation": _stat(np.mean, s.adjacent_correlation[np.isfinite(s.adjacent_correlation)]),
        "nonfinite": None if bad is None else {"nan": bad.nan, "inf": bad.inf, "first": list(bad.first)},
        "degenerate": s.degenerate,
    }
    chart_list = [charts.heatmap(learned.heatmap),
                  charts.dimension_curves(learned.extremes, learned.extreme_dims,
                                          title="Highest-, median- and lowest-variance dimensions"),
                  charts.adjacent_correlation(s.adjacent_correlation), charts.cosine_heatmap(learned.cosine),
                  charts.periods(s)]
    return Section("positional", TITLE, data, topic.reading(result), chart_list)
