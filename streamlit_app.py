"""Transformer weight explorer: the router and the shared model picker.

    streamlit run streamlit_app.py
"""
import streamlit as st

from ui.picker import model_picker

st.set_page_config(page_title="Transformer weight explorer", page_icon="🔬", layout="wide")

SECTIONS = {
    "Model": [
        st.Page("pages/overview.py", title="Architecture", icon="🏗️", default=True),
        st.Page("pages/positional.py", title="Positional embeddings", icon="📍"),
    ],
    "Weights": [
        st.Page("pages/distributions.py", title="Distributions", icon="📊"),
        st.Page("pages/matrices.py", title="Matrix heatmaps", icon="🟥"),
        st.Page("pages/pca.py", title="PCA", icon="🧭"),
        st.Page("pages/layers.py", title="Across layers", icon="📈"),
        st.Page("pages/heads.py", title="Attention heads", icon="🎯"),
        st.Page("pages/health.py", title="Tensor health", icon="🩹"),
    ],
    "Diagnostics": [
        st.Page("pages/spectral.py", title="Training quality (spectra)", icon="🩺"),
        st.Page("pages/compare.py", title="Compare checkpoints", icon="⚖️"),
    ],
}

page = st.navigation(SECTIONS)
model_picker()
page.run()
