"""The view in the address bar: the model, its head count and stack, and a page's main widgets live in
`st.query_params`, so a link (or a reload) reopens the same view.

    layer = st.selectbox("Layer", layers, key=url_widget("heads_layer", layers))

`url_widget` is called before its widget: the first time a session sees the key it takes the URL's value (when
it is one of the widget's options), and every run it writes the widget's current value back. The model's own
parameters are read and written by ui/picker.py (`MODEL`, `HEADS`) and ui/session.py (`STACK`). A URL is only
a request: the source it names goes through the same policy as a typed one, so hosted, a path is refused.
"""
from __future__ import annotations

import streamlit as st

MODEL, HEADS, STACK = "model", "heads", "stack"  # query parameters of the model itself
BUNDLED = "bundled"  # the bundled model in a URL: a name, not the server's path to it
_SEEN_KEY = "url_seen"  # session_state: the query parameters this session has already taken from the URL


def first_sight(param: str) -> str | None:
    """The URL's value of `param` the first time this session asks for it, None after (or when absent)."""
    seen = st.session_state.setdefault(_SEEN_KEY, set())
    if param in seen:
        return None
    seen.add(param)
    return st.query_params.get(param)


def publish(param: str, value) -> None:
    """Write `value` to the URL as text, or remove `param` when value is None."""
    if value is None:
        st.query_params.pop(param, None)
    elif st.query_params.get(param) != str(value):
        st.query_params[param] = str(value)


def url_widget(key: str, options=None, low=None, high=None, default=None) -> str:
    """`key`, after taking the URL's value for it once (if it is one of `options`, matched by its text, or a
    number within [low, high]) and writing the widget's current value back. Returns the key for the widget.

    A widget whose first value is not its first option gets it here as `default`, not as its own `index` or
    `value`: Streamlit warns on the page when a widget has both a default and a value set through its key."""
    text = first_sight(key)
    value = _parse(text, options, low, high) if text is not None else None
    if value is not None:
        st.session_state[key] = value
    elif default is not None and key not in st.session_state:
        st.session_state[key] = default
    publish(key, st.session_state.get(key))
    return key


def _parse(text: str, options, low, high):
    if options is not None:
        return next((o for o in options if str(o) == text), None)
    try:
        number = int(text)
    except ValueError:
        return None
    return number if (low is None or number >= low) and (high is None or number <= high) else None
