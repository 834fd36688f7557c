"""ui.progress.StoppableProgress, and the spectral page's Stop: a bar that moves and says what is left, a Stop
button whose callback runs before the next run, and the page's answer to it."""
from __future__ import annotations

import os

from streamlit.testing.v1 import AppTest

from tests.pages.apptest import errors, run_page
from tests.pages.vega import charts

APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stoppable_app.py")


def _app(**state) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for k, v in state.items():
        at.session_state[k] = v
    return at.run()


def test_bar_moves_and_stop_calls_back():
    at = _app(steps=3)
    bar = at.get("progress")[0]
    assert bar.value == 50 and "step 2" in bar.proto.text and "s left" in bar.proto.text
    assert "stopped" not in at.session_state
    at.button(key="work_stop").click().run()
    assert at.session_state["stopped"] == 1  # the callback ran before the rerun


def test_done_removes_bar_and_button():
    at = _app(steps=2, finish=True)
    assert not at.get("progress") and not at.button and at.markdown[0].value == "finished"


def test_spectral_page_stopped_waits_for_go_on():
    at = run_page("pages/spectral.py", spectral_stopped="all")
    assert not errors(at), errors(at)
    assert any(i.value.startswith("Stopped.") for i in at.info) and not charts(at)
    at.button(key="spectral_resume").click().run()
    assert not errors(at), errors(at)
    assert charts(at)  # the rest computed


def test_spectral_page_stopped_shuffled_shows_the_plain_spectra():
    at = run_page("pages/spectral.py", spectral_stopped="shuffled")
    assert not errors(at), errors(at)
    assert any("Shuffled baselines stopped" in i.value for i in at.info)
    assert charts(at) and "rand_alpha" not in at.selectbox(key="spectral_metric").options


def test_distributions_page_every_layer_matches_compute_and_stops():
    from adapters import open_model
    from bundled import minilm_path
    from topics import distributions as topic
    at = run_page("pages/distributions.py")
    assert not errors(at), errors(at)
    table = next(d.value for d in at.dataframe)
    want = topic.rows(topic.compute(open_model(minilm_path()), at.selectbox(key="distributions_matrix").value))
    assert len(table) == len(want) == 6 and list(table.iloc[:, 0]) == [r[next(iter(r))] for r in want]
    at.session_state["distributions_stopped"] = True  # as the Stop button's callback leaves it
    at.run()
    assert any(i.value.startswith("Stopped.") for i in at.info) and at.button(key="distributions_resume")
