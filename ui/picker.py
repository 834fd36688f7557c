"""The sidebar model picker shared by every page.

Hosted (see ui/session.is_hosted) it offers Hub ids and uploads only. Uploads go through
ui/uploads.take_upload, so a large upload does not stay in the server's memory.
"""
from __future__ import annotations

import streamlit as st

from bundled import BUNDLED_NAME, minilm_path
from ui.uploads import take_upload
from ui.session import (
    HEADS_KEY,
    SOURCE_KEY,
    current_source,
    display_name,
    is_hosted,
)

# One click away for a user who is online; the bundled model needs no network.
SUGGESTED = ["gpt2", "EleutherAI/pythia-160m", "Qwen/Qwen2.5-0.5B", "facebook/opt-125m",
             "bert-base-uncased", "HuggingFaceTB/SmolLM2-135M"]
OTHER_HUB, PATH, UPLOAD = "Another Hub id…", "A local folder or file…", "Upload a .safetensors file…"


def model_picker() -> None:
    st.sidebar.header("Model")
    hosted = is_hosted()
    choices = ([BUNDLED_NAME] if minilm_path() else []) + SUGGESTED + [OTHER_HUB] + ([] if hosted else [PATH]) + [UPLOAD]
    choice = st.sidebar.selectbox("Checkpoint", choices, key="picker_choice",
                                  index=choices.index(_choice_for(current_source(), choices)))
    if choice not in choices:  # a stale choice (e.g. the path option, once hosted)
        choice = OTHER_HUB
    source = None
    if choice == BUNDLED_NAME:
        source = minilm_path()
    elif choice in SUGGESTED:
        source = choice
    elif choice == OTHER_HUB:
        text = st.sidebar.text_input("Hub id (optionally @revision)", key="picker_hub",
                                     placeholder="EleutherAI/pythia-70m@main")
        source = text.strip() or None
    elif choice == PATH:
        text = st.sidebar.text_input("Folder or .safetensors path", key="picker_path")
        source = text.strip() or None
    else:
        take_upload(st.sidebar, "Weights (.safetensors)", "picker_upload", SOURCE_KEY)
    if source is not None and source != st.session_state.get(SOURCE_KEY):
        st.session_state[SOURCE_KEY] = source
    heads = st.sidebar.number_input("Heads (only if the checkpoint does not say)", min_value=0, value=0,
                                    step=1, key="picker_heads", help="0 = read from config.json or the file")
    st.session_state[HEADS_KEY] = int(heads) or None
    st.sidebar.caption(f"Looking at: **{display_name(st.session_state.get(SOURCE_KEY))}**")
    if hosted:
        st.sidebar.caption("Hosted: Hub ids and uploads only, within a size limit.")


def _choice_for(source, choices: list[str]) -> str:
    if source == minilm_path() and BUNDLED_NAME in choices:
        return BUNDLED_NAME
    if isinstance(source, str) and source in SUGGESTED:
        return source
    if source is None:
        return choices[0]
    if not isinstance(source, str):
        return UPLOAD
    looks_local = source.startswith((".", "/", "~")) or source.endswith((".safetensors", ".bin"))
    return PATH if looks_local and PATH in choices else OTHER_HUB
