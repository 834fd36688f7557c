"""Matrix heatmaps: any weight matrix, whole or zoomed to a row/column window."""
import streamlit as st

from adapters import schema
from adapters.views import RAW, matrix_names
from charts import matrices as charts
from topics import matrices as topic
from ui.cache import cached
from ui.session import model_caption, require_model
from ui.url_state import url_widget
from ui.widgets import expert_choice

st.title("Matrix heatmaps")
model = require_model()
model_caption(model)

names = matrix_names(model)
name = st.selectbox("Matrix", names, key=url_widget("matrices_name", names),
                    help="Schema slots per layer, the derived W_QKV (Q, K, V side by side), and raw "
                         "checkpoint tensors as stored ('raw:')")
if not name.startswith(RAW) and schema.parse(name).slot in schema.EXPERT_SLOTS:  # one expert, or all of them
    key = schema.parse(name)
    name = schema.name(expert_choice(model, key.slot, st, "matrices_expert"), key.layer, key.stack)
head = cached("matrices", "header", model, "Reading the matrix…", name=name)
(n_rows, n_cols), rows_label, cols_label = head.shape, head.rows, head.cols
if topic.warning(name, head):
    st.warning(topic.warning(name, head))
left, mid, right = st.columns(3)
as_image = left.radio("View", ["Interactive heatmap", "Image (PNG)"], key="matrices_view",
                      help=f"Interactive: at most {topic.CELLS:,} cells, with tooltips and zoom. "
                           f"Image: up to {topic.PIXELS:,} pixels a side.") == "Image (PNG)"
# block extremes by default: a block mean hides the one large weight a user is looking for
method = mid.radio("Reduce large matrices by", list(topic.METHODS), format_func=topic.METHODS.get,
                   index=list(topic.METHODS).index("maxabs"), key="matrices_method")
colormap = right.selectbox("Colours", list(charts.COLORMAPS), key="matrices_colormap")
# Keyed per matrix: each keeps its own window, and a new shape never meets an old out-of-range value.
rows = st.slider(f"Rows ({rows_label})", 0, n_rows, (0, n_rows), key=f"matrices_rows:{name}")
cols = st.slider(f"Columns ({cols_label})", 0, n_cols, (0, n_cols), key=f"matrices_cols:{name}")
if rows[1] <= rows[0] or cols[1] <= cols[0]:
    st.warning("Pick a window at least one row and one column wide.")
    st.stop()

result = cached("matrices", "compute", model, "Reducing the matrix…", name=name, rows=rows, cols=cols,
                method=method, as_image=as_image)
if as_image:
    st.image(charts.figure(result.blocks, head.title, rows_label, cols_label, colormap),
             caption=charts.caption(result.blocks, head.title, rows_label, cols_label, colormap))
else:
    st.altair_chart(charts.heatmap(result.blocks, head.title, rows_label, cols_label, colormap,
                                   result.header.heads, result.header.head_axis), width="stretch")
st.markdown(topic.reading(result))
