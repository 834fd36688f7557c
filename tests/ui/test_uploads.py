"""ui.uploads through the picker: an upload is spooled to disk, its bytes let go, and a bad one is a message."""
from __future__ import annotations

from tests.pages.apptest import errors
from tests.ui.drive import refused, run_picker
from ui.picker import UPLOAD


def test_picker_upload_is_spooled_and_its_bytes_let_go(monkeypatch, tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=8)
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
    at = run_picker(picker_choice=UPLOAD)
    at.sidebar.file_uploader(key="picker_upload_0").set_value(
        ("tiny.safetensors", (tmp_path / "model.safetensors").read_bytes(), "application/octet-stream")).run()
    assert not errors(at), errors(at)
    ref = at.session_state["model_source"]
    assert type(ref).__name__ == "UploadRef" and ref.name == "tiny.safetensors"
    assert "gpt2" in at.caption[0].value and "heads unknown" in at.caption[0].value
    assert not at.sidebar.file_uploader(key="picker_upload_1").value  # a fresh, empty uploader
    assert "picker_upload_0" not in at.session_state  # the old one, and its UploadedFile, are gone
    at.sidebar.number_input(key="picker_heads").set_value(2).run()  # reopened from the spooled file
    assert not errors(at), errors(at)
    assert "2 heads" in at.caption[0].value


def test_picker_bad_upload_is_a_message(hosted):
    at = run_picker(picker_choice=UPLOAD)
    at.sidebar.file_uploader(key="picker_upload_0").set_value(("evil.safetensors", b"\x80\x04" + b"x" * 100,
                                                                "application/octet-stream")).run()
    refused(at, "pickle")
    assert not at.sidebar.file_uploader(key="picker_upload_1").value


def test_upload_with_its_config_json_knows_the_heads(monkeypatch, tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=16, n_layer=1, n_head=2, vocab_size=20, n_positions=8)
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
    at = run_picker(picker_choice=UPLOAD)
    config = (tmp_path / "config.json").read_bytes()
    at.sidebar.file_uploader(key="picker_upload_0").set_value(("config.json", config, "application/json")).run()
    assert any("now add the weights" in c.value for c in at.sidebar.caption)  # waits for the weights
    at.sidebar.file_uploader(key="picker_upload_0").set_value([
        ("config.json", config, "application/json"),
        ("tiny.safetensors", (tmp_path / "model.safetensors").read_bytes(), "application/octet-stream")]).run()
    assert not errors(at), errors(at)
    assert "2 heads" in at.caption[0].value  # read from the uploaded config.json, no Heads box needed
    assert any(c.value == "Loaded: **tiny.safetensors** with its config.json" for c in at.sidebar.caption)
    assert not at.sidebar.number_input  # the checkpoint says how many heads: no box to fill


def test_bad_config_json_is_a_message(hosted, tmp_path):
    at = run_picker(picker_choice=UPLOAD)
    at.sidebar.file_uploader(key="picker_upload_0").set_value([
        ("config.json", b"[1, 2]", "application/json"), ("w.safetensors", b"x" * 16, "application/octet-stream")]).run()
    assert any("not a config object" in e.value for e in at.sidebar.error)
    at.sidebar.file_uploader(key="picker_upload_0").set_value([
        ("config.json", b"{oops", "application/json"), ("w.safetensors", b"x" * 16, "application/octet-stream")]).run()
    assert any("not valid JSON" in e.value for e in at.sidebar.error)
