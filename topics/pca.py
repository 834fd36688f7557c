"""PCA per layer: standardise a slot's matrix, then count the directions that hold its variance.

    result = compute(model, slot="mlp.W_out", samples="columns")   # every layer's spectrum
    result.scored_layers()                                          # first and last three, with PC1/PC2 scores
    print(reading(result))

A layer whose matrix holds NaN or Inf, or is all zero or constant, is skipped with the reason
(`result.skipped`): PCA mixes every entry into every component, so there is nothing meaningful to
compute on the finite values alone, and a matrix without variance has no components.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import schema
from adapters.views import QKV
from analyses.layers import depth_trend
from analyses.pca import LayerPCA, layer_pca
from topics.layers import layer_values, missing, slot_layers, trend_words
from topics.skipped import Skipped, check, words

SAMPLES = ("rows", "columns")  # which axis of the [input, output] matrix holds the samples


def first_and_last_layers(layers: list[int]) -> list[int]:
    """The first three and the last three layers (all of them when there are six or fewer): the ends of
    the stack, where layers differ most from the rest, shown in detail by default."""
    return layers if len(layers) <= 6 else layers[:3] + layers[-3:]


def one_layer(model, slot: str, samples: str, layer: int, with_scores: bool = True) -> LayerPCA | Skipped:
    """PCA of one layer's slot; samples="columns" decomposes the transpose (columns as samples).
    A Skipped, with the reason, for a matrix with NaN or Inf values or no variance at all."""
    values = layer_values(model, layer, slot)
    skipped = check(schema.name(slot, layer), values, layer)
    if skipped:
        return skipped
    return layer_pca(layer, values.T if samples == "columns" else values, with_scores=with_scores)


@dataclass
class PCA:
    slot: str
    samples: str  # a SAMPLES value
    layers: list[LayerPCA]  # every layer that has the slot and could be decomposed, ascending
    scored: list[int]  # the layers whose LayerPCA carries scores and components (first_and_last_layers)
    skipped: list[Skipped] = field(default_factory=list)  # layers left out, with why

    def scored_layers(self) -> list[LayerPCA]:
        return [r for r in self.layers if r.layer in self.scored]


def compute(model, slot: str = QKV, samples: str = "rows") -> PCA:
    """Every layer's spectrum, one decomposition each; the first and last three keep their scores too."""
    if samples not in SAMPLES:
        raise ValueError(f"samples must be one of {SAMPLES}, not {samples!r}")
    layers = slot_layers(model, slot)
    scored = first_and_last_layers(layers)
    done = [one_layer(model, slot, samples, l, with_scores=l in scored) for l in layers]
    return PCA(slot, samples, [r for r in done if isinstance(r, LayerPCA)], scored,
               [r for r in done if isinstance(r, Skipped)])


def reading(result: PCA) -> str:
    """How many components each layer needs for 90% of its variance, and how that moves with depth."""
    results = result.layers
    warning = words(result.skipped, "layer") + " " if result.skipped else ""
    if not results:
        return warning + ("No layer could be decomposed." if result.skipped else missing(result.slot))
    counts = [r.n_for_threshold for r in results]
    lo, hi = results[int(np.argmin(counts))], results[int(np.argmax(counts))]
    first = results[0]
    pc1 = [r.explained_ratio[0] for r in results]
    text = warning + (f"Standardised `{result.slot}` with {first.n_samples:,} {result.samples} as samples and "
            f"{first.n_features:,} features: reaching {first.threshold:.0%} of the variance takes from "
            f"**{lo.n_for_threshold}** (layer {lo.layer}) to **{hi.n_for_threshold}** (layer {hi.layer}) of "
            f"{first.n_components} components; the median layer needs **{np.median(counts):g}**. ")
    spread = "spread over many directions" if np.median(counts) > 0.5 * first.n_components else \
        "concentrated in comparatively few directions"
    text += (f"PC1 alone explains {min(pc1):.1%}–{max(pc1):.1%}, so the variance is {spread}. ")
    return text + trend_words(depth_trend(counts), f"The {first.threshold:.0%} count", counts) + "."
