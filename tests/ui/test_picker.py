"""ui.picker: hosted, it offers no local paths and refuses typed ones, then recovers; locally it opens a path."""
from __future__ import annotations

from adapters import Policy, open_model
from bundled import BUNDLED_NAME, minilm_path
from tests.adapters import craft
from tests.pages.apptest import errors, run_page
from tests.ui.drive import refused, run_picker
from ui.picker import OTHER_HUB, PATH


def test_hosted_picker_has_no_local_paths(hosted):
    at = run_page(source="/etc/passwd")
    refused(at, "does not open files")
    assert PATH not in at.sidebar.selectbox(key="picker_choice").options


def test_hosted_picker_refuses_typed_paths_then_recovers(hosted):
    at = run_picker(picker_choice=OTHER_HUB)
    for text, message in [("/etc/passwd", "does not open files"), ("file:///etc/passwd", "URL"),
                          ("../../etc/passwd", "does not open files"), ("owner/../x", "not a Hub model id")]:
        at.sidebar.text_input(key="picker_hub").set_value(text).run()
        refused(at, message)
        assert at.sidebar.selectbox(key="picker_choice")  # the sidebar is still there to choose again
    at.sidebar.selectbox(key="picker_choice").set_value(BUNDLED_NAME).run()
    assert not errors(at), errors(at)
    assert at.metric[0].value == str(len(open_model(minilm_path(), policy=Policy()).raw_names()))


def test_local_picker_opens_a_typed_path(monkeypatch, tmp_path):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    (tmp_path / "model.safetensors").write_bytes(craft.valid(craft.sample()))
    at = run_picker(picker_choice=PATH)
    at.sidebar.text_input(key="picker_path").set_value(str(tmp_path)).run()
    assert not errors(at), errors(at)
    assert at.metric[0].value == "3"


def test_local_picker_offers_paths(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = run_page()
    assert PATH in at.sidebar.selectbox(key="picker_choice").options
