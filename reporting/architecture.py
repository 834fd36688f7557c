"""Report section: the parameter budget and every tensor."""
from __future__ import annotations

from analyses.architecture import human_count, summarize
from adapters.schema import CATEGORIES
from charts import architecture as charts
from reporting import Section


def section(model) -> Section:
    tensors = model.tensors()
    s = summarize(tensors)
    data = {
        "params_stored": s.params_stored,
        "params_unique": s.params_unique,
        "bytes": s.bytes,
        "buffers": s.buffers,
        "tied": [list(pair) for pair in s.tied],
        "by_category": s.by_category,
        "dtypes": s.dtypes,
        "unmapped": list(model.unmapped),
        "tensors": [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype, "params": t.params,
                     "category": t.category, "layer": t.layer, "tied_to": t.tied_to} for t in tensors],
    }
    largest = max(s.by_category, key=s.by_category.get)
    reading = (f"**{s.params_unique:,}** unique parameters ({human_count(s.params_unique)}), "
               f"**{s.params_stored:,}** as stored in the state dict; the largest share "
               f"({s.by_category[largest] / max(s.params_unique, 1):.0%}) is {CATEGORIES[largest]}.")
    if s.tied:
        reading += " Tied: " + "; ".join(f"`{a}` = `{b}`" for a, b in s.tied) + "."
    chart_list = [charts.by_category(s.by_category)] + ([charts.by_layer(s.by_layer)] if s.by_layer else [])
    return Section("architecture", "Architecture and parameter budget", data, reading, chart_list)
