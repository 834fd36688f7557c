"""Weight distributions: how far one matrix's values are from a normal, and how that changes by layer."""
import pandas as pd
import streamlit as st

from adapters.views import QKV
from charts import distribution as charts
from topics import distributions as topic
from adapters import schema
from topics.layers import matrix_slots, slot_layers
from ui.cache import cached
from ui.session import model_caption, require_model
from ui.widgets import expert_choice

st.title("Weight distributions")
model = require_model()
model_caption(model)

choices = topic.choices(model)
if not choices:
    st.info("This checkpoint has no 2-D weight matrices to look at.")
    st.stop()
per_layer = set(matrix_slots(model))
choice = st.selectbox("Matrix", choices, index=choices.index(QKV) if QKV in choices else 0,
                      key="distributions_matrix", format_func=lambda c: f"{c} (per layer)" if c in per_layer else c,
                      help="Per-layer slots: pick the layer below. W_QKV is Q, K and V side by side.")
choice = expert_choice(model, choice, st, "distributions_expert")
layer = None
if schema.split_expert(choice)[0] in per_layer:
    layers = slot_layers(model, choice)
    layer = (st.select_slider("Layer", layers, value=layers[0], key="distributions_layer")
             if len(layers) > 1 else layers[0])
log_scale = st.toggle("Log density axis (shows the tails)", key="distributions_log")

if layer is None:
    result, shown = None, cached("distributions", "describe", model, "Measuring the distribution…", name=choice)
else:
    result = cached("distributions", "compute", model, "Measuring every layer's distribution…", slot=choice)
    shown = result.by_layer[layer]
stats = shown.stats
st.markdown(topic.matrix_reading(shown))
cols = st.columns(6)
for col, (label, value) in zip(cols, [("mean", stats.mean), ("std", stats.std), ("skewness", stats.skew),
                                      ("excess kurtosis", stats.kurtosis), ("KS D", stats.ks_statistic),
                                      ("KS p-value", stats.ks_pvalue)]):
    col.metric(label, f"{value:.3g}")
st.altair_chart(charts.histogram(shown.histogram, stats, shown.name, log_scale), width="stretch")
st.caption(topic.ks_note(stats))

if result is not None and len(result.by_layer) > 1:
    st.subheader(f"Every layer's `{choice}`")
    rows = topic.rows(result)
    st.markdown(topic.layers_reading(result))
    st.altair_chart(charts.by_layer(rows))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="distributions_table",
                 column_config={"ks_pvalue": st.column_config.NumberColumn("ks_pvalue", format="scientific")})
