"""Topic results cached for every visitor of the app: one `st.cache_data` keyed by what they depend on.

    from ui.cache import cached
    result = cached("heads", "compute", model, "Per-head statistics…")          # topics.heads.compute(model)
    rows = cached("spectral", "layer_rows", model, None, layer=3, shuffled=False)

The key is the topic, the entry point, `model.cache_key` (the files and the caller's head count) and the
options; the model itself is never hashed. Results are pickled by Streamlit, so they stay numbers.
"""
from __future__ import annotations

import importlib
from typing import Callable

import streamlit as st

_MAX_ENTRIES = 512  # a model's spectral rows are one entry per layer; large arrays never enter the cache


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def _run(topic: str, entry: str, _model, cache_key: str, options: tuple, _progress: Callable | None = None):
    function = getattr(importlib.import_module(f"topics.{topic}"), entry)
    kwargs = dict(options)
    if _progress is not None:
        kwargs["progress"] = _progress
    return function(_model, **kwargs)


def cached(topic: str, entry: str, model, spinner: str | None = None, progress: Callable | None = None,
           **options):
    """topics.<topic>.<entry>(model, **options), computed once per model and options.

    `spinner`: text shown while it computes (None: nothing); `progress(fraction, text)` is passed to the
    entry point as `progress` when given (a progress bar), and is not part of the key."""
    key = tuple(sorted(options.items()))
    if spinner is None:
        return _run(topic, entry, model, model.cache_key, key, progress)
    with st.spinner(spinner):
        return _run(topic, entry, model, model.cache_key, key, progress)
