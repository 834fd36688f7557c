"""Transformer weight explorer: the router and the shared model picker.

    streamlit run streamlit_app.py
"""
import streamlit as st

from ui.navigation import page_list
from ui.picker import model_picker
from ui.report_download import report_download
from ui.session import hide_error_details_when_hosted

st.set_page_config(page_title="Transformer weight explorer", page_icon=":material/biotech:", layout="wide")
hide_error_details_when_hosted()

SECTIONS = {
    "Structure": [
        st.Page("pages/overview.py", title="Architecture", icon=":material/account_tree:", default=True),
        st.Page("pages/positional.py", title="Positional embeddings", icon=":material/timeline:"),
    ],
    "Weights": [
        st.Page("pages/distributions.py", title="Distributions", icon=":material/bar_chart:"),
        st.Page("pages/matrices.py", title="Matrix heatmaps", icon=":material/grid_on:"),
        st.Page("pages/pca.py", title="PCA", icon=":material/scatter_plot:"),
        st.Page("pages/layers.py", title="Across layers", icon=":material/show_chart:"),
        st.Page("pages/heads.py", title="Attention heads", icon=":material/hub:"),
        st.Page("pages/experts.py", title="Experts (MoE)", icon=":material/call_split:"),
        st.Page("pages/norms.py", title="Norm gains", icon=":material/tune:"),
        st.Page("pages/health.py", title="Tensor health", icon=":material/health_and_safety:"),
    ],
    "Diagnostics": [
        st.Page("pages/spectral.py", title="Training quality (spectra)", icon=":material/monitor_heart:"),
        st.Page("pages/compare.py", title="Compare checkpoints", icon=":material/compare_arrows:"),
        st.Page("pages/run.py", title="Training run", icon=":material/trending_up:"),
    ],
}

page = st.navigation(SECTIONS, position="hidden")  # listed by page_list, below the picker
model_picker()
report_download()
page_list(SECTIONS)
page.run()
