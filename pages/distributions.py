"""Weight distributions: how far one matrix's values are from a normal, and how that changes by layer."""
import pandas as pd
import streamlit as st

from adapters import schema
from adapters.views import QKV, matrix, matrix_names
from analyses import distribution as dist
from charts import distribution as charts
from ui.session import model_caption, require_model

DEFAULT = "blocks.{l}." + QKV  # the notebook's c_attn: layer 0's Q, K, V together


@st.cache_data(show_spinner="Measuring the distribution…", max_entries=64)
def _describe(_model, identity: str, name: str) -> tuple[dist.DistributionStats, dist.Histogram]:
    values = matrix(_model, name).values
    return dist.describe(values), dist.histogram(values, bins=200)


def _choices(model) -> list[str]:
    """Per-layer names folded into one 'blocks.{l}.…' template each (the layer is its own widget)."""
    out = []
    for name in matrix_names(model):
        template = name if name.startswith("raw:") else schema.template_of(name)
        if template not in out:
            out.append(template)
    return out


st.title("Weight distributions")
model = require_model()
model_caption(model)

choices = _choices(model)
if not choices:
    st.info("This checkpoint has no 2-D weight matrices to look at.")
    st.stop()
template = st.selectbox("Matrix", choices, index=choices.index(DEFAULT) if DEFAULT in choices else 0,
                        key="distributions_matrix", help="blocks.{l}.… names are per layer: pick the layer below")
present = set(matrix_names(model, include_raw=False))
layers = [l for l in range(model.cfg.n_layers or 0) if template.format(l=l) in present]
if "{l}" in template:
    layer = (st.select_slider("Layer", layers, value=layers[0], key="distributions_layer")
             if len(layers) > 1 else layers[0])
    name = template.format(l=layer)
else:
    name = template
log_scale = st.toggle("Log density axis (shows the tails)", key="distributions_log")

stats, hist = _describe(model, model.identity, name)
st.markdown(dist.reading(name, stats))
cols = st.columns(6)
for col, (label, value) in zip(cols, [("mean", stats.mean), ("std", stats.std), ("skewness", stats.skew),
                                      ("excess kurtosis", stats.kurtosis), ("KS D", stats.ks_statistic),
                                      ("KS p-value", stats.ks_pvalue)]):
    col.metric(label, f"{value:.3g}")
st.altair_chart(charts.histogram(hist, stats, name, log_scale), width="stretch")
st.caption("The KS p-value treats the fitted normal as given in advance; fitted to the same values it is "
           "conservative (the Lilliefors correction would make it smaller)."
           + ("" if stats.ks_n == stats.n else f" The KS test ran on a random subsample of {stats.ks_n:,} values "
              f"(seed {dist.KS_SEED}); the moments use all {stats.n:,}."))

if "{l}" in template and len(layers) > 1:
    st.subheader(f"Every layer's `{template}`")
    rows = dist.layer_rows({l: _describe(model, model.identity, template.format(l=l))[0] for l in layers},
                           schema.split_layer(name)[1])
    st.markdown(dist.layers_reading(rows))
    st.altair_chart(charts.by_layer(rows))
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="distributions_table")
