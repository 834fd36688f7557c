"""Report section "positional": the learned W_pos in numbers, or what the model uses instead."""
from __future__ import annotations

import numpy as np

from analyses.positional import STRONG_PEAK
from charts import positional as charts
from reporting import Section
from topics import positional as topic

TITLE = "Positional embeddings"


def section(result: topic.Positional) -> Section:
    """data is None unless the model has a learned W_pos; rotary models get their frequencies as a chart."""
    learned = result.learned
    if learned is None:
        chart_list = [charts.rotary(result.rotary)] if result.rotary is not None else []
        return Section("positional", TITLE, None, topic.reading(result), chart_list)
    s = learned.summary
    data = {
        "n_ctx": s.n_ctx,
        "d_model": s.d_model,
        "highest_variance_dim": s.highest_variance_dim,
        "median_variance_dim": s.median_variance_dim,
        "lowest_variance_dim": s.lowest_variance_dim,
        "variances": {"min": float(s.variances.min()), "median": float(s.variances[s.median_variance_dim]),
                      "max": float(s.variances.max()), "mean": float(s.variances.mean())},
        "adjacent_correlation": [float(r) for r in s.adjacent_correlation],
        "periods": [float(p) for p in s.periods],  # dominant period per dimension, in positions
        "period_power": [float(p) for p in s.peak_power],  # share of the dimension's power at that period
        "periodic_dims": int((s.peak_power >= STRONG_PEAK).sum()),
        "mean_adjacent_correlation": float(np.mean(s.adjacent_correlation)),
    }
    chart_list = [charts.heatmap(learned.heatmap),
                  charts.dimension_curves(learned.extremes, learned.extreme_dims,
                                          title="Highest-, median- and lowest-variance dimensions"),
                  charts.adjacent_correlation(s.adjacent_correlation), charts.cosine_heatmap(learned.cosine),
                  charts.periods(s)]
    return Section("positional", TITLE, data, topic.reading(result), chart_list)
