"""The sidebar picker and the model session alone, for AppTest (which, under st.navigation, reruns
only the page script, so the real app's sidebar cannot be driven past the first run)."""
import streamlit as st

from ui.picker import model_picker
from ui.session import model_caption, require_model

model_picker()
model = require_model()
model_caption(model)
st.metric("Tensors", len(model.raw_names()))
