"""ui.session through the real app: hosted mode (by environment or secrets.toml) refuses local paths,
URLs and bad ids with a message; an upload given as bytes is spooled and only a reference kept."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.adapters import craft
from tests.pages.apptest import APP, errors, run_page
from tests.ui.drive import refused
from ui.picker import PATH

REFUSED = {
    "/etc/passwd": "does not open files",
    "../../etc/passwd": "does not open files",
    "~/.ssh/id_rsa": "does not open files",
    "file:///etc/passwd": "URL",
    "https://huggingface.co/datasets/x/y": "only models",
    "https://example.com/x.safetensors": "URL",
    "owner/../../etc": "not a Hub model id",
    "a/b/../c": "no '.', '..' or empty parts",
    "gpt2@../../x": "not a valid revision",
}


@pytest.mark.parametrize("source", list(REFUSED))
def test_hosted_refuses_through_the_page(hosted, source):
    refused(run_page(source=source), REFUSED[source])


def test_hosted_by_secrets_toml(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets["weights"] = {"hosted": True}
    at.session_state["model_source"] = "/etc/passwd"
    at.run()
    refused(at, "does not open files")
    assert PATH not in at.sidebar.selectbox(key="picker_choice").options


def test_hosted_hub_id_not_cached_is_a_message(hosted):
    refused(run_page(source="no-such-owner-xyz/no-such-model"), "not in the local Hugging Face cache")


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
    refused(run_page(source=blob), message)


def test_hosted_hides_error_details(hosted):
    from streamlit import config
    before = config.get_option("client.showErrorDetails")
    try:
        run_page()
        assert config.get_option("client.showErrorDetails") in ("none", False)
    finally:
        config.set_option("client.showErrorDetails", before)
