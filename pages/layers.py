"""Across layers: how one slot's weights and their per-row variance change with depth."""
import streamlit as st

from analyses.layers import reading
from charts import layers as charts
from reporting.layers import matrix_slots, summaries
from ui.session import model_caption, require_model

st.title("Across layers")
model = require_model()
model_caption(model)


@st.cache_data(show_spinner="Statistics of every layer…", max_entries=16)
def _summaries(_model, identity, slot):
    return summaries(_model, slot)


slots = matrix_slots(model)
if not slots:
    st.warning("This model has no per-layer weight matrices to analyse.")
    st.stop()
left, right = st.columns(2)
slot = left.selectbox("Matrix", slots, key="layers_slot",
                      help="W_QKV: the query, key and value projections side by side (GPT-2's c_attn)")
shape = right.radio("Per-row variance as", ["box plot", "violin", "both"], key="layers_shape", horizontal=True)

found = _summaries(model, model.identity, slot)
st.altair_chart(charts.stats_band(found, slot), width="stretch")
st.markdown(reading(found, slot))
if shape in ("box plot", "both"):
    st.altair_chart(charts.box(found), width="stretch")
if shape in ("violin", "both"):
    st.altair_chart(charts.violin(found), width="content")
st.caption("The variance of a row is taken over its columns (ddof=0); rows are the matrix's input axis.")
