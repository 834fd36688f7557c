"""Placeholder until the positional page lands."""
import streamlit as st

st.title("positional")
st.info("This page is being built.")
