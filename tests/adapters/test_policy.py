"""The hosting policy: what may be opened, and the size limit, with no Streamlit involved."""
from __future__ import annotations

import os

import pytest

from adapters import LoadError, Policy, open_model
from adapters.policy import (
    GB,
    HOSTED_MAX_BYTES,
    LOCAL_MAX_BYTES,
    parse_bytes,
    parse_hub_id,
)
from tests.adapters import craft

HOSTED = Policy(hosted=True, max_model_bytes=HOSTED_MAX_BYTES)
LOCAL = Policy()

REFUSED_WHEN_HOSTED = {
    "/etc/passwd": "does not open files",
    "../../etc/passwd": "does not open files",
    "..": "does not open files",
    "./model": "does not open files",
    "~/models/gpt2": "does not open files",
    "weights.safetensors": "does not open files",
    "model-q4.gguf": "does not open files",
    "file:///etc/passwd": "URL",
    "file:/etc/passwd": "URL",
    "https://example.com/model.safetensors": "URL",
    "hf://gpt2": "URL",
    "s3://bucket/model": "URL",
    "owner/name/../../etc": "not a Hub model id",
    "owner/../etc": "not a Hub model id",
    "a/b/./c": "no '.', '..' or empty parts",
    "owner\\name": "at most one '/'",
    "owner/na..me": "not a Hub model id",
    "owner--x/name": "not a Hub model id",
    "-owner/name": "not a Hub model id",
    "name.git": "not a Hub model id",
    "x" * 97: "not a Hub model id",
    "gpt2@../../etc": "not a valid revision",
    "gpt2@main/../../x": "not a valid revision",
    "gpt2@/etc/passwd": "not a valid revision",
    "": "No model given",
    "gpt2\x00": "not a model id",
}


@pytest.mark.parametrize("source", list(REFUSED_WHEN_HOSTED))
def test_hosted_refuses_paths_urls_and_bad_ids(source):
    with pytest.raises(LoadError, match=REFUSED_WHEN_HOSTED[source].replace(".", r"\.").replace("?", r"\?")):
        HOSTED.classify(source)
    with pytest.raises(LoadError):  # and open_model never gets further
        open_model(source, policy=HOSTED)


@pytest.mark.parametrize("source", ["gpt2", "EleutherAI/pythia-160m", "Qwen/Qwen2.5-0.5B", "gpt2@main",
                                    "owner/name@refs/pr/1", "owner/name@0123456789abcdef", "a_b/c.d-e",
                                    "a/b/c", "owner/name/checkpoint-500@main", "owner/name/dir/m-q4.gguf"])
def test_hosted_accepts_hub_ids(source):
    assert HOSTED.classify(source) == ("hub", source)


def test_hosted_never_reads_a_local_path_that_looks_like_an_id(tmp_path, monkeypatch):
    (tmp_path / "owner" / "name").mkdir(parents=True)
    (tmp_path / "owner" / "name" / "model.safetensors").write_bytes(craft.valid(craft.sample()))
    monkeypatch.chdir(tmp_path)
    assert LOCAL.classify("owner/name") == ("path", "owner/name")
    assert HOSTED.classify("owner/name") == ("hub", "owner/name")


def test_hosted_opens_a_trusted_folder(minilm_dir):
    policy = Policy.from_env(hosted=True, trusted_paths=[minilm_dir])
    assert policy.classify(minilm_dir)[0] == "path"
    assert open_model(minilm_dir, policy=policy).arch == "bert"
    with pytest.raises(LoadError, match="does not open files"):
        policy.classify(os.path.dirname(minilm_dir))  # only that folder, not what is around it
    with pytest.raises(LoadError, match="does not open files"):
        policy.classify(os.path.join(minilm_dir, "config.json"))


def test_local_mode_opens_paths_resolved(tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "model.safetensors").write_bytes(craft.valid(craft.sample()))
    (tmp_path / "link").symlink_to(tmp_path / "real")
    model = open_model(str(tmp_path / "link"), policy=LOCAL)
    assert model.located.files == [str(tmp_path / "real" / "model.safetensors")]


@pytest.mark.parametrize("source,message", [("/etc/passwd", "not a safetensors file"),
                                            ("/dev/zero", "not a regular file"),
                                            ("file:///etc/passwd", "URL"),
                                            ("https://example.com/x", "URL"),
                                            ("a/b/../c", "neither an existing file or folder nor a Hub id"),
                                            ("no/such/dir/", "neither an existing")])
def test_local_mode_refuses_with_a_message(source, message):
    with pytest.raises(LoadError, match=message):
        open_model(source, policy=LOCAL)


def test_from_env(monkeypatch):
    for var in ("WEIGHTS_HOSTED", "WEIGHTS_MAX_MODEL_BYTES"):
        monkeypatch.delenv(var, raising=False)
    assert Policy.from_env() == Policy(False, LOCAL_MAX_BYTES)
    assert Policy.from_env(hosted=True).max_model_bytes == HOSTED_MAX_BYTES == 2 * GB
    monkeypatch.setenv("WEIGHTS_HOSTED", "1")
    assert Policy.from_env().hosted and Policy.from_env(hosted=False).hosted  # the env var cannot be undone
    monkeypatch.setenv("WEIGHTS_MAX_MODEL_BYTES", "500MB")
    assert Policy.from_env().max_model_bytes == 500 * 10**6
    monkeypatch.setenv("WEIGHTS_MAX_MODEL_BYTES", "lots")
    with pytest.raises(LoadError, match="not a size in bytes"):
        Policy.from_env()


@pytest.mark.parametrize("text,n", [("2000000000", 2 * GB), ("2e9", 2 * GB), ("2GB", 2 * GB), ("2 gb", 2 * GB),
                                    ("1.5G", 15 * 10**8), ("700 MB", 7 * 10**8), ("1TB", 10**12), ("10kB", 10**4)])
def test_parse_bytes(text, n):
    assert parse_bytes(text) == n


def test_check_size_names_the_size_and_the_limit():
    HOSTED.check_size(2 * GB, "ok")
    with pytest.raises(LoadError, match=r"big/model is 3\.5 GB; this app opens models up to 2\.0 GB "
                                        r"\(WEIGHTS_MAX_MODEL_BYTES\).*run the app locally"):
        HOSTED.check_size(35 * 10**8, "big/model")


def test_parse_hub_id_splits_the_revision():
    assert parse_hub_id("owner/name@v1.0") == ("owner/name", "v1.0")
    assert parse_hub_id("gpt2") == ("gpt2", None)
