"""The positional section's part for T5's relative position bias (reporting/positional.py includes it)."""
from __future__ import annotations

import numpy as np

from charts import relative_bias as charts
from topics.relative_position import RelativeBias


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def data(biases: list[RelativeBias]) -> list[dict]:
    """report.json's positional.relative: per stored table, its schema name, label, buckets, max_distance,
    bidirectional, the table itself (w_rel [n_buckets][n_heads]) and per head its peak distance (signed key -
    query), near_minus_far and forward_minus_backward (null for a causal stack)."""
    return [{"name": r.name, "label": r.label, "n_buckets": int(r.by_distance.w_rel.shape[0]),
             "max_distance": r.by_distance.max_distance, "bidirectional": r.by_distance.bidirectional,
             "w_rel": [[_finite(v) for v in row] for row in r.by_distance.w_rel.tolist()],
             "heads": [{"head": p.head, "peak_distance": p.peak_distance, "near_minus_far": _finite(p.near_minus_far),
                        "forward_minus_backward": _finite(p.forward_minus_backward)} for p in r.preferences]}
            for r in biases]


def chart_list(biases: list[RelativeBias]) -> list:
    return [c for r in biases for c in (charts.heatmap(r.by_distance, r.label), charts.by_distance(r.by_distance, r.label))]
