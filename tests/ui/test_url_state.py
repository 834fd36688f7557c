"""The view in the URL (ui/url_state.py): a link reopens the same model, head count and page widgets; what the
user changes is written back; hosted, a link cannot open a local path."""
from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from bundled import minilm_path
from tests.pages.apptest import APP, errors
from tests.pages.vega import charts
from tests.ui.drive import refused


def open_link(page: str | None = None, **params) -> AppTest:
    """The app opened from a URL whose query string is `params` (then on `page`, as st.navigation does)."""
    at = AppTest.from_file(APP, default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def params(at: AppTest) -> dict[str, str]:
    """The URL's query string after the last run, one value per name."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()}


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    from tests.adapters.harness import build
    folder = tmp_path_factory.mktemp("gpt2")
    build("gpt2", folder, n_embd=32, n_layer=3, n_head=4, vocab_size=60, n_positions=16)
    return str(folder)


def test_a_link_reopens_the_model_and_the_heads_page_widgets(tiny_gpt2, monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = open_link("pages/heads.py", model=tiny_gpt2, heads_layer="2", heads_weight="W_O", heads_k="3",
                   heads_feature="spectra")
    assert not errors(at), errors(at)
    assert at.session_state["model_source"] == tiny_gpt2
    assert at.selectbox(key="heads_layer").value == 2 and at.radio(key="heads_weight").value == "W_O"
    assert charts(at)[0].title == "W_O of layer 2, per head"
    assert at.slider(key="heads_k").value == 3 and at.selectbox(key="heads_feature").value == "spectra"
    assert len(at.dataframe[-1].value) == 3  # the clusters table, cut at the linked k
    assert params(at)["model"] == tiny_gpt2


def test_changes_are_written_back_and_reopen_the_same_view(tiny_gpt2, monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = open_link("pages/heads.py", model=tiny_gpt2)
    at.selectbox(key="heads_layer").set_value(1).run()
    at.selectbox(key="heads_stat").set_value("qk_top").run()
    link = params(at)
    assert link["model"] == tiny_gpt2 and link["heads_layer"] == "1" and link["heads_stat"] == "qk_top"
    again = open_link("pages/heads.py", **link)
    assert again.selectbox(key="heads_layer").value == 1 and again.selectbox(key="heads_stat").value == "qk_top"
    assert charts(again)[1].title == "top singular value of the QK circuit"


def test_bundled_model_is_linked_by_name_and_bad_values_are_ignored(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = open_link("pages/heads.py", model="bundled", heads_layer="99", heads_k="500", heads_stat="nonsense")
    assert not errors(at), errors(at)
    assert at.session_state["model_source"] == minilm_path()
    assert at.selectbox(key="heads_layer").value == 0 and at.slider(key="heads_k").value == 4
    assert at.selectbox(key="heads_stat").value == "ov_norm"
    assert params(at)["model"] == "bundled"  # never the server's path


def test_a_link_sets_the_head_count(tmp_path, monkeypatch):
    from tests.adapters.harness import build
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    build("gpt2", tmp_path, n_embd=40, n_layer=1, n_head=4, vocab_size=60, n_positions=16)
    os.remove(tmp_path / "config.json")  # the head count is unknown without it
    at = open_link("pages/heads.py", model=str(tmp_path), heads="4")
    assert not errors(at), errors(at)
    assert at.session_state["model_n_heads"] == 4
    assert len(charts(at)) == 6


def test_hosted_link_cannot_open_a_local_path(hosted):
    at = open_link(model="/etc/passwd")
    refused(at, "does not open files")
    at = open_link(model=minilm_path())  # the bundled model's own path is allowed (policy's trusted path)
    assert not errors(at), errors(at)


@pytest.mark.parametrize("page, link, check", [
    ("pages/spectral.py", {"spectral_metric": "stable_rank", "spectral_matrix": "blocks.3.attn.W_Q"},
     lambda at: at.selectbox(key="spectral_matrix").value == "blocks.3.attn.W_Q"
     and "stable_rank by layer and matrix" in [c.title for c in charts(at)]),
    ("pages/distributions.py", {"distributions_matrix": "mlp.W_in", "distributions_layer": "3"},
     lambda at: at.selectbox(key="distributions_matrix").value == "mlp.W_in"
     and at.select_slider(key="distributions_layer").value == 3),
    ("pages/matrices.py", {"matrices_name": "blocks.2.attn.W_O"},
     lambda at: at.selectbox(key="matrices_name").value == "blocks.2.attn.W_O"),
])
def test_other_pages_main_widgets_round_trip(page, link, check, monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = open_link(page, model="bundled", **link)
    assert not errors(at), errors(at)
    assert check(at)
    assert {k: params(at)[k] for k in link} == link  # written back as they were read
