"""The page list, drawn in the sidebar below the model picker.

Streamlit draws its own navigation at the very top of the sidebar, above anything a script writes there,
so with 13 pages the picker sat below the fold. The router hides that list (st.navigation(position="hidden"))
and this draws the same pages as links after the picker: choosing a model comes first, then where to look.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st


def page_list(sections: Mapping[str, Sequence[st.Page]]) -> None:
    """Each section's title, then a link per page (the current one highlighted by Streamlit)."""
    st.sidebar.divider()
    for title, pages in sections.items():
        st.sidebar.caption(f"**{title}**")
        for page in pages:
            st.sidebar.page_link(page)


def through_the_router() -> None:
    """Rerun through streamlit_app.py when Streamlit ran a page on its own.

    A server's very first run uses Streamlit's older pages/-folder mode (the router's st.navigation has not yet
    switched it off), so a first request for a deep link (/heads?model=...) ran pages/heads.py alone: no wide
    layout, no model picker, the pages/ file names as the menu. Turning that mode off and rerunning makes this
    request, and every later one, go through the router, which opens the asked-for page."""
    try:  # Streamlit's own flag (not public API): a release without it simply has no such first run to catch
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        st.rerun()
