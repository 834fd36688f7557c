"""Attention heads: each head's weights, per-head statistics by layer, and which heads resemble each other.

Heads come from the per-head schema (W_Q[h], W_K[kv(h)], W_V[kv(h)], W_O[h]), never from cutting a
fused qkv matrix into equal column blocks, which would mix query, key and value columns.
"""
import pandas as pd
import streamlit as st

from analyses import heads
from charts import MAX_ROWS
from charts import heads as charts
from ui.session import model_caption, require_model

st.title("Attention heads")
model = require_model()
model_caption(model)
c = model.cfg
if not model.has("blocks.0.attn.W_Q"):
    st.info("This model has no per-head view: the number of attention heads is unknown "
            "(or no adapter maps its attention weights to heads), so the heads cannot be told apart. "
            "If you know the head count, enter it in the sidebar under **Heads**.")
    st.stop()


@st.cache_data(show_spinner="Computing per-head statistics for every layer…")
def _statistics(_model, identity: str) -> dict:
    return heads.model_statistics(_model.weight, _model.cfg.n_layers)


@st.cache_data(show_spinner="Downsampling each head's matrix…")
def _tiles(_model, identity: str, layer: int, slot: str):
    stack = _model.weight(f"blocks.{layer}.attn.{slot}")  # (heads, d_model, d_head) or W_O (heads, d_head, d_model)
    return heads.head_tiles(stack, MAX_ROWS - 1), stack.shape


@st.cache_data(show_spinner="Clustering the heads (Ward)…")
def _clustering(_model, identity: str, layers: tuple, feature: str) -> heads.Clustering:
    return heads.cluster_layers(_model.weight, list(layers), feature)


layer = st.selectbox("Layer", range(c.n_layers), key="heads_layer")

st.subheader("Each head's weights")
slot = st.radio("Weight", ["W_Q", "W_K", "W_V", "W_O"], horizontal=True, key="heads_weight",
                help="W_K and W_V have one matrix per key/value head (fewer than the query heads under GQA).")
tiles, shape = _tiles(model, model.identity, layer, slot)
kv_note = slot in ("W_K", "W_V") and c.n_kv_heads != c.n_heads
labels = [f"KV{g}" for g in range(len(tiles))] if kv_note else heads.head_labels(len(tiles))
axes = ("d_head", "d_model") if slot == "W_O" else ("d_model", "d_head")
st.altair_chart(charts.head_tiles(tiles, labels, shape[1:], axes, f"{slot} of layer {layer}, per head"))
if kv_note:
    st.caption(f"{c.n_kv_heads} key/value heads, each shared by {c.n_heads // c.n_kv_heads} query heads.")

st.subheader("Per-head statistics")
stats = _statistics(model, model.identity)
stat = st.selectbox("Statistic", list(heads.STATISTICS), format_func=heads.STATISTICS.get, key="heads_stat",
                    index=list(heads.STATISTICS).index("ov_norm"))
label = heads.STATISTICS[stat]
left, right = st.columns(2)
left.altair_chart(charts.layer_head_map(stats[stat], label), width="stretch")
right.altair_chart(charts.depth_trend(stats[stat], label), width="stretch")
st.markdown(heads.statistics_reading(stats[stat], label))
with st.expander(f"Every statistic of layer {layer}'s heads"):
    st.dataframe(pd.DataFrame({heads.STATISTICS[k]: v[layer] for k, v in stats.items()},
                              index=heads.head_labels(c.n_heads)), key="heads_table")

st.subheader("Which heads resemble each other")
scope = st.radio("Heads to cluster", [f"Layer {layer}", "All layers"], horizontal=True, key="heads_scope")
feature = st.selectbox("Describe each head by", list(heads.FEATURES), format_func=heads.FEATURES.get,
                       key="heads_feature")
layers = (layer,) if scope != "All layers" else tuple(range(c.n_layers))
n_points = len(layers) * c.n_heads
if (affordable := heads.affordable_feature(feature, n_points, c.d_model, c.d_head)) != feature:
    st.info(f"'{heads.FEATURES[feature]}' for {n_points} heads would hold "
            f"{n_points * heads.feature_size(feature, c.d_model, c.d_head):,} numbers; "
            "clustering by the QK and OV singular-value profiles instead.")
    feature = affordable
if n_points < 2:
    st.info("A single head: nothing to cluster.")
    st.stop()
clustering = _clustering(model, model.identity, layers, feature)
max_k = min(n_points, 12)
k = st.slider("Clusters (k)", 2, max_k, min(4, max_k), key="heads_k") if max_k > 2 else max_k
links, leaves = heads.dendrogram_links(clustering, k)
st.altair_chart(charts.dendrogram(links, leaves, f"Ward clustering of {n_points} heads: {heads.FEATURES[feature]}"))
if len(leaves) < n_points:
    st.caption(f"Only the last {len(leaves)} merges are drawn; a leaf '(n)' stands for n heads.")
st.markdown(heads.clustering_reading(clustering, k))
st.dataframe(pd.DataFrame([{"cluster": i + 1, "heads": len(g), "members": ", ".join(g)}
                           for i, g in enumerate(clustering.members(k))]),
             hide_index=True, width="stretch", key="heads_clusters")
