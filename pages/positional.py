"""Positional embeddings: learned W_pos as numbers (variance, neighbours, periods), or rotary frequencies."""
import streamlit as st

from charts import positional as charts
from charts import relative_bias as relative_charts
from charts import vision as vision_charts
from topics import positional as topic
from topics import vision as vision_topic
from ui.cache import cached
from ui.session import model_caption, require_model

DEFAULT_DIMS = 3  # the first few dimensions are plotted over position until the user picks others

st.title("Positional embeddings")
model = require_model()
model_caption(model)

result = cached("positional", "compute", model, "Analysing the positions…")
vision = result.vision
if vision is not None:  # a vision transformer: its positions on the patch grid, its filters, its class token
    st.subheader("Patch grid" + (" (vision tower)" if vision.stack == "vision" else ""))
    st.markdown(vision_topic.reading(vision))
    if vision.similarity is not None:
        chart = vision_charts.similarity_maps(vision.similarity)
        st.altair_chart(chart, width="content", height=int(chart.height) + 90)  # Streamlit would shrink it
    maps = [("Class token vs patch positions", vision.cls_to_positions)] if vision.cls_to_positions is not None else []
    maps += [(f"Position row of the {name} vs patch positions", m)
             for name, m in zip(vision.prefix_names, [] if vision.prefix_maps is None else vision.prefix_maps)]
    for column, (title, values) in zip(st.columns(max(len(maps), 1)), maps):
        chart = vision_charts.grid_map(values, title, "cosine to each patch position's row of W_pos")
        column.altair_chart(chart, height=int(chart.height) + 90)
    if vision.filters is not None:
        chart = vision_charts.filters(vision.filters, vision.d_model)
        st.altair_chart(chart, width="content", height=int(chart.height) + 90)
    st.subheader("Positions as a sequence")
if result.learned is None:
    if result.relative:  # T5: a bias per distance bucket and head, per stack (or per layer: UMT5)
        st.markdown(topic.reading(result))
        shown = result.relative
        if len(shown) > 2:  # one table per layer: one at a time
            labels = [r.label for r in shown]
            shown = [shown[labels.index(st.selectbox("Bias table", labels, key="positional_relative"))]]
        for r in shown:
            st.subheader(r.label)
            left, right = st.columns([1, 2])
            left.altair_chart(relative_charts.heatmap(r.by_distance, r.label), width="stretch")
            right.altair_chart(relative_charts.by_distance(r.by_distance, r.label), width="stretch")
    elif result.rotary is not None:
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
