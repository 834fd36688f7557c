"""Report section "architecture": the parameter budget and every tensor."""
from __future__ import annotations

from charts import architecture as charts
from reporting import Section
from topics import architecture as topic


def section(result: topic.Architecture) -> Section:
    s = result.summary
    data = {
        "params_stored": s.params_stored,
        "params_unique": s.params_unique,
        "bytes": s.bytes,
        "buffers": s.buffers,
        "tied": [list(pair) for pair in s.tied],
        "by_category": s.by_category,
        "dtypes": s.dtypes,
        "unmapped": result.unmapped,
        "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "params": t.params,
                     "category": t.category, "layer": t.layer, "tied_to": t.tied_to} for t in result.tensors],
    }
    chart_list = [charts.by_category(s.by_category)] + ([charts.by_layer(s.by_layer)] if s.by_layer else [])
    return Section("architecture", "Architecture and parameter budget", data, topic.reading(result), chart_list)
