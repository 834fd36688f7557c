"""Widgets more than one page uses."""
from __future__ import annotations

import streamlit as st

from adapters import schema
from topics.layers import matrix_slots, slot_layers

ALL_EXPERTS = "all, side by side"


def per_layer_matrix(model, container, key: str) -> str:
    """A select box of the model's per-layer matrices (W_QKV first); stops the page when there are none.
    For an expert slot a second box picks one expert or all of them: the returned slot is then
    'mlp.experts.3.W_in' (schema.expert_slot) for expert 3."""
    slots = matrix_slots(model)
    if not slots:
        st.warning("This model has no per-layer weight matrices to analyse.")
        st.stop()
    slot = container.selectbox("Matrix", slots, key=key,
                               help="W_QKV: the query, key and value projections side by side (GPT-2's c_attn)")
    return expert_choice(model, slot, container, key + "_expert")


def expert_choice(model, slot: str, container, key: str) -> str:
    """`slot`, or one of its experts when it is an expert slot and the user picks one."""
    if slot not in schema.EXPERT_SLOTS:
        return slot
    layers = slot_layers(model, slot)
    n = model.n_experts(schema.name(slot, layers[0])) if layers else 0
    choice = container.selectbox("Expert", [ALL_EXPERTS, *range(n)], key=key,
                                 help="One expert's matrix, or every expert's side by side (the Experts page "
                                      "compares them)")
    return slot if choice == ALL_EXPERTS else schema.expert_slot(slot, int(choice))
