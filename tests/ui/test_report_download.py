"""The sidebar's report download (ui/report_download.py): the same report.json as `python report.py` for the model
the pages show, a download button once built, and the build stops with any click (a rerun)."""
from __future__ import annotations

import json
import os

import pytest
from streamlit.testing.v1 import AppTest

import report
from tests.pages.apptest import errors
from ui.report_download import BUILT_KEY

REPORT_APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "report_app.py")


@pytest.fixture
def tiny_gpt2(tmp_path, monkeypatch):
    from tests.adapters.harness import build
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # never the user's cache
    build("gpt2", tmp_path / "model", n_embd=32, n_layer=2, n_head=4, vocab_size=60, n_positions=16)
    return str(tmp_path / "model")


def test_the_button_builds_report_py_s_report(tiny_gpt2, tmp_path):
    at = AppTest.from_file(REPORT_APP, default_timeout=300)
    at.session_state["model_source"] = tiny_gpt2
    at.run()
    assert not errors(at), errors(at)
    assert not at.get("download_button")  # nothing is computed until asked
    at.sidebar.button(key="report_build").click().run()
    assert not errors(at), errors(at)
    assert len(at.get("download_button")) == 2  # report.html and report.json
    _, html, data = at.session_state[BUILT_KEY]
    assert html.startswith(b"<!DOCTYPE html>") or b"<html" in html[:500]
    assert report.main([tiny_gpt2, "--out", str(tmp_path / "cli")]) == 0
    with open(tmp_path / "cli" / "report.json", encoding="utf-8") as f:
        assert json.loads(data) == json.load(f)  # the CLI's report, section for section

    at.session_state["picker_heads"] = 2  # a head count given: another model, whose report is built anew
    at.run()
    assert not at.get("download_button") and at.sidebar.button(key="report_build")


def test_a_link_to_an_unopenable_model_says_so(tmp_path, monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = AppTest.from_file(REPORT_APP, default_timeout=60)
    at.session_state["model_source"] = str(tmp_path / "missing")
    at.run()
    at.sidebar.button(key="report_build").click().run()
    assert any("Could not build the report" in e.value for e in at.error)
    assert not at.exception
