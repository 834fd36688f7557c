"""Positional embeddings: learned W_pos as numbers (variance, neighbours, periods), or rotary frequencies."""
import streamlit as st

from charts import positional as charts
from topics import positional as topic
from ui.cache import cached
from ui.session import model_caption, require_model

DEFAULT_DIMS = 3  # the first few dimensions are plotted over position until the user picks others

st.title("Positional embeddings")
model = require_model()
model_caption(model)

result = cached("positional", "compute", model, "Analysing the positions…")
if result.learned is None:
    if result.rotary is not None:
        st.markdown(topic.reading(result))
        st.altair_chart(charts.rotary(result.rotary), width="stretch")
    else:
        st.info(topic.reading(result))
    st.stop()

learned = result.learned
s = learned.summary
if topic.broken_words(s):
    st.warning(topic.broken_words(s))
st.markdown(topic.reading(result))

lo, hi = st.slider("Positions to show (zoom)", 0, s.n_ctx - 1, (0, s.n_ctx - 1), key="positional_range")
st.altair_chart(charts.heatmap(cached("positional", "window", model, None, start=lo, stop=hi + 1), offset=lo),
                width="stretch")

dims = st.multiselect("Dimensions to plot over position", list(range(s.d_model)),
                      default=list(range(min(DEFAULT_DIMS, s.d_model))), key="positional_dims")
if dims:
    columns = cached("positional", "dimensions", model, None, dims=tuple(dims))
    st.altair_chart(charts.dimension_curves(columns, dims, lo, hi + 1), width="stretch")

st.altair_chart(charts.dimension_curves(
    learned.extremes, learned.extreme_dims, lo, hi + 1,
    title=f"Highest- ({s.highest_variance_dim}), median- ({s.median_variance_dim}) and lowest-variance "
          f"({s.lowest_variance_dim}) dimensions"), width="stretch")

left, right = st.columns(2)
left.altair_chart(charts.adjacent_correlation(s.adjacent_correlation), width="stretch")
right.altair_chart(charts.cosine_heatmap(learned.cosine), width="stretch")

st.altair_chart(charts.periods(s), width="stretch")
