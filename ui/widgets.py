"""Widgets more than one page uses."""
from __future__ import annotations

import streamlit as st

from topics.layers import matrix_slots


def per_layer_matrix(model, container, key: str) -> str:
    """A select box of the model's per-layer matrices (W_QKV first); stops the page when there are none."""
    slots = matrix_slots(model)
    if not slots:
        st.warning("This model has no per-layer weight matrices to analyse.")
        st.stop()
    return container.selectbox("Matrix", slots, key=key,
                               help="W_QKV: the query, key and value projections side by side (GPT-2's c_attn)")
