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
        "params_active": result.params_active,  # per token: routed experts count n_experts_per_token of theirs
        "params_routed_experts": s.routed,
        "bytes": s.bytes,
        "buffers": s.buffers,
        "tied": [list(pair) for pair in s.tied],
        "by_category": s.by_category,
        "dtypes": s.dtypes,
        "by_storage": topic.storage_rows(s),  # per stored type: params, bytes on disk (scales included), bits a weight
        "unmapped": result.unmapped,
        "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "params": t.params,
                     "category": t.category, "layer": t.layer, "tied_to": t.tied_to,
                     "routed_expert": t.routed, "stored": t.stored, "bits_per_weight": round(t.bits_per_weight, 4),
                     "disk_bytes": t.nbytes, "scales": t.scales} for t in result.tensors],
    }
    chart_list = [charts.by_category(s.by_category)] + ([charts.by_layer(s.by_layer)] if s.by_layer else [])
    if len(s.by_storage) > 1:  # one stored type is said in the reading; a one-bar chart says nothing more
        chart_list.append(charts.by_storage(topic.storage_rows(s)))
    return Section("architecture", "Architecture and parameter budget", data, topic.reading(result), chart_list)
