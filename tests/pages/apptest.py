"""Drive the real app with Streamlit's AppTest: open a page on a chosen model."""
from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

APP = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                   "streamlit_app.py")


def run_page(page: str | None = None, source: str | None = None, timeout: float = 120, **state) -> AppTest:
    """Run the app on `page` ('pages/heads.py'), looking at `source` (default: the bundled model)."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    if source is not None:
        at.session_state["model_source"] = source
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error] + [str(e.value) for e in at.exception]
