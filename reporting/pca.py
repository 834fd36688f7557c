"""Report section "pca": standardised PCA of attn.W_QKV for every layer, rows as samples (topics.pca's defaults)."""
from __future__ import annotations

from charts import pca as charts
from reporting import Section
from topics import pca as topic
from topics.skipped import records

TITLE = "PCA of the attention input projections"


def section(result: topic.PCA) -> Section:
    """data: {slot, samples, standardised, threshold, layers: [per layer spectrum], scores: {layer: PC1, PC2},
    skipped: [{name, reason, layer}]}; None when no layer has the slot."""
    every, shown = result.layers, result.scored_layers()
    if not every:
        data = {"slot": result.slot, "layers": [], "skipped": records(result.skipped)} if result.skipped else None
        return Section("pca", TITLE, data, topic.reading(result))
    data = {
        "slot": result.slot, "samples": result.samples, "standardised": True, "threshold": every[0].threshold,
        "layers": [{"layer": r.layer, "n_samples": r.n_samples, "n_features": r.n_features,
                    "n_components": r.n_components, "n_for_threshold": r.n_for_threshold,
                    "explained_ratio": r.explained_ratio.tolist(), "cumulative": r.cumulative.tolist()}
                   for r in every],
        "scores": {str(r.layer): r.scores.tolist() for r in shown},  # PC1, PC2 of each sample
        "skipped": records(result.skipped),
    }
    return Section("pca", TITLE, data, topic.reading(result),
                   [charts.counts(every, result.scored)] + ([charts.cumulative(shown), charts.scatter(shown)] if shown else []))
