"""The attention-heads section of the report: the page's numbers for every layer, without widgets."""
from __future__ import annotations

import numpy as np

from analyses import heads
from charts import MAX_ROWS
from charts import heads as charts
from reporting import Section

TITLE = "Attention heads"
LAYER_K, MODEL_K = 4, 6  # clusters per layer, and across all layers


def section(model) -> Section:
    """Per-head statistics of every layer, Ward clusters per layer and across layers, and their reading."""
    c = model.cfg
    if not model.has("blocks.0.attn.W_Q"):
        return Section("heads", TITLE, None, reading="No per-head view: the number of attention heads is unknown "
                       "(or no adapter maps this architecture's attention weights to heads).")
    n_total = c.n_layers * c.n_heads
    feature = heads.affordable_feature("weights", n_total, c.d_model, c.d_head)
    stats, per_layer, features = _per_layer(model, keep_features=feature == "weights" and n_total > 1)
    if n_total <= 1:
        whole = None
    elif features is not None:  # the per-layer features, already built, clustered together
        labels = [lab for l in range(c.n_layers) for lab in heads.head_labels(c.n_heads, l)]
        whole = heads.ward(features, labels)  # block by block: no full-size copy
    else:
        whole = heads.cluster_layers(model.weight, list(range(c.n_layers)), feature)

    data = {
        "n_heads": c.n_heads, "n_kv_heads": c.n_kv_heads, "d_head": c.d_head,
        "statistics": {k: {"label": heads.STATISTICS[k], "by_layer_and_head": np.round(v, 6).tolist()}
                       for k, v in stats.items()},
        "layers": {str(l): _clusters_json(cl, min(LAYER_K, c.n_heads)) for l, cl in per_layer.items()},
        "all_layers": ({"feature": heads.FEATURES[feature], **_clusters_json(whole, min(MODEL_K, n_total))}
                       if whole else None),
    }
    reading = [heads.statistics_reading(stats[k], heads.STATISTICS[k]) for k in ("qk_norm", "ov_norm", "norm_Q")]
    apart = [f"L{l}: {_most_isolated(cl)}" for l, cl in per_layer.items()]
    if apart:
        reading.append("Most isolated head of each layer (nearest-neighbour distance ÷ the layer's median): "
                       + "; ".join(apart) + ".")
    if whole:
        reading.append(f"Across all layers ({heads.FEATURES[feature]}): "
                       + heads.clustering_reading(whole, min(MODEL_K, n_total)))

    chart_list = [charts.layer_head_map(stats["qk_norm"], heads.STATISTICS["qk_norm"]),
                  charts.layer_head_map(stats["ov_norm"], heads.STATISTICS["ov_norm"]),
                  charts.depth_trend(stats["ov_norm"], heads.STATISTICS["ov_norm"])]
    W_Q = model.weight("blocks.0.attn.W_Q")  # (n_heads, d_model, d_head)
    chart_list.append(charts.head_tiles(heads.head_tiles(W_Q, MAX_ROWS - 1), heads.head_labels(c.n_heads),
                                        W_Q.shape[1:], ("d_model", "d_head"), "W_Q of layer 0, per head"))
    if whole:
        links, leaves = heads.dendrogram_links(whole, min(MODEL_K, n_total))
        chart_list.append(charts.dendrogram(links, leaves, f"Ward clustering of all {n_total} heads"))
    return Section("heads", TITLE, data, reading="\n\n".join(reading), charts=chart_list)


def _per_layer(model, keep_features: bool):
    """(statistics key -> (n_layers, n_heads), per-layer Clustering, (n_layers*n_heads, n_features) or None).

    heads.model_statistics and heads.cluster_layers, with each layer's weights read once for both; the
    head features are written into one preallocated array when the all-layer clustering will need them.
    """
    c = model.cfg
    per_stats, per_layer, features = [], {}, None
    for l in range(c.n_layers):
        w = heads.load_layer(model.weight, l)
        per_stats.append(heads.layer_statistics(w))
        if c.n_heads > 1 or keep_features:
            f = heads.head_features(w, "weights")  # (n_heads, 4*d_model*d_head)
            if c.n_heads > 1:
                per_layer[l] = heads.ward(f, heads.head_labels(len(f)))
            if keep_features:
                if features is None:
                    features = np.empty((c.n_layers * len(f), f.shape[1]), np.float32)
                features[l * len(f):(l + 1) * len(f)] = f
    stats = {k: np.stack([s[k] for s in per_stats]) for k in heads.STATISTICS}
    return stats, per_layer, features


def _clusters_json(cl: heads.Clustering, k: int) -> dict:
    return {"k": k, "clusters": cl.members(k),
            "nearest_neighbour": {lab: [cl.labels[int(j)], round(float(d), 6)]
                                  for lab, j, d in zip(cl.labels, cl.neighbour, cl.nearest)}}


def _most_isolated(cl: heads.Clustering) -> str:
    far = int(cl.nearest.argmax())
    return f"{cl.labels[far]} ({cl.nearest[far] / max(float(np.median(cl.nearest)), 1e-12):.1f}×)"
