"""ui.picker: hosted, it offers no local paths and refuses typed ones, then recovers; locally it opens a path."""
from __future__ import annotations

import pytest

from adapters import Policy, open_model
from adapters.units import human_bytes
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


# ---- Hub sources, against the loopback Hub (tests/hub_server.py) ---------------------------------------------
@pytest.fixture
def loopback(tmp_path, monkeypatch):
    from tests.hub_server import LoopbackHub, point_client_at
    from ui.picker import _hub_listing
    from ui.session import _open_hub

    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    server = LoopbackHub().start()
    point_client_at(server, monkeypatch, tmp_path / "hub-cache")
    _open_hub.clear(), _hub_listing.clear()  # both live for the process: no model of another test
    yield server
    server.stop()
    _open_hub.clear(), _hub_listing.clear()


def test_picker_lists_revisions_and_weight_files_and_fetches_only_the_chosen_one(loopback):
    blob = craft.valid(craft.sample())
    loopback.add("owner/quants", {"m-q4.safetensors": blob, "m-q8.safetensors": blob, "README.md": b"x"},
                 tags=["step1000"])
    at = run_picker(picker_choice=OTHER_HUB)
    at.sidebar.text_input(key="picker_hub").set_value("owner/quants").run()
    refused(at, "holds 2 weight files and no shard index")
    assert "step1000" in at.sidebar.selectbox(key="picker_revision").options
    weights = at.sidebar.selectbox(key="picker_weights")
    size = human_bytes(len(blob))
    assert weights.options[1:] == [f"m-q4.safetensors ({size})", f"m-q8.safetensors ({size})"]
    weights.set_value("m-q8.safetensors")
    at.sidebar.selectbox(key="picker_revision").set_value("step1000").run()
    assert not errors(at), errors(at)
    assert at.session_state["model_source"] == "owner/quants/m-q8.safetensors@step1000"
    assert at.metric[0].value == "3"
    assert [f for f in loopback.fetched() if f.endswith(".safetensors")] == ["m-q8.safetensors"]


def test_page_says_when_the_hub_is_down_and_the_cached_copy_is_shown(loopback):
    from ui.session import _open_hub

    commit = loopback.add("owner/name", {"model.safetensors": craft.valid(craft.sample())})
    at = run_picker(picker_choice=OTHER_HUB)
    at.sidebar.text_input(key="picker_hub").set_value("owner/name").run()
    assert not errors(at) and not at.warning, errors(at)
    loopback.stop()
    _open_hub.clear()
    at.run()
    assert not errors(at), errors(at)
    assert any(f"opened the cached commit {commit[:7]} of main" in w.value and "could not be reached" in w.value
               for w in at.warning), [w.value for w in at.warning]
    assert at.metric[0].value == "3"


def test_hub_address_pasted_into_the_picker_opens(loopback):
    loopback.add("owner/name", {"sub/model.safetensors": craft.valid(craft.sample())})
    at = run_picker(picker_choice=OTHER_HUB)
    at.sidebar.text_input(key="picker_hub").set_value(f"{loopback.url}/owner/name/tree/main/sub").run()
    assert not errors(at), errors(at)
    assert at.session_state["model_source"] == "owner/name/sub@main" and at.metric[0].value == "3"


def test_a_cancelled_download_waits_for_download_again(loopback):
    from ui.session import CANCELLED_KEY

    loopback.add("owner/name", {"model.safetensors": craft.valid(craft.sample())})
    at = run_picker(picker_choice=OTHER_HUB, picker_hub="owner/name", **{CANCELLED_KEY: "owner/name"})
    assert any("was cancelled" in i.value for i in at.info) and not loopback.fetched()
    at.button(key="model_download_again").click().run()
    assert not errors(at), errors(at)
    assert at.metric[0].value == "3" and loopback.fetched() == ["model.safetensors"]


def test_hosted_token_goes_only_to_the_repos_secrets_toml_lists(loopback, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from tests.ui.drive import PICKER_APP

    monkeypatch.setenv("HF_TOKEN", loopback.token)
    loopback.add("host/private", {"model.safetensors": craft.valid(craft.sample())}, private=True)
    for listed, opens in [([], False), (["host/private"], True)]:
        loopback.log.clear()
        at = AppTest.from_file(PICKER_APP, default_timeout=60)
        at.secrets["weights"] = {"hosted": True, "token_repos": listed}
        at.session_state["model_source"] = "host/private"
        at.run()
        requests = [r for r in loopback.log if "/api/agent" not in r.path]
        if opens:
            assert not errors(at) and at.metric[0].value == "3", errors(at)
            assert requests and all(r.authorized for r in requests)
        else:
            refused(at, "No model 'host/private' on the Hub")
            assert requests and not any(r.authorized for r in requests)
