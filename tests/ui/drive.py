"""Drive the ui layer with AppTest: the picker and the model session alone (picker_app.py), and the
check that a source was refused with a message rather than a traceback."""
from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.pages.apptest import errors

PICKER_APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "picker_app.py")


def run_picker(**state) -> AppTest:
    """The picker + require_model alone: under st.navigation AppTest reruns only the page script, so the
    real app's sidebar cannot be driven past the first run; here every run redraws the sidebar."""
    at = AppTest.from_file(PICKER_APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def refused(at: AppTest, message: str) -> None:
    """The run ended in an st.error saying the model could not be opened, with `message` in it."""
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "Could not open" in at.error[0].value and message in at.error[0].value, errors(at)
