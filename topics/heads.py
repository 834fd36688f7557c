"""Attention heads: per-head statistics of every layer, and which heads resemble each other (Ward clustering).

    result = compute(model)        # statistics (n_layers, n_heads), each layer's clusters, all heads' clusters
    print(reading(result))
    stats = statistics(model)      # the statistics alone (the page)

Heads come from the per-head schema (W_Q[h], W_K[kv(h)], W_V[kv(h)], W_O[h]), never from cutting a fused
qkv matrix into equal column blocks, which would mix query, key and value columns. The numerics are
analyses.heads'; this module reads a model's layers into them, one layer's weights in memory at a time.
Heads whose weights hold NaN or Inf get NaN statistics and are left out of clustering; `Heads.skipped`
names the weights and where their first bad value is.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import schema
from analyses import finite
from analyses.attention import LayerWeights
from analyses.heads import (
    FEATURES as WEIGHT_FEATURES,
    SLOTS,
    STATISTICS,
    Clustering,
    affordable_feature,
    clustering_reading,
    dendrogram_links,
    feature_size,
    head_features,
    head_labels,
    head_tiles,
    layer_statistics,
    statistics_reading,
    clusterable,
    ward,
)
from topics.skipped import Skipped, words

__all__ = ["FEATURES", "ROLES", "STATISTICS", "Clustering", "Heads", "NO_HEADS", "Tiles", "clustering", "clustering_reading",
           "compute", "dendrogram_links", "feature_for", "head_labels", "layer_weights", "reading", "roles_separate",
           "statistic_reading", "statistics", "tiles"]

NO_HEADS = ("This model has no per-head view: the number of attention heads is unknown (or no adapter maps its "
            "attention weights to heads), so the heads cannot be told apart.")
LAYER_K, MODEL_K = 4, 6  # clusters per layer, and across all layers, in `compute`
TILE_CELLS = 4999  # block means in one tile chart: under the 5000 rows a chart holds (charts.MAX_ROWS)
_WEIGHTS = dict(zip(SLOTS, schema.ATTN_WEIGHTS))  # a head's weight ('W_Q', ...) -> its schema slot
ROLES = "roles"  # heads described by what they do (topics.head_roles): flattened weights lump most heads together
FEATURES = {ROLES: "what the head does: OV copying, previous-token and self scores", **WEIGHT_FEATURES}


def layer_weights(model, layer: int) -> LayerWeights:
    """One layer's four attention weights, in the schema's per-head shapes."""
    return LayerWeights(*(model.weight(schema.name(slot, layer)) for slot in schema.ATTN_WEIGHTS))


def _stack(per_layer: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """layer_statistics of each layer -> key -> (n_layers, n_heads)."""
    return {k: np.stack([s[k] for s in per_layer]) for k in STATISTICS}


def statistics(model) -> dict[str, np.ndarray]:
    """Every statistic of STATISTICS for every head: key -> (n_layers, n_heads). Reads one layer at a time."""
    return _stack([layer_statistics(layer_weights(model, l)) for l in model.layers("attn.W_Q")])


def clustering(model, layers: tuple[int, ...], feature: str = "weights") -> Clustering | None:
    """Ward clustering of every head of `layers` by `feature` (a key of FEATURES); heads are 'H3' within one
    layer, 'L3H7' across several. Heads with NaN or Inf weights are left out (`dropped`); None when fewer
    than two heads are left."""
    if feature == ROLES:
        from topics import head_roles  # it reads heads through this module

        features = head_roles.compute(model).features(layers)  # (len(layers) * n_heads, n_scores)
        labels = [lab for l in layers for lab in head_labels(model.cfg.n_heads, None if len(layers) == 1 else l)]
        return ward(features, labels) if features.shape[1] and clusterable(features).sum() >= 2 else None
    features, labels = [], []
    for l in layers:  # one layer's weights in memory at a time
        f = head_features(layer_weights(model, l), feature)  # (n_heads, n_features)
        features.append(f)
        labels += head_labels(len(f), None if len(layers) == 1 else l)
    features = np.concatenate(features)
    return ward(features, labels) if clusterable(features).sum() >= 2 else None


def layer_skipped(w: LayerWeights, layer: int) -> list[Skipped]:
    """One layer's attention weights that hold NaN or Inf, each with its counts and first position."""
    out = []
    for weight, slot in _WEIGHTS.items():
        bad = finite.nonfinite(getattr(w, weight))
        if bad:
            out.append(Skipped(schema.name(slot, layer), f"holds {bad.words()}: the heads reading it have no "
                               "statistics and are not clustered", layer))
    return out


def feature_for(model, feature: str, n_heads: int) -> tuple[str, str | None]:
    """(the feature to cluster `n_heads` heads by, why it is not `feature` or None): a feature whose numbers
    for that many heads would not fit in memory gives way to the QK and OV singular-value profiles."""
    c = model.cfg
    if feature == ROLES:
        return feature, None  # a few numbers per head
    affordable = affordable_feature(feature, n_heads, c.d_model, c.d_head)
    if affordable == feature:
        return feature, None
    return affordable, (f"'{FEATURES[feature]}' for {n_heads} heads would hold "
                        f"{n_heads * feature_size(feature, c.d_model, c.d_head):,} numbers; "
                        "clustering by the QK and OV singular-value profiles instead.")


@dataclass
class Tiles:
    layer: int
    weight: str  # 'W_Q', 'W_K', 'W_V' or 'W_O'
    values: np.ndarray  # (n, r, c) block means of each head's (or kv head's) matrix, n*r*c <= TILE_CELLS
    shape: tuple[int, int]  # one head's whole matrix: (d_model, d_head), or (d_head, d_model) for W_O
    axes: tuple[str, str]  # what its rows and columns are

    @property
    def title(self) -> str:
        return f"{self.weight} of layer {self.layer}, per head"


def tiles(model, layer: int, weight: str = "W_Q") -> Tiles:
    """Each head's `weight` ('W_Q', 'W_K', 'W_V' or 'W_O'; K and V per kv head) of `layer`, as block means."""
    stack = model.weight(schema.name(_WEIGHTS[weight], layer))  # (heads, d_model, d_head); W_O (heads, d_head, d_model)
    axes = ("d_head", "d_model") if weight == "W_O" else ("d_model", "d_head")
    return Tiles(layer, weight, head_tiles(stack, TILE_CELLS), stack.shape[1:], axes)


@dataclass
class Heads:
    n_heads: int | None
    n_kv_heads: int | None
    d_head: int | None
    statistics: dict[str, np.ndarray]  # key of STATISTICS -> (n_layers, n_heads); empty without a per-head view
    layers: dict[int, Clustering]  # each layer's heads by their weights (none when a layer has one head)
    all_layers: Clustering | None  # every head of every layer by `feature` (None for a single head)
    feature: str  # the key of FEATURES `all_layers` used
    tiles: Tiles | None  # layer 0's W_Q, per head
    skipped: list[Skipped] = field(default_factory=list)  # attention weights with NaN or Inf (their heads skipped)


def roles_separate(roles, layers) -> bool:
    """Whether heads can be clustered by what they do (topics.head_roles): scores exist, and two or more heads
    have every score finite (all-zero embeddings leave the copying score 0/0)."""
    return bool(roles.scores) and clusterable(roles.features(tuple(layers))).sum() >= 2


def compute(model) -> Heads:
    """Per-head statistics of every layer, Ward clusters per layer and across layers, layer 0's W_Q tiles.

    Heads are clustered by what they do (ROLES, as the page does by default) when the model's circuits can be
    scored: flattened weights lump most heads into one cluster (66 of MiniLM's 72). Otherwise by their weights:
    each layer's weights are read once for its statistics and its clusters, and the all-layer clustering writes
    the per-layer features into one array.
    """
    from topics import head_roles  # it reads heads through this module

    c = model.cfg
    layers = model.layers("attn.W_Q")
    if not layers:
        return Heads(c.n_heads, c.n_kv_heads, c.d_head, {}, {}, None, "weights", None)
    n_total = len(layers) * c.n_heads
    roles = head_roles.compute(model)
    by_roles = roles_separate(roles, layers)
    feature = ROLES if by_roles else affordable_feature("weights", n_total, c.d_model, c.d_head)
    keep = feature == "weights" and n_total > 1
    per_stats, per_layer, features, skipped = [], {}, None, []
    for i, l in enumerate(layers):
        w = layer_weights(model, l)
        skipped += layer_skipped(w, l)
        per_stats.append(layer_statistics(w))
        if by_roles:
            f = roles.features((l,))  # (n_heads, n_scores)
            if c.n_heads > 1 and clusterable(f).sum() >= 2:
                per_layer[l] = ward(f, head_labels(len(f)))
        elif c.n_heads > 1 or keep:
            f = head_features(w, "weights")  # (n_heads, 4*d_model*d_head)
            if c.n_heads > 1 and clusterable(f).sum() >= 2:
                per_layer[l] = ward(f, head_labels(len(f)))
            if keep:
                if features is None:
                    features = np.empty((len(layers) * len(f), f.shape[1]), np.float32)
                features[i * len(f):(i + 1) * len(f)] = f
    if n_total <= 1:
        whole = None
    elif by_roles:
        f = roles.features(tuple(layers))
        labels = [lab for l in layers for lab in head_labels(c.n_heads, l)]
        whole = ward(f, labels) if clusterable(f).sum() >= 2 else None
    elif features is not None:  # block by block: no full-size copy
        labels = [lab for l in layers for lab in head_labels(c.n_heads, l)]
        whole = ward(features, labels) if clusterable(features).sum() >= 2 else None
    else:
        whole = clustering(model, tuple(layers), feature)
    return Heads(c.n_heads, c.n_kv_heads, c.d_head, _stack(per_stats), per_layer, whole, feature,
                 tiles(model, layers[0], "W_Q"), skipped)


def statistic_reading(values: dict[str, np.ndarray], key: str) -> str:
    """Extremes, the most uneven layer and the trend with depth of one statistic (a key of STATISTICS)."""
    return statistics_reading(values[key], STATISTICS[key])


def reading(result: Heads) -> str:
    """The QK, OV and W_Q norms read across layers and heads, each layer's most isolated head, and the
    clusters of all heads; NO_HEADS without a per-head view."""
    if not result.statistics:
        return NO_HEADS
    parts = [words(result.skipped, "weight")] if result.skipped else []
    parts += [statistic_reading(result.statistics, k) for k in ("qk_norm", "ov_norm", "norm_Q")]
    apart = [f"L{l}: {_most_isolated(cl)}" for l, cl in result.layers.items()]
    if apart:
        parts.append("Most isolated head of each layer (nearest-neighbour distance ÷ the layer's median): "
                     + "; ".join(apart) + ".")
    if result.all_layers and len(result.all_layers.labels) >= 2:
        parts.append(f"Across all layers ({FEATURES[result.feature]}): "
                     + clustering_reading(result.all_layers, min(MODEL_K, len(result.all_layers.labels))))
    return "\n\n".join(parts)


def _most_isolated(cl: Clustering) -> str:
    far = int(cl.nearest.argmax())
    return f"{cl.labels[far]} ({cl.nearest[far] / max(float(np.median(cl.nearest)), 1e-12):.1f}×)"
