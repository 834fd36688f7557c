"""Pure numeric analyses: arrays (or plain records) in, arrays or small dataclasses out.

Nothing here imports Streamlit, plots, or reads files; the UI and the report call these.
"""
