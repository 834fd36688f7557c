"""Placeholder until the distributions page lands."""
import streamlit as st

st.title("distributions")
st.info("This page is being built.")
