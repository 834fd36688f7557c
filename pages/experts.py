"""Mixture of experts: every expert of every MoE layer side by side, the router, and how alike experts are."""
import streamlit as st

from adapters import schema
from charts import experts as charts
from topics import experts as topic
from ui.cache import cached
from ui.session import model_caption, require_model

st.title("Experts")
model = require_model()
model_caption(model)

slots = topic.slots(model)
if not slots:
    st.info(topic.NOT_MOE)
    st.stop()

left, mid = st.columns(2)
slot = left.selectbox("Expert matrix", slots, key="experts_slot")
metric = mid.selectbox("Metric", list(topic.METRICS), key="experts_metric", help="\n".join(
    f"- **{k}**: {v}" for k, v in topic.METRICS.items()))
spectral = metric in ("alpha", "stable_rank")
result = cached("experts", "compute", model, progress="Measuring every expert…", slot=slot, spectral=spectral)
st.markdown(topic.reading(result))
st.altair_chart(charts.layer_by_expert(result.metrics[metric], result.layers, metric,
                                       f"{metric} of {slot}, per layer and expert"), width="stretch")
st.caption(topic.METRICS[metric])
if result.router_norms is not None:
    st.altair_chart(charts.layer_by_expert(result.router_norms, result.layers, "router norm",
                                           "Router column norm ‖W_router[:, e]‖ per layer and expert"),
                    width="stretch")

st.subheader("How alike are one layer's experts?")
layer = st.selectbox("Layer to compare", result.layers, key="experts_layer")
sim = cached("experts", "similarity", model, "Comparing the experts…", layer=layer, slot=slot)
st.markdown(topic.similarity_reading(sim, layer, slot))
st.altair_chart(charts.similarity(sim.cosine, sim.order, f"Cosine between layer {layer}'s experts", slot),
                width="content")
st.caption("Rows and columns in average-linkage clustering order: experts that are alike sit together. "
           f"Any single expert's matrix is on the Matrix heatmaps, Distributions and PCA pages (`{schema.name(schema.expert_slot(slot, 0), layer)}`…).")
