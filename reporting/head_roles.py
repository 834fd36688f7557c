"""Report section "head_roles": what each head does from its weights (copying and previous-token scores)."""
from __future__ import annotations

import numpy as np

from charts import heads as charts
from reporting import Section
from topics import head_roles as topic

TITLE = "What each head does"


def section(result: topic.HeadRoles) -> Section:
    if not result.scores:
        return Section("head_roles", TITLE, None, topic.reading(result))
    data = {"layers": result.layers, "n_heads": result.n_heads, "notes": result.notes,
            "scores": {k: {"label": topic.SCORES[k], "range": list(topic.RANGES[k]),
                           "by_layer_and_head": np.round(v, 6).tolist()} for k, v in result.scores.items()}}
    chart_list = [charts.layer_head_map(result.scores[k], topic.SCORES[k], topic.RANGES[k])
                  for k in ("copying", "previous") if k in result.scores]
    return Section("head_roles", TITLE, data, topic.reading(result), chart_list)
