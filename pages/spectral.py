"""Placeholder until the spectral page lands."""
import streamlit as st

st.title("spectral")
st.info("This page is being built.")
