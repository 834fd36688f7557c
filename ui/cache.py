"""Topic results cached for every visitor of the app: one `st.cache_data` keyed by what they depend on.

    from ui.cache import cached, cached_pair
    result = cached("heads", "compute", model, "Per-head statistics…")          # topics.heads.compute(model)
    rows = cached("spectral", "layer_slots", model, None, layer=3, shuffled=False)
    result = cached("health", "compute", model, progress="Reading every tensor once…")   # with a progress bar
    diffs = cached_pair("compare", "compute", model_a, model_b, progress="Comparing tensors…")

The key is the topic, the entry point, each model's `cache_key` (the files and the caller's head count)
and the options; a model itself is never hashed. Results are pickled by Streamlit, so they stay numbers.
"""
from __future__ import annotations

import importlib

import streamlit as st

_MAX_ENTRIES = 512  # a model's spectral rows are one entry per layer; large arrays never enter the cache


@st.cache_data(show_spinner=False, max_entries=_MAX_ENTRIES)
def _run(topic: str, entry: str, _models: tuple, cache_keys: tuple, options: tuple, progress: str | None):
    function = getattr(importlib.import_module(f"topics.{topic}"), entry)
    kwargs = dict(options)
    if progress is None:
        return function(*_models, **kwargs)
    # The bar is made in here, so Streamlit records it with the result and replays it (shown, then
    # emptied) on a hit; an element made outside could not be replayed.
    bar = st.progress(0.0, text=progress)
    result = function(*_models, **kwargs, progress=lambda fraction, text: bar.progress(fraction, text=text))
    bar.empty()
    return result


def _call(topic: str, entry: str, models: tuple, spinner: str | None, progress: str | None, options: dict):
    key = tuple(sorted(options.items()))
    cache_keys = tuple(m.cache_key for m in models)
    if spinner is None:
        return _run(topic, entry, models, cache_keys, key, progress)
    with st.spinner(spinner):
        return _run(topic, entry, models, cache_keys, key, progress)


def cached(topic: str, entry: str, model, spinner: str | None = None, progress: str | None = None, **options):
    """topics.<topic>.<entry>(model, **options), computed once per model and options.

    `spinner`: text shown while it computes (None: nothing); `progress`: the text of a progress bar shown
    while it computes, the entry point then called with `progress=callback(fraction, text)`."""
    return _call(topic, entry, (model,), spinner, progress, options)


def cached_pair(topic: str, entry: str, model_a, model_b, spinner: str | None = None, progress: str | None = None,
                **options):
    """topics.<topic>.<entry>(model_a, model_b, **options), computed once per pair of models and options."""
    return _call(topic, entry, (model_a, model_b), spinner, progress, options)
