"""Across layers: how one slot's weights and their per-row variance change with depth.

Also the home of what every per-layer topic needs: which slots are matrices (`matrix_slots`), which
layers have one (`slot_layers`) and a layer's matrix (`layer_values`), so the distributions, PCA and
layers topics read the same matrices.

    result = compute(model, slot="mlp.W_in")     # one LayerSummary per layer that has it
    print(reading(result))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import schema
from adapters.views import QKV, matrix
from analyses.layers import LayerSummary, depth_change, depth_trend, most_departing, summarize_layer

MIN_TREND_CHANGE = 0.05  # a trend is stated only if it moves the value by 5% of its median over the depth


def matrix_slots(model) -> list[str]:
    """Per-layer slots that are matrices (W_*: norm weights, biases and sinks left out), the derived W_QKV first."""
    slots = [s for s in model.slots() if schema.is_matrix(s)]
    return ([QKV] if "attn.W_Q" in slots else []) + slots


def slot_layers(model, slot: str) -> list[int]:
    """Layers that have `slot`, ascending (W_QKV exists wherever W_Q does)."""
    return model.layers("attn.W_Q" if slot == QKV else slot)


def layer_values(model, layer: int, slot: str) -> np.ndarray:
    """The [input, output] matrix of one layer's slot, as adapters.views lays it out."""
    return matrix(model, schema.name(slot, layer)).values


@dataclass
class Layers:
    slot: str
    summaries: list[LayerSummary]  # one per layer that has the slot, ascending; empty when none has it


def compute(model, slot: str = QKV) -> Layers:
    """One LayerSummary per layer that has the slot, reading one layer's matrix at a time."""
    return Layers(slot, [summarize_layer(l, layer_values(model, l, slot)) for l in slot_layers(model, slot)])


def trend_words(rho: float | None, what: str, values=None) -> str:
    """'the std rises steadily with depth (Spearman ρ = 0.93, +40% over the depth)' and the like, from
    analyses.layers.depth_trend; with the per-layer `values`, a trend whose size (analyses.layers.depth_change)
    is under MIN_TREND_CHANGE is called too small, whatever its rho."""
    if rho is None:
        return f"{what} shows no trend that can be measured"
    direction = "rises" if rho > 0 else "falls"
    change = depth_change(values) if values is not None else None
    if change is not None and abs(rho) >= 0.4:
        if abs(change) < MIN_TREND_CHANGE:
            y = np.asarray(values, dtype=np.float64)
            return (f"{what} barely changes with depth ({y[0]:.4g} in the first layer, {y[-1]:.4g} in the last: "
                    f"{change:+.1%} over the depth, too small to call a trend although Spearman ρ = {rho:.2f})")
        size = f", {change:+.0%} over the depth"
    else:
        size = ""
    if abs(rho) >= 0.7:
        return f"{what} {direction} steadily with depth (Spearman ρ = {rho:.2f}{size})"
    if abs(rho) >= 0.4:
        return f"{what} tends to {direction[:-1]} with depth (Spearman ρ = {rho:.2f}{size})"
    return f"{what} shows no steady trend with depth (Spearman ρ = {rho:.2f})"


def missing(slot: str) -> str:
    """What a per-layer topic says when no layer has the slot."""
    why = " (the attention heads are unknown)" if slot == QKV else ""
    return f"No layer has `{slot}`{why}."


def nonfinite_words(summaries: list[LayerSummary], slot: str) -> str:
    """'⚠️ Layer 3's `attn.W_QKV` holds 5 NaN and 0 Inf, left out of its statistics.' for each such layer; or ''."""
    bad = [s for s in summaries if s.nan or s.inf]
    if not bad:
        return ""
    listed = ", ".join(f"layer {s.layer} ({s.nan:,} NaN, {s.inf:,} Inf)" for s in bad)
    return f"⚠️ `{slot}` holds non-finite values in {listed}; the statistics use the finite values only. "


def reading(result: Layers) -> str:
    """Which layer departs most from the others, and how the spread changes with depth."""
    slot = result.slot
    if not result.summaries:
        return missing(slot)
    warning = nonfinite_words(result.summaries, slot)
    summaries = [s for s in result.summaries if np.isfinite(s.std)]
    if not summaries:
        return warning + f"No layer of `{slot}` has a finite value."
    odd, offset = most_departing(summaries)
    lo = min(summaries, key=lambda s: s.std)
    hi = max(summaries, key=lambda s: s.std)
    widest = max(summaries, key=lambda s: max(abs(s.min), abs(s.max)))
    text = warning + (f"Across {len(summaries)} layers the std of `{slot}` runs from **{lo.std:.4g}** (layer {lo.layer}) "
            f"to **{hi.std:.4g}** (layer {hi.layer}). ")
    if len(summaries) > 1 and np.isfinite(offset):
        text += (f"Layer **{odd.layer}** departs most: its std is **{abs(offset):.0%} "
                 f"{'above' if offset > 0 else 'below'}** the median layer's. ")
    text += (f"The largest |weight| is in layer {widest.layer} "
             f"({max(abs(widest.min), abs(widest.max)):.3g}). ")
    stds = [s.std for s in summaries]
    row_vars = [s.row_variance.median if s.row_variance else np.nan for s in summaries]
    return (text + f"{trend_words(depth_trend(stds), 'The std', stds)}; "
            f"{trend_words(depth_trend(row_vars), 'the median per-row variance', row_vars)}.")
