"""Matrix heatmaps: any weight matrix, whole or zoomed to a row/column window."""
import streamlit as st

from adapters.views import matrix, matrix_names
from analyses.matrices import METHODS, downsample, grid_for_cells, matrix_stats, reading
from charts import matrices as charts
from ui.session import model_caption, require_model

MAX_CELLS = 4000  # Altair draws one rectangle per cell
MAX_PIXELS = 1024  # a side of the PNG view

st.title("Matrix heatmaps")
model = require_model()
model_caption(model)


@st.cache_data(show_spinner="Reading the matrix…", max_entries=32)
def _header(_model, identity, name):
    m = matrix(_model, name)
    return m.values.shape, m.rows, m.cols, m.title


@st.cache_data(show_spinner="Reducing the matrix…", max_entries=32)
def _view(_model, identity, name, rows, cols, method, as_image):
    """Only the reduced grid and the norms leave this function; the matrix itself is never cached."""
    m = matrix(_model, name)
    window = m.values[rows[0]:rows[1], cols[0]:cols[1]]
    n_r, n_c = window.shape
    grid = (min(n_r, MAX_PIXELS), min(n_c, MAX_PIXELS)) if as_image else grid_for_cells(n_r, n_c, MAX_CELLS)
    return (downsample(window, grid, method, (rows[0], cols[0])),
            matrix_stats(window, (rows[0], cols[0]), rows_label=m.rows, cols_label=m.cols))


names = matrix_names(model)
name = st.selectbox("Matrix", names, key="matrices_name",
                    help="Schema slots per layer, the derived W_QKV (Q, K, V side by side), and raw "
                         "checkpoint tensors as stored ('raw:')")
(n_rows, n_cols), rows_label, cols_label, title = _header(model, model.identity, name)
left, mid, right = st.columns(3)
as_image = left.radio("View", ["Interactive heatmap", "Image (PNG)"], key="matrices_view",
                      help=f"Interactive: at most {MAX_CELLS:,} cells, with tooltips and zoom. "
                           f"Image: up to {MAX_PIXELS:,} pixels a side.") == "Image (PNG)"
method = mid.radio("Reduce large matrices by", list(METHODS), format_func=METHODS.get, key="matrices_method")
colormap = right.selectbox("Colours", list(charts.COLORMAPS), key="matrices_colormap")
# Keyed per matrix: each keeps its own window, and a new shape never meets an old out-of-range value.
rows = st.slider(f"Rows ({rows_label})", 0, n_rows, (0, n_rows), key=f"matrices_rows:{name}")
cols = st.slider(f"Columns ({cols_label})", 0, n_cols, (0, n_cols), key=f"matrices_cols:{name}")
if rows[1] <= rows[0] or cols[1] <= cols[0]:
    st.warning("Pick a window at least one row and one column wide.")
    st.stop()

blocks, stats = _view(model, model.identity, name, rows, cols, method, as_image)
if as_image:
    st.image(charts.image(blocks, colormap), caption=charts.caption(blocks, title, rows_label, cols_label, colormap))
else:
    st.altair_chart(charts.heatmap(blocks, title, rows_label, cols_label, colormap), width="stretch")
st.markdown(reading(stats))
