"""Weight distributions: how far one matrix's values are from a normal, and how that changes by layer."""
import pandas as pd
import streamlit as st

from adapters.views import QKV
from charts import distribution as charts
from topics import distributions as topic
from adapters import schema
from topics.layers import matrix_slots, slot_layers
from ui.cache import cached
from ui.progress import StoppableProgress
from ui.session import model_caption, require_model
from ui.url_state import url_widget
from ui.widgets import expert_choice

STOPPED_KEY = "distributions_stopped"  # session_state: the Stop button was clicked (for one run)


def _every_layer(model, slot: str, layers: list[int]) -> topic.Distributions:
    """topics.distributions.compute, one cached layer at a time, with a bar that moves and a Stop button."""
    work = StoppableProgress(f"Measuring every layer's {slot}…", key="distributions_stop",
                             on_stop=lambda: st.session_state.update({STOPPED_KEY: True}))
    found = {}
    for i, l in enumerate(layers):
        work.update(i / len(layers), f"Distributions: layer {l} of {len(layers)}")
        found[l] = cached("distributions", "describe", model, name=schema.name(slot, l))
    work.done()
    return topic.Distributions(slot, found)


st.title("Weight distributions")
model = require_model()
model_caption(model)

choices = topic.choices(model)
if not choices:
    st.info("This checkpoint has no 2-D weight matrices to look at.")
    st.stop()
per_layer = set(matrix_slots(model))
choice = st.selectbox("Matrix", choices,
                      key=url_widget("distributions_matrix", choices, default=QKV if QKV in choices else None), format_func=lambda c: f"{c} (per layer)" if c in per_layer else c,
                      help="Per-layer slots: pick the layer below. W_QKV is Q, K and V side by side.")
choice = expert_choice(model, choice, st, "distributions_expert")
layer = None
if schema.split_expert(choice)[0] in per_layer:
    layers = slot_layers(model, choice)
    layer = (st.select_slider("Layer", layers, key=url_widget("distributions_layer", layers))
             if len(layers) > 1 else layers[0])
log_scale = st.toggle("Log density axis (shows the tails)", key="distributions_log")

name = choice if layer is None else schema.name(choice, layer)
shown = cached("distributions", "describe", model, "Measuring the distribution…", name=name)  # this layer first
stats = shown.stats
st.markdown(topic.matrix_reading(shown))
cols = st.columns(6)
for col, (label, value) in zip(cols, [("mean", stats.mean), ("std", stats.std), ("skewness", stats.skew),
                                      ("excess kurtosis", stats.kurtosis), ("KS D", stats.ks_statistic),
                                      ("KS p-value", stats.ks_pvalue)]):
    col.metric(label, f"{value:.3g}")
st.altair_chart(charts.histogram(shown.histogram, stats, shown.name, log_scale), width="stretch")
st.caption(topic.ks_note(stats))

if layer is not None and len(layers) > 1:
    st.subheader(f"Every layer's `{choice}`")
    if st.session_state.pop(STOPPED_KEY, None):
        st.info("Stopped. The layers measured are kept: click **Go on** to measure the rest.")
        st.button("Go on", key="distributions_resume")
        st.stop()
    result = _every_layer(model, choice, layers)
    rows = topic.rows(result)
    st.markdown(topic.layers_reading(result))
    st.altair_chart(charts.by_layer(rows))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="distributions_table",
                 column_config={"ks_pvalue": st.column_config.NumberColumn("ks_pvalue", format="scientific")})
