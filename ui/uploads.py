"""An upload widget that keeps no upload in memory: the file is spooled to disk at once, then
the uploader is replaced by a fresh one and Streamlit's copy of the bytes is deleted."""
from __future__ import annotations

import streamlit as st

from ui.session import accept_upload


def take_upload(container, label: str, key: str, target_key: str) -> None:
    """Show an uploader in `container`; an upload becomes an UploadRef in session_state[target_key]."""
    gen_key = f"{key}_gen"  # bumped to give the next run a fresh, empty uploader
    gen = st.session_state.get(gen_key, 0)
    upload = container.file_uploader(label, type=["safetensors", "gguf"], key=f"{key}_{gen}")
    if upload is None:
        return
    st.session_state[target_key] = accept_upload(upload)  # a refusal is kept in the ref and shown by the page
    st.session_state[gen_key] = gen + 1  # the old uploader (and its UploadedFile) is not drawn again
    _forget_upload_bytes(upload)
    st.rerun()


def _forget_upload_bytes(upload) -> None:
    """Delete Streamlit's in-memory copy of an upload (what st.chat_input does for its files)."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    file_id = getattr(upload, "file_id", None)
    if ctx is not None and file_id and isinstance(ctx.uploaded_file_mgr, MemoryUploadedFileManager):
        ctx.uploaded_file_mgr.remove_file(session_id=ctx.session_id, file_id=file_id)
