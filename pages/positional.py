"""Positional embeddings: learned W_pos as numbers (variance, neighbours, periods), or rotary frequencies."""
import streamlit as st

from analyses import positional as pos
from charts import MAX_ROWS
from charts import positional as charts
from ui.session import model_caption, require_model

DEFAULT_DIMS = 3  # the notebook plotted a handful of dimensions over position; we start with the first few


@st.cache_data(show_spinner="Analysing W_pos…", max_entries=8)
def _summary(_model, identity: str) -> pos.PositionalSummary:
    return pos.summarize(_model.weight("pos_embed.W_pos"))


@st.cache_data(show_spinner="Cosine similarity between positions…", max_entries=8)
def _cosine(_model, identity: str) -> pos.Grid:
    w = _model.weight("pos_embed.W_pos")
    keep = pos.strided_indices(w.shape[0], int(MAX_ROWS ** 0.5))
    # only the displayed rows are compared: the full n_ctx × n_ctx matrix is never built for display
    return pos.Grid(pos.cosine_similarity(w[keep]), keep, keep, (w.shape[0], w.shape[0]))


st.title("Positional embeddings")
model = require_model()
model_caption(model)
c = model.cfg

if not model.has("pos_embed.W_pos"):
    if c.positional == "rotary" and c.rotary_dim and c.rotary_base:
        freqs = pos.rotary_frequencies(c.rotary_dim, c.rotary_base, c.n_ctx)
        st.markdown(pos.rotary_reading(freqs))
        st.altair_chart(charts.rotary(freqs), width="stretch")
    elif c.positional == "rotary":
        st.info("This model uses rotary position embeddings, but its config does not give the rotary "
                "dimension and base, so the frequencies cannot be shown.")
    elif c.positional == "alibi":
        st.info("This model has no positional embedding matrix: ALiBi adds a fixed, per-head linear penalty "
                "on distance to the attention scores instead.")
    else:
        st.info(f"This model has no learned positional embedding matrix (positional scheme: {c.positional}).")
    st.stop()

w_pos = model.weight("pos_embed.W_pos")  # (n_ctx, d_model)
summary = _summary(model, model.identity)
n_ctx, d_model = w_pos.shape
st.markdown(pos.reading(summary))

lo, hi = st.slider("Positions to show (zoom)", 0, n_ctx - 1, (0, n_ctx - 1), key="positional_range")
st.altair_chart(charts.heatmap(pos.grid(w_pos[lo:hi + 1], MAX_ROWS), offset=lo), width="stretch")

dims = st.multiselect("Dimensions to plot over position", list(range(d_model)),
                      default=list(range(min(DEFAULT_DIMS, d_model))), key="positional_dims")
if dims:
    st.altair_chart(charts.dimension_curves(w_pos, dims, lo, hi + 1), width="stretch")

s = summary
st.altair_chart(charts.dimension_curves(
    w_pos, [s.highest_variance_dim, s.median_variance_dim, s.lowest_variance_dim], lo, hi + 1,
    title=f"Highest- ({s.highest_variance_dim}), median- ({s.median_variance_dim}) and lowest-variance "
          f"({s.lowest_variance_dim}) dimensions"), width="stretch")

left, right = st.columns(2)
left.altair_chart(charts.adjacent_correlation(summary.adjacent_correlation), width="stretch")
right.altair_chart(charts.cosine_heatmap(_cosine(model, model.identity)), width="stretch")

st.altair_chart(charts.periods(summary), width="stretch")
