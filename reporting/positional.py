"""Report section "positional": the learned W_pos in numbers, or what the model uses instead."""
from __future__ import annotations

import numpy as np

from analyses import positional as pos
from charts import MAX_ROWS
from charts import positional as charts
from reporting import Section

TITLE = "Positional embeddings"


def section(model) -> Section:
    """data is None unless the model has a learned W_pos; rotary models get their frequencies in the reading."""
    c = model.cfg
    if not model.has("pos_embed.W_pos"):
        if c.positional == "rotary" and c.rotary_dim and c.rotary_base:
            freqs = pos.rotary_frequencies(c.rotary_dim, c.rotary_base, c.n_ctx)
            return Section("positional", TITLE, None, pos.rotary_reading(freqs), [charts.rotary(freqs)])
        return Section("positional", TITLE, None,
                       f"No learned positional embedding matrix (positional scheme: {c.positional}).")
    w_pos = model.weight("pos_embed.W_pos")
    s = pos.summarize(w_pos)
    keep = pos.strided_indices(s.n_ctx, int(MAX_ROWS ** 0.5))
    cosine = pos.Grid(pos.cosine_similarity(w_pos[keep]), keep, keep, (s.n_ctx, s.n_ctx))
    extremes = [s.highest_variance_dim, s.median_variance_dim, s.lowest_variance_dim]
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
        "periodic_dims": int((s.peak_power >= pos.STRONG_PEAK).sum()),
        "mean_adjacent_correlation": float(np.mean(s.adjacent_correlation)),
    }
    chart_list = [charts.heatmap(pos.grid(w_pos, MAX_ROWS)),
                  charts.dimension_curves(w_pos, extremes, title="Highest-, median- and lowest-variance dimensions"),
                  charts.adjacent_correlation(s.adjacent_correlation), charts.cosine_heatmap(cosine),
                  charts.periods(s)]
    return Section("positional", TITLE, data, pos.reading(s), chart_list)
