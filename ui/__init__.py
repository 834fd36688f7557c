"""Streamlit glue shared by the pages: the chosen model, cached opening, cached analyses."""
