"""Report section "heads": per-head statistics of every layer, Ward clusters per layer and across layers."""
from __future__ import annotations

import numpy as np

from charts import heads as charts
from reporting import Section
from topics import heads as topic
from topics.skipped import records

TITLE = "Attention heads"


def section(result: topic.Heads) -> Section:
    if not result.statistics:
        return Section("heads", TITLE, None, topic.reading(result))
    stats, whole = result.statistics, result.all_layers
    layer_k = min(topic.LAYER_K, result.n_heads)
    model_k = min(topic.MODEL_K, len(whole.labels)) if whole else None
    data = {
        "n_heads": result.n_heads, "n_kv_heads": result.n_kv_heads, "d_head": result.d_head,
        "statistics": {k: {"label": topic.STATISTICS[k], "by_layer_and_head": np.round(v, 6).tolist()}
                       for k, v in stats.items()},
        "layers": {str(l): _clusters_json(cl, layer_k) for l, cl in result.layers.items()},
        "all_layers": {"feature": topic.FEATURES[result.feature], **_clusters_json(whole, model_k)} if whole else None,
        "skipped": records(result.skipped),
    }
    chart_list = [charts.layer_head_map(stats["qk_norm"], topic.STATISTICS["qk_norm"]),
                  charts.layer_head_map(stats["ov_norm"], topic.STATISTICS["ov_norm"]),
                  charts.depth_trend(stats["ov_norm"], topic.STATISTICS["ov_norm"])]
    tiles = result.tiles
    chart_list.append(charts.head_tiles(tiles.values, topic.head_labels(result.n_heads), tiles.shape, tiles.axes,
                                        tiles.title))
    if whole:
        links, leaves = topic.dendrogram_links(whole, model_k)
        chart_list.append(charts.dendrogram(links, leaves, f"Ward clustering of all {len(whole.labels)} heads"))
    return Section("heads", TITLE, data, topic.reading(result), chart_list)


def _clusters_json(cl: topic.Clustering, k: int) -> dict:
    return {"k": k, "clusters": cl.members(k), "dropped": cl.dropped,
            "nearest_neighbour": {lab: [cl.labels[int(j)], round(float(d), 6)]
                                  for lab, j, d in zip(cl.labels, cl.neighbour, cl.nearest)}}
