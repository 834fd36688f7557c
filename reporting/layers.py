"""Report section "layers": a slot's statistics across depth (attn.W_QKV by default).

`matrix_slots`, `slot_layers` and `summaries` are shared with pages/layers.py and reporting/pca.py,
so the page and the report compute the same numbers from the same matrices.
"""
from __future__ import annotations

from adapters import schema
from adapters.views import QKV, matrix
from analyses.layers import LayerSummary, reading, summarize_layer
from charts import layers as charts
from reporting import Section


def matrix_slots(model) -> list[str]:
    """Per-layer slots that are matrices (vectors and biases left out), the derived W_QKV first."""
    slots = [s for s in model.slots() if not s.endswith((".w", ".b")) and not s.startswith("attn.b_")]
    return ([QKV] if "attn.W_Q" in slots else []) + slots


def slot_layers(model, slot: str) -> list[int]:
    """Layers that have `slot` (W_QKV exists wherever W_Q does)."""
    return [schema.split_layer(n)[0] for n in model.layer_names("attn.W_Q" if slot == QKV else slot)]


def layer_values(model, layer: int, slot: str):
    """The [input, output] matrix of one layer's slot, as adapters.views lays it out."""
    return matrix(model, f"blocks.{layer}.{slot}").values


def summaries(model, slot: str = QKV) -> list[LayerSummary]:
    """One LayerSummary per layer that has the slot, read one layer at a time."""
    return [summarize_layer(l, layer_values(model, l, slot)) for l in slot_layers(model, slot)]


def section(model) -> Section:
    title = "Weights across layers"
    found = summaries(model, QKV)
    if not found:
        return Section("layers", title, None, f"No layer has `{QKV}` (the attention heads are unknown).")
    data = [{"slot": QKV, **s.record()} for s in found]  # report.json: per layer {layer, slot, mean, std, min, max, ...}
    return Section("layers", title, data, reading(found, QKV),
                   [charts.stats_band(found, QKV), charts.box(found), charts.violin(found)])
