"""Transformer weight explorer: the router and the shared model picker.

    streamlit run streamlit_app.py
"""
import streamlit as st

from ui.picker import model_picker

st.set_page_config(page_title="Transformer weight explorer", page_icon="🔬", layout="wide")

SECTIONS = {
    "Model": [
        st.Page("pages/overview.py", title="Architecture", icon="🏗️", default=True),
    ],
}

page = st.navigation(SECTIONS)
model_picker()
page.run()
