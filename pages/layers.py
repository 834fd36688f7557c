"""Across layers: how one slot's weights and their per-row variance change with depth."""
import streamlit as st

from analyses.layers import reading
from charts import layers as charts
from reporting.layers import summaries
from ui.session import model_caption, require_model
from ui.widgets import per_layer_matrix

st.title("Across layers")
model = require_model()
model_caption(model)


@st.cache_data(show_spinner="Statistics of every layer…", max_entries=16)
def _summaries(_model, identity, slot):
    return summaries(_model, slot)


left, right = st.columns(2)
slot = per_layer_matrix(model, left, "layers_slot")
shape = right.radio("Per-row variance as", ["box plot", "violin", "both"], key="layers_shape", horizontal=True)

found = _summaries(model, model.identity, slot)
st.altair_chart(charts.stats_band(found, slot), width="stretch")
st.markdown(reading(found, slot))
if shape in ("box plot", "both"):
    st.altair_chart(charts.box(found), width="stretch")
if shape in ("violin", "both"):
    st.altair_chart(charts.violin(found), width="content")
st.caption("The variance of a row is taken over its columns (ddof=0); rows are the matrix's input axis.")
