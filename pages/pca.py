"""PCA per layer: standardise a slot's matrix, then how many directions hold its variance."""
import streamlit as st

from adapters.views import matrix
from analyses.pca import reading
from charts import pca as charts
from reporting.layers import slot_layers
from reporting.pca import notebook_layers, spectra
from ui.session import model_caption, require_model
from ui.widgets import per_layer_matrix

st.title("PCA per layer")
model = require_model()
model_caption(model)


@st.cache_data(show_spinner="PCA of every layer…", max_entries=16)
def _every_layer(_model, identity, slot, samples):
    return spectra(_model, slot, samples)


@st.cache_data(show_spinner="Projecting on the first two components…", max_entries=64)
def _with_scores(_model, identity, slot, samples, layer):
    return spectra(_model, slot, samples, [layer], with_scores=True)[0]


@st.cache_data(max_entries=32)
def _axes(_model, identity, slot, layer):
    m = matrix(_model, f"blocks.{layer}.{slot}")
    return m.rows, m.cols


left, right = st.columns(2)
slot = per_layer_matrix(model, left, "pca_slot")
layers = slot_layers(model, slot)
rows_label, cols_label = _axes(model, model.identity, slot, layers[0])
samples = right.radio("Samples (standardised over the other axis)", ["rows", "columns"], key="pca_samples",
                      format_func=lambda s: f"{s}: {rows_label if s == 'rows' else cols_label}",
                      help="The notebook used rows: each input dimension is one sample")
chosen = st.multiselect("Layers to show", layers, default=notebook_layers(layers), key="pca_layers")

every = _every_layer(model, model.identity, slot, samples)
st.altair_chart(charts.counts(every, chosen), width="stretch")
st.markdown(reading(every, slot, samples))
if not chosen:
    st.info("Pick layers above to see their curves and components.")
    st.stop()
detail = [_with_scores(model, model.identity, slot, samples, l) for l in sorted(chosen)]
st.altair_chart(charts.cumulative(detail), width="stretch")
st.altair_chart(charts.scatter(detail, samples), width="content")
