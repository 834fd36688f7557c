"""Placeholder until the layers page lands."""
import streamlit as st

st.title("layers")
st.info("This page is being built.")
