"""Attention heads: each head's weights, per-head statistics by layer, and which heads resemble each other."""
import pandas as pd
import streamlit as st

from charts import heads as charts
from topics import head_roles as roles_topic
from topics import heads as topic
from ui.cache import cached
from ui.session import model_caption, require_model
from ui.url_state import url_widget

st.title("Attention heads")
model = require_model()
model_caption(model)
c = model.cfg
if not model.has_heads:
    st.info(topic.NO_HEADS + " If you know the head count, enter it in the sidebar under **Heads**.")
    st.stop()
layers = model.layers("attn.W_Q")

layer = st.selectbox("Layer", layers, key=url_widget("heads_layer", layers))

st.subheader("Each head's weights")
weight = st.radio("Weight", topic.SLOTS, horizontal=True, key=url_widget("heads_weight", topic.SLOTS),
                  help="W_K and W_V have one matrix per key/value head (fewer than the query heads under GQA).")
tiles = cached("heads", "tiles", model, "Downsampling each head's matrix…", layer=layer, weight=weight)
kv_note = weight in ("W_K", "W_V") and c.n_kv_heads != c.n_heads
labels = [f"KV{g}" for g in range(len(tiles.values))] if kv_note else topic.head_labels(len(tiles.values))
st.altair_chart(charts.head_tiles(tiles.values, labels, tiles.shape, tiles.axes, tiles.title), width="stretch")
if kv_note:
    st.caption(f"{c.n_kv_heads} key/value heads, each shared by {c.n_heads // c.n_kv_heads} query heads.")

st.subheader("Per-head statistics")
stats = cached("heads", "statistics", model, "Computing per-head statistics for every layer…")
stat = st.selectbox("Statistic", list(topic.STATISTICS), format_func=topic.STATISTICS.get,
                    key=url_widget("heads_stat", list(topic.STATISTICS), default="ov_norm"))
label = topic.STATISTICS[stat]
left, right = st.columns(2)
left.altair_chart(charts.layer_head_map(stats[stat], label), width="stretch")
right.altair_chart(charts.depth_trend(stats[stat], label), width="stretch")
st.markdown(topic.statistic_reading(stats, stat))
with st.expander(f"Every statistic of layer {layer}'s heads"):
    st.dataframe(pd.DataFrame({topic.STATISTICS[k]: v[layers.index(layer)] for k, v in stats.items()},
                              index=topic.head_labels(c.n_heads)), key="heads_table")

st.subheader("What each head does")
roles = cached("head_roles", "compute", model, progress="Reading each head's OV and positional circuits…")
if roles.scores:
    shown = [k for k in ("copying", "previous") if k in roles.scores]
    for column, key in zip(st.columns(len(shown)), shown):
        column.altair_chart(charts.layer_head_map(roles.scores[key], roles_topic.SCORES[key], roles_topic.RANGES[key]),
                            width="stretch")
    st.markdown(roles_topic.reading(roles))
    with st.expander("Head-role table (every head, every score)"):
        st.dataframe(pd.DataFrame(roles.table()), hide_index=True, key="heads_roles_table")
    if st.toggle(f"Tokens each head of layer {layer} maps most (needs the checkpoint's tokenizer)", key="heads_tokens"):
        tokens = cached("head_roles", "top_tokens", model, "Reading each head's OV circuit in token space…", layer=layer)
        if tokens is None:
            st.info("No tokenizer.json or vocab.txt beside the weights, so tokens have no names here.")
        else:
            st.dataframe(pd.DataFrame([{"head": t.head, "copies most": " · ".join(w for w, _ in t.copied),
                                        "strongest mapping reads": " · ".join(t.reads),
                                        "… and writes": " · ".join(t.writes), "strength": t.strength}
                                       for t in tokens]), hide_index=True, width="stretch", key="heads_tokens_table")
else:
    st.info(roles_topic.reading(roles))

st.subheader("Which heads resemble each other")
scopes = [f"Layer {layer}", "All layers"]
scope = st.radio("Heads to cluster", scopes, horizontal=True, key=url_widget("heads_scope", scopes))
feature = st.selectbox("Describe each head by", list(topic.FEATURES), format_func=topic.FEATURES.get,
                       key=url_widget("heads_feature", list(topic.FEATURES),
                                      default=topic.ROLES if topic.roles_separate(roles, layers) else "weights"))
chosen = (layer,) if scope != "All layers" else tuple(layers)
n_points = len(chosen) * c.n_heads
feature, instead = topic.feature_for(model, feature, n_points)
if instead:
    st.info(instead)
if n_points < 2:
    st.info("A single head: nothing to cluster.")
    st.stop()
clustering = cached("heads", "clustering", model, "Clustering the heads (Ward)…", layers=chosen, feature=feature)
if clustering is None:
    st.warning("Fewer than two of these heads have finite weights: nothing to cluster.")
    st.stop()
if clustering.dropped:
    st.warning(f"{len(clustering.dropped)} heads left out of the clustering, their weights hold NaN or Inf: "
               + ", ".join(clustering.dropped[:20]) + ("…" if len(clustering.dropped) > 20 else ""))
n_points = len(clustering.labels)
max_k = min(n_points, 12)
k = (st.slider("Clusters (k)", 2, max_k, key=url_widget("heads_k", low=2, high=max_k, default=min(4, max_k))) if max_k > 2
     else max_k)
links, leaves = topic.dendrogram_links(clustering, k)
st.altair_chart(charts.dendrogram(links, leaves, f"Ward clustering of {n_points} heads: {topic.FEATURES[feature]}"),
                width="stretch")
if len(leaves) < n_points:
    st.caption(f"Only the last {len(leaves)} merges are drawn; a leaf '(n)' stands for n heads.")
st.markdown(topic.clustering_reading(clustering, k))
st.dataframe(pd.DataFrame([{"cluster": i + 1, "heads": len(g), "members": ", ".join(g)}
                           for i, g in enumerate(clustering.members(k))]),
             hide_index=True, width="stretch", key="heads_clusters")
