"""Across layers: how one slot's weights and their per-row variance change with depth."""
import streamlit as st

from charts import layers as charts
from topics import layers as topic
from ui.cache import cached
from ui.session import model_caption, require_model
from ui.widgets import per_layer_matrix

st.title("Across layers")
model = require_model()
model_caption(model)

left, right = st.columns(2)
slot = per_layer_matrix(model, left, "layers_slot")
shape = right.radio("Per-row variance as", ["box plot", "violin", "both"], key="layers_shape", horizontal=True)

result = cached("layers", "compute", model, "Statistics of every layer…", slot=slot)
st.altair_chart(charts.stats_band(result.summaries, slot), width="stretch")
st.markdown(topic.reading(result))
if shape in ("box plot", "both"):
    st.altair_chart(charts.box(result.summaries), width="stretch")
if shape in ("violin", "both"):
    st.altair_chart(charts.violin(result.summaries), width="content")
st.caption("The variance of a row is taken over its columns (ddof=0); rows are the matrix's input axis.")
