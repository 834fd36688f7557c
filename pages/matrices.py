"""Placeholder until the matrices page lands."""
import streamlit as st

st.title("matrices")
st.info("This page is being built.")
