"""A progress bar that says how long is left, with a Stop button above it, for a page's long loop.

    work = StoppableProgress("Spectra…", key="spectral_stop", on_stop=turn_off_shuffled)
    for i, step in enumerate(steps):
        work.update(i / len(steps), f"layer {step}")   # Streamlit interrupts the run here after any click
        ...
    work.done()

Streamlit stops a running script at its next call into Streamlit when the user clicks anything, and reruns it;
the Stop button's `on_stop` runs first on that rerun (a callback), so it can switch off the widget that asked for
the work before the page draws that widget again. What each finished step cached is kept.
"""
from __future__ import annotations

import time
from typing import Callable

import streamlit as st

MIN_FRACTION_FOR_ESTIMATE = 0.05  # below this, a time-left estimate is mostly noise


class StoppableProgress:
    def __init__(self, text: str, key: str, on_stop: Callable[[], None] | None = None):
        self.slot = st.empty()  # the button and the bar, removed together by done()
        with self.slot.container():
            st.button("Stop", key=key, on_click=on_stop, icon=":material/stop_circle:",
                      help="Stops this computation; the parts already done are kept.")
            self.bar = st.progress(0.0, text=text)
        self.start = time.monotonic()

    def update(self, fraction: float, text: str) -> None:
        """Move the bar to `fraction` (0..1) of the work, with `text`, the time taken and an estimate of the rest."""
        elapsed = time.monotonic() - self.start
        left = (f", about {elapsed * (1 - fraction) / fraction:.0f} s left"
                if fraction >= MIN_FRACTION_FOR_ESTIMATE else "")
        self.bar.progress(min(max(fraction, 0.0), 1.0), text=f"{text} · {elapsed:.0f} s{left}")

    def done(self) -> None:
        self.slot.empty()
