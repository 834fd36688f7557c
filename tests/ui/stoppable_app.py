"""StoppableProgress mid-way, as a run interrupted by a click leaves it (the run ends with the bar and button drawn)."""
import streamlit as st

from ui.progress import StoppableProgress


def _stop():
    st.session_state["stopped"] = st.session_state.get("stopped", 0) + 1


work = StoppableProgress("Working…", key="work_stop", on_stop=_stop)
for i in range(st.session_state.get("steps", 2)):
    work.update(i / 4, f"step {i}")
if st.session_state.get("finish"):
    work.done()
    st.write("finished")
