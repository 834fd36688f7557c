"""An upload widget that keeps no upload in memory: the file is spooled to disk at once, then
the uploader is replaced by a fresh one and Streamlit's copy of the bytes is deleted."""
from __future__ import annotations

import json

import streamlit as st

from adapters import LoadError
from ui.session import UploadRef, accept_upload

MAX_CONFIG_BYTES = 1 << 20  # the largest config.json on the Hub is ~100 KB


def take_upload(container, label: str, key: str, target_key: str) -> None:
    """Show an uploader in `container`; an upload becomes an UploadRef in session_state[target_key]. The checkpoint's
    config.json may come with the weights (then its head count and the rest are read from it)."""
    gen_key = f"{key}_gen"  # bumped to give the next run a fresh, empty uploader
    gen = st.session_state.get(gen_key, 0)
    files = container.file_uploader(label, type=["safetensors", "gguf", "json"], key=f"{key}_{gen}",
                                    accept_multiple_files=True,
                                    help="One weights file, and its config.json if you have it: without one, the "
                                         "head count may be unknown.")
    loaded = st.session_state.get(target_key)
    if isinstance(loaded, UploadRef) and not loaded.error:
        container.caption(f"Loaded: **{loaded.name}**" + (" with its config.json" if loaded.config else ""))
    weights = [f for f in files or [] if not f.name.lower().endswith(".json")]
    configs = [f for f in files or [] if f.name.lower().endswith(".json")]
    if not weights:
        if configs:
            container.caption(f"{configs[0].name} received: now add the weights file.")
        return
    if len(weights) > 1 or len(configs) > 1:
        container.error("Upload one weights file (.safetensors or .gguf), with at most one config.json.")
        return
    try:
        config = read_config(configs[0]) if configs else None
    except LoadError as e:
        container.error(str(e))
        return
    st.session_state[target_key] = accept_upload(weights[0], config)  # a refusal is kept in the ref, shown by the page
    st.session_state[gen_key] = gen + 1  # the old uploader (and its UploadedFiles) is not drawn again
    for f in files:
        _forget_upload_bytes(f)
    st.rerun()


def read_config(upload) -> dict:
    """An uploaded config.json as a dict (parsed as JSON data, never run), or a LoadError saying what is wrong."""
    data = upload.getvalue()
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError(f"{upload.name} is {len(data):,} bytes; a config.json is at most {MAX_CONFIG_BYTES:,}.")
    try:
        config = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise LoadError(f"{upload.name} is not valid JSON ({str(e)[:80]}); upload the checkpoint's config.json.") from None
    if not isinstance(config, dict):
        raise LoadError(f"{upload.name} holds a JSON {type(config).__name__}, not a config object; upload the "
                        "checkpoint's config.json.")
    return config


def _forget_upload_bytes(upload) -> None:
    """Delete Streamlit's in-memory copy of an upload (what st.chat_input does for its files)."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    file_id = getattr(upload, "file_id", None)
    if ctx is not None and file_id and isinstance(ctx.uploaded_file_mgr, MemoryUploadedFileManager):
        ctx.uploaded_file_mgr.remove_file(session_id=ctx.session_id, file_id=file_id)
