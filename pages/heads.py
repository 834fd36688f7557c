"""Placeholder until the heads page lands."""
import streamlit as st

st.title("heads")
st.info("This page is being built.")
