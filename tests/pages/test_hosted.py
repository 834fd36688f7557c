"""Hosted mode through the real app: local paths, URLs and bad ids are refused with a message,
the picker offers no local paths, uploads and the bundled model still open."""
from __future__ import annotations

import os

import pytest
from streamlit.testing.v1 import AppTest

from adapters import Policy, open_model
from bundled import BUNDLED_NAME, minilm_path
from tests.adapters import craft
from tests.pages.apptest import APP, errors, run_page
from ui.picker import OTHER_HUB, PATH, UPLOAD

PICKER_APP = os.path.join(os.path.dirname(os.path.abspath(__file__)), "picker_app.py")

REFUSED = {
    "/etc/passwd": "does not open files",
    "../../etc/passwd": "does not open files",
    "~/.ssh/id_rsa": "does not open files",
    "file:///etc/passwd": "URL",
    "https://huggingface.co/gpt2": "Give the Hub id instead: 'gpt2'",
    "https://example.com/x.safetensors": "URL",
    "owner/../../etc": "not a Hub model id",
    "a/b/c": "at most one '/'",
    "gpt2@../../x": "not a valid revision",
}


@pytest.fixture
def hosted(monkeypatch):
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")


def _refused_in_page(at: AppTest, message: str) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert at.error and "Could not open" in at.error[0].value and message in at.error[0].value, errors(at)


@pytest.mark.parametrize("source", list(REFUSED))
def test_hosted_refuses_through_the_page(hosted, source):
    _refused_in_page(run_page(source=source), REFUSED[source])


def test_hosted_picker_has_no_local_paths(hosted):
    at = run_page(source="/etc/passwd")
    _refused_in_page(at, "does not open files")
    assert PATH not in at.sidebar.selectbox(key="picker_choice").options


def _picker_app(**state) -> AppTest:
    """The picker + require_model alone (see picker_app.py): every run redraws the sidebar."""
    at = AppTest.from_file(PICKER_APP, default_timeout=60)
    for key, value in state.items():
        at.session_state[key] = value
    return at.run()


def test_hosted_picker_refuses_typed_paths_then_recovers(hosted):
    at = _picker_app(picker_choice=OTHER_HUB)
    for text, message in [("/etc/passwd", "does not open files"), ("file:///etc/passwd", "URL"),
                          ("../../etc/passwd", "does not open files"), ("owner/../x", "not a Hub model id")]:
        at.sidebar.text_input(key="picker_hub").set_value(text).run()
        _refused_in_page(at, message)
        assert at.sidebar.selectbox(key="picker_choice")  # the sidebar is still there to choose again
    at.sidebar.selectbox(key="picker_choice").set_value(BUNDLED_NAME).run()
    assert not errors(at), errors(at)
    assert at.metric[0].value == str(len(open_model(minilm_path(), policy=Policy()).raw_names()))


def test_picker_upload_is_spooled_and_its_bytes_let_go(monkeypatch, tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=8)
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
    at = _picker_app(picker_choice=UPLOAD)
    at.sidebar.file_uploader(key="picker_upload_0").set_value(
        ("tiny.safetensors", (tmp_path / "model.safetensors").read_bytes(), "application/octet-stream")).run()
    assert not errors(at), errors(at)
    ref = at.session_state["model_source"]
    assert type(ref).__name__ == "UploadRef" and ref.name == "tiny.safetensors"
    assert "gpt2" in at.caption[0].value and "heads unknown" in at.caption[0].value
    assert at.sidebar.file_uploader(key="picker_upload_1").value is None  # a fresh, empty uploader
    assert "picker_upload_0" not in at.session_state  # the old one, and its UploadedFile, are gone
    at.sidebar.number_input(key="picker_heads").set_value(2).run()  # reopened from the spooled file
    assert not errors(at), errors(at)
    assert "2 heads" in at.caption[0].value


def test_picker_bad_upload_is_a_message(hosted):
    at = _picker_app(picker_choice=UPLOAD)
    at.sidebar.file_uploader(key="picker_upload_0").set_value(("evil.safetensors", b"\x80\x04" + b"x" * 100,
                                                                "application/octet-stream")).run()
    _refused_in_page(at, "pickle")
    assert at.sidebar.file_uploader(key="picker_upload_1").value is None


def test_local_picker_opens_a_typed_path(monkeypatch, tmp_path):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    (tmp_path / "model.safetensors").write_bytes(craft.valid(craft.sample()))
    at = _picker_app(picker_choice=PATH)
    at.sidebar.text_input(key="picker_path").set_value(str(tmp_path)).run()
    assert not errors(at), errors(at)
    assert at.metric[0].value == "3"


def test_local_picker_offers_paths(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = run_page()
    assert PATH in at.sidebar.selectbox(key="picker_choice").options


def test_hosted_by_secrets_toml(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["weights"] = {"hosted": True}
    at.session_state["model_source"] = "/etc/passwd"
    at.run()
    _refused_in_page(at, "does not open files")
    assert PATH not in at.sidebar.selectbox(key="picker_choice").options


def test_hosted_hub_id_not_cached_is_a_message(hosted):
    _refused_in_page(run_page(source="no-such-owner-xyz/no-such-model"), "not in the local Hugging Face cache")


def test_hosted_upload_opens_and_keeps_only_a_reference(hosted):
    at = run_page(source=craft.valid(craft.sample()))
    assert not errors(at), errors(at)
    ref = at.session_state["model_source"]
    assert type(ref).__name__ == "UploadRef" and ref.error is None  # the bytes are no longer held
    at.run()  # and the page keeps working from the spooled file
    assert not errors(at), errors(at)


@pytest.mark.parametrize("blob,message", [(b"#!/bin/sh\necho hi\n" * 10, "not a safetensors file"),
                                          (bytes(10_000), "1.0 kB")])
def test_hosted_bad_upload_is_a_message(hosted, monkeypatch, blob, message):
    monkeypatch.setenv("WEIGHTS_MAX_MODEL_BYTES", "1000")
    _refused_in_page(run_page(source=blob), message)
