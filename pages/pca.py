"""PCA per layer: standardise a slot's matrix, then how many directions hold its variance."""
import streamlit as st

from adapters import schema
from charts import pca as charts
from topics import pca as topic
from topics.layers import slot_layers
from topics.skipped import words as skipped_words
from ui.cache import cached
from ui.session import model_caption, require_model
from ui.widgets import per_layer_matrix

st.title("PCA per layer")
model = require_model()
model_caption(model)

left, right = st.columns(2)
slot = per_layer_matrix(model, left, "pca_slot")
layers = slot_layers(model, slot)
axes = cached("matrices", "header", model, None, name=schema.name(slot, layers[0]))
samples = right.radio("Samples (standardised over the other axis)", list(topic.SAMPLES), key="pca_samples",
                      format_func=lambda s: f"{s}: {axes.rows if s == 'rows' else axes.cols}",
                      help="rows: each input dimension is one sample, described by its weights to every output")

chosen = st.multiselect("Layers to show", layers, default=topic.first_and_last_layers(layers), key="pca_layers")

result = cached("pca", "compute", model, "PCA of every layer…", slot=slot, samples=samples)
if result.skipped:
    st.warning(skipped_words(result.skipped, "layer"))
st.altair_chart(charts.counts(result.layers, chosen), width="stretch")
st.markdown(topic.reading(result))
chosen = [l for l in chosen if l not in {s.layer for s in result.skipped}]
if not chosen:
    st.info("Pick layers above (that could be decomposed) to see their curves and components.")
    st.stop()
scored = {r.layer: r for r in result.scored_layers()}
detail = [scored.get(l) or cached("pca", "one_layer", model, "Projecting on the first two components…",
                                  slot=slot, samples=samples, layer=l) for l in sorted(chosen)]
st.altair_chart(charts.cumulative(detail), width="stretch")
st.altair_chart(charts.scatter(detail, samples), width="content")
