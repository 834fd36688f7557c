"""Report section "distributions": each layer's attention input projections (Q, K, V together)."""
from __future__ import annotations

from adapters.views import QKV
from analyses import distribution as dist
from charts import distribution as charts
from reporting import Section
from reporting.layers import layer_values

TITLE = "Weight distributions"


def section(model) -> Section:
    """data: per layer {layer, slot: "attn.W_QKV", mean, std, skew, kurtosis, ks_statistic, ks_pvalue}."""
    layers = [l for l in range(model.cfg.n_layers or 0) if model.has(f"blocks.{l}.attn.W_Q")]
    if not layers:
        return Section("distributions", TITLE, [], "No per-head attention weights in the schema for this model.")
    by_layer = {l: dist.describe(layer_values(model, l, QKV)) for l in layers}
    rows = dist.layer_rows(by_layer, QKV)
    first = f"blocks.{layers[0]}.{QKV}"
    values = layer_values(model, layers[0], QKV)
    reading = dist.reading(first, by_layer[layers[0]]) + " " + dist.layers_reading(rows)
    chart_list = [charts.histogram(dist.histogram(values, bins=200), by_layer[layers[0]], first)]
    if len(rows) > 1:
        chart_list.append(charts.by_layer(rows))
    return Section("distributions", TITLE, rows, reading, chart_list)
