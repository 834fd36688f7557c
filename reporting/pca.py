"""Report section "pca": standardised PCA of attn.W_QKV for every layer, rows as samples (the notebook's)."""
from __future__ import annotations

from adapters.views import QKV
from analyses.pca import LayerPCA, layer_pca, reading
from charts import pca as charts
from reporting import Section
from reporting.layers import layer_values, slot_layers


def notebook_layers(layers: list[int]) -> list[int]:
    """The notebook looked at the first three and the last three layers (0-2 and 9-11 of GPT-2)."""
    return layers if len(layers) <= 6 else layers[:3] + layers[-3:]


def spectra(model, slot: str = QKV, samples: str = "rows", layers: list[int] | None = None,
            with_scores: bool = False) -> list[LayerPCA]:
    """PCA of the slot in each layer (all that have it, unless `layers` is given); columns as samples transposes."""
    out = []
    for l in (layers if layers is not None else slot_layers(model, slot)):
        values = layer_values(model, l, slot)
        out.append(layer_pca(l, values.T if samples == "columns" else values, with_scores=with_scores))
    return out


def section(model) -> Section:
    title = "PCA of the attention input projections"
    layers = slot_layers(model, QKV)
    if not layers:
        return Section("pca", title, None, f"No layer has `{QKV}` (the attention heads are unknown).")
    # One decomposition per layer: the shown layers' (with scores) carry the same spectrum as the rest.
    shown = spectra(model, layers=notebook_layers(layers), with_scores=True)
    by_layer = {r.layer: r for r in shown}
    every = [by_layer.get(l) or spectra(model, layers=[l])[0] for l in layers]
    data = {
        "slot": QKV, "samples": "rows", "standardised": True, "threshold": every[0].threshold,
        "layers": [{"layer": r.layer, "n_samples": r.n_samples, "n_features": r.n_features,
                    "n_components": r.n_components, "n_for_threshold": r.n_for_threshold,
                    "explained_ratio": r.explained_ratio.tolist(), "cumulative": r.cumulative.tolist()}
                   for r in every],
        "scores": {str(r.layer): r.scores.tolist() for r in shown},  # PC1, PC2 of each row
    }
    return Section("pca", title, data, reading(every, QKV),
                   [charts.counts(every, [r.layer for r in shown]), charts.cumulative(shown), charts.scatter(shown)])
