"""The sidebar's "Download report": the same report.html and report.json as `python report.py`, for the model and
stack the pages show, built on request with a progress bar (any click stops it: Streamlit's rerun interrupts the
build, and report.build stops its worker process) and kept for this session until the model changes.

The report's section cache (reporting/cache.py) is shared with report.py, so a model already reported is nearly
free, and a build stopped half-way keeps the sections it finished.
"""
from __future__ import annotations

import tempfile

import streamlit as st

from adapters import LoadError
from ui.session import HEADS_KEY, STACK_KEY, current_source, display_name, open_source

BUILT_KEY = "report_built"  # session_state: (what it describes, report.html bytes, report.json bytes)


def report_download(container=None) -> None:
    """A "Build the report" button, then its two downloads, in `container` (the sidebar by default)."""
    container = container or st.sidebar
    source = current_source()
    if source is None:
        return
    heads, stack = st.session_state.get(HEADS_KEY), st.session_state.get(STACK_KEY)
    what = (repr(source), heads, stack)
    built = st.session_state.get(BUILT_KEY)
    if built and built[0] == what:
        container.download_button("Download report (HTML)", built[1], file_name="report.html", mime="text/html",
                                  key="report_html", icon=":material/download:")
        container.download_button("Its numbers (JSON)", built[2], file_name="report.json", mime="application/json",
                                  key="report_json")
        return
    if not container.button("Build the report", key="report_build", icon=":material/description:",
                            help="Every section of report.py (HTML + JSON) for this model. Takes a while the first "
                                 "time; click Stop (or anything else) to stop it."):
        return
    try:
        model = open_source(source, heads)
        if stack in model.views():
            model = model.view(stack)
        html, data = _build(model, container)
    except LoadError as e:
        container.error(f"Could not build the report of **{display_name(source)}**: {e}")
        return
    st.session_state[BUILT_KEY] = (what, html, data)
    st.rerun()  # draw the downloads in the button's place


def _build(model, container) -> tuple[bytes, bytes]:
    """report.build + report.write into a temporary folder: (report.html, report.json) as bytes."""
    from reporting import assemble as report  # the report's engine, loaded only when a report is asked for
    from reporting.cache import SectionCache

    container.button("Stop", key="report_stop", help="Stops the build; finished sections stay cached.")
    bar = container.progress(0.0, text="Report: starting…")
    done = []

    def log(message: str) -> None:  # report.build logs each finished section, e.g. "heads   1.20 s"
        done.append(message.split()[0])
        bar.progress(min(len(done) / len(report.TOPICS), 1.0), text=f"Report: {', '.join(done)}")

    sections = report.build(model, log=log, cache=SectionCache())
    bar.progress(1.0, text="Report: writing the HTML…")
    with tempfile.TemporaryDirectory() as out:
        json_path, html_path = report.write(model, sections, out)
        with open(html_path, "rb") as f:
            html = f.read()
        with open(json_path, "rb") as f:
            data = f.read()
    bar.empty()
    return html, data


__all__ = ["BUILT_KEY", "report_download"]
