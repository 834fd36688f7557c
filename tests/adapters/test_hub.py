"""Hub models as people find them, against a loopback Hub (tests/hub_server.py) on 127.0.0.1: shards beside a
consolidated copy, weights in a folder of the repo, one file of many, a Hub that is down or answers 500, a
dropped connection, the host's token, the cache's budget, progress and revisions."""
from __future__ import annotations

import gc
import os

import numpy as np
import pytest

from adapters import LoadError, Policy, open_model
from adapters import hub as hub_module
from adapters.hub import DownloadCancelled, progress_to


def _offline(monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def _same_tensors(model, files: dict[str, bytes]):
    """Every tensor of the opened model equals the one safetensors wrote (read back by safetensors itself)."""
    from safetensors.numpy import load

    expected = {}
    for name, data in files.items():
        if name.endswith(".safetensors"):
            expected.update(load(data))
    assert set(model.raw_names()) >= set(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(model.raw(name), array.astype(np.float32))


# ---- 1. shards beside a consolidated copy ------------------------------------------------------------------
def test_shards_beside_a_consolidated_copy_fetch_and_count_only_the_index_s_files(hub, gpt2_files):
    sharded, single = gpt2_files
    shards = sorted(f for f in sharded if f.endswith(".safetensors"))
    assert len(shards) > 1
    hub.add("mistral/like", {**sharded, "consolidated.safetensors": single["model.safetensors"],
                             "README.md": b"# card"})
    used = sum(len(sharded[f]) for f in sharded if f != "generation_config.json")
    # Within the limit counting the index's files, over it if the consolidated copy were counted too.
    model = open_model("mistral/like", policy=Policy(max_model_bytes=used + 1000))
    assert sorted(hub.fetched()) == sorted(["config.json", "model.safetensors.index.json", *shards])
    _same_tensors(model, {f: sharded[f] for f in shards})
    assert model.arch == "gpt2"


def test_a_shard_the_index_names_but_the_repo_lacks_is_a_clear_error(hub, gpt2_files):
    sharded, _ = gpt2_files
    broken = {f: d for f, d in sharded.items() if not f.startswith("model-00001")}
    hub.add("owner/broken", broken)
    with pytest.raises(LoadError, match="names shards that are not in the repo: model-00001"):
        open_model("owner/broken", policy=Policy())
    assert not [f for f in hub.fetched() if f.endswith(".safetensors")]


# ---- 2. a folder or a file in the repo ---------------------------------------------------------------------
def test_weights_in_a_folder_of_the_repo(hub, gpt2_files, monkeypatch):
    sharded, single = gpt2_files
    top = {"config.json": single["config.json"], "model.safetensors": single["model.safetensors"]}
    nested = {f"checkpoint-500/{f}": d for f, d in sharded.items()}
    hub.add("owner/run", {**top, **nested, "checkpoint-500/training_args.bin": b"pickle!"})
    model = open_model("owner/run/checkpoint-500", policy=Policy())
    assert sorted(hub.fetched()) == sorted(f"checkpoint-500/{f}" for f in sharded
                                           if f != "generation_config.json")
    _same_tensors(model, sharded)
    assert model.located.identity.endswith("/checkpoint-500") and model.located.display == "owner/run/checkpoint-500"
    top_model = open_model("owner/run", policy=Policy())  # the top level: its own file, not the nested ones
    assert top_model.located.files[0].endswith("snapshots/" + top_model.identity.split("@")[1] + "/model.safetensors")
    _offline(monkeypatch)  # both open from the cache alone
    assert open_model("owner/run", policy=Policy()).identity == top_model.identity
    assert open_model("owner/run/checkpoint-500", policy=Policy()).identity == model.identity


def test_a_repo_with_weights_only_in_folders_names_them(hub, gpt2_files):
    _, single = gpt2_files
    hub.add("owner/pipeline", {"model_index.json": b"{}", "text_encoder/config.json": single["config.json"],
                               "text_encoder/model.safetensors": single["model.safetensors"]})
    with pytest.raises(LoadError, match="no weights at its top level; there are some in text_encoder/. "
                                        "Open one as 'owner/pipeline/text_encoder'"):
        open_model("owner/pipeline", policy=Policy())
    model = open_model("owner/pipeline/text_encoder", policy=Policy())
    _same_tensors(model, single)


def test_one_file_of_many_is_listed_and_only_the_chosen_one_fetched(hub, gpt2_files):
    _, single = gpt2_files
    weights = single["model.safetensors"]
    hub.add("owner/quants", {"config.json": single["config.json"], "m-q4.safetensors": weights,
                             "m-q8.safetensors": weights + b"", "sub/m-f16.safetensors": weights})
    with pytest.raises(LoadError, match=r"holds 2 weight files and no shard index: m-q4\.safetensors \(.*\), "
                                        r"m-q8\.safetensors .*Choose one, e\.g\. 'owner/quants/m-q4\.safetensors'"):
        open_model("owner/quants", policy=Policy())
    sizes = hub_module.sizes_of(hub_module.model_info(hub_module.HubSource("owner/quants"), Policy()))
    assert hub_module.candidates(sizes) == ["m-q4.safetensors", "m-q8.safetensors"]
    assert hub_module.candidates(sizes, "sub") == ["sub/m-f16.safetensors"]
    model = open_model("owner/quants/m-q8.safetensors", policy=Policy())
    assert hub.fetched() == ["config.json", "m-q8.safetensors"]
    _same_tensors(model, single)


@pytest.mark.parametrize("pasted,source", [
    ("https://huggingface.co/owner/run", "owner/run"),
    ("https://huggingface.co/owner/run/tree/main/checkpoint-500", "owner/run/checkpoint-500@main"),
    ("https://huggingface.co/owner/run/blob/main/checkpoint-500/model.safetensors?download=true",
     "owner/run/checkpoint-500/model.safetensors@main"),
    ("https://hf.co/owner/run/resolve/refs%2Fpr%2F1/model.safetensors", "owner/run/model.safetensors@refs/pr/1"),
    ("https://huggingface.co/gpt2/tree/main", "gpt2@main"),
])
def test_addresses_pasted_from_the_hub_are_opened_as_sources(pasted, source):
    assert Policy(hosted=True).classify(pasted) == ("hub", source)
    assert Policy().classify(pasted) == ("hub", source)


def test_an_address_on_the_configured_endpoint_opens_through_it(hub, gpt2_files):
    _, single = gpt2_files
    hub.add("owner/name", single)
    model = open_model(f"{hub.url}/owner/name/blob/main/model.safetensors", policy=Policy(hosted=True))
    _same_tensors(model, single)


@pytest.mark.parametrize("source,message", [("https://huggingface.co/datasets/x/y", "only models"),
                                            ("https://huggingface.co/owner/name/discussions/3", "not a Hub address"),
                                            ("owner/name/../x", "no '.', '..' or empty parts"),
                                            ("owner/name//x.safetensors", "empty parts")])
def test_bad_addresses_and_paths_are_refused(source, message):
    with pytest.raises(LoadError, match=message):
        Policy(hosted=True).classify(source)


# ---- 3. a Hub that is down ----------------------------------------------------------------------------------
def test_hub_down_opens_the_cached_copy_and_says_so(hub, gpt2_files):
    _, single = gpt2_files
    commit = hub.add("owner/name", single)
    assert open_model("owner/name", policy=Policy()).located.notice is None
    hub.stop()
    model = open_model("owner/name", policy=Policy())
    assert model.located.notice.startswith("the Hub could not be reached")
    assert model.located.notice.endswith(f"opened the cached commit {commit[:7]} of main")
    _same_tensors(model, single)


def test_hub_down_with_nothing_cached_names_hf_hub_offline(hub):
    hub.stop()
    with pytest.raises(LoadError, match="not in the local Hugging Face cache, and the Hub could not be reached.*"
                                        "HF_HUB_OFFLINE=1"):
        open_model("owner/name", policy=Policy())


def test_a_500_is_the_hub_failing_not_being_offline(hub, gpt2_files):
    _, single = gpt2_files
    hub.add("owner/name", single)
    open_model("owner/name", policy=Policy())
    hub.status = 500
    assert "500" in open_model("owner/name", policy=Policy()).located.notice
    with pytest.raises(LoadError, match="500") as refused:
        open_model("owner/other", policy=Policy())
    assert "offline?" not in str(refused.value)


def test_a_connection_dropped_mid_file_resumes(hub, gpt2_files, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 500)  # so the bytes before the drop reach the disk
    _, single = gpt2_files
    hub.add("owner/name", single)
    hub.drop_after["model.safetensors"] = 1000
    model = open_model("owner/name", policy=Policy())
    _same_tensors(model, single)
    resumed = [r for r in hub.log if r.method == "GET" and r.path.endswith("/model.safetensors")]
    assert [r.range for r in resumed] == [None, "bytes=1000-"]


# ---- 4. the host's token in hosted mode ---------------------------------------------------------------------
def test_hosted_visitors_ids_go_out_without_the_host_s_token(hub, gpt2_files, monkeypatch):
    _, single = gpt2_files
    monkeypatch.setenv("HF_TOKEN", hub.token)
    hub.add("host/private", single, private=True)
    hub.add("someone/public", single)
    hosted = Policy(hosted=True)
    open_model("someone/public", policy=hosted)
    assert hub.log and not any(r.authorized for r in hub.log if "/api/agent" not in r.path)
    with pytest.raises(LoadError, match="No model 'host/private' on the Hub"):
        open_model("host/private", policy=hosted)
    hub.log.clear()
    listed = Policy.from_env(hosted=True, token_repos=["host/private"])
    _same_tensors(open_model("host/private", policy=listed), single)
    assert all(r.authorized for r in hub.log if "/api/agent" not in r.path)
    hub.log.clear()
    open_model("someone/public", policy=Policy())  # locally the user's own token goes with every request
    assert any(r.authorized for r in hub.log)


def test_token_repos_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEIGHTS_TOKEN_REPOS", "host/a, host/b")
    policy = Policy.from_env(hosted=True, token_repos=["host/c"])
    assert policy.token_repos == ("host/a", "host/b", "host/c")
    assert policy.token("host/b") is None and policy.token("visitor/x") is False
    assert Policy.from_env().token("visitor/x") is None  # locally: huggingface_hub's own default


# ---- 5. the hosted app's disk -------------------------------------------------------------------------------
def test_cache_budget_evicts_least_recently_used_never_an_open_repo(hub, gpt2_files, tmp_path):
    _, single = gpt2_files
    for name in ("a", "b", "c", "d"):
        hub.add(f"owner/{name}", single)
    size = sum(len(d) for f, d in single.items() if f != "generation_config.json")
    policy = Policy(hosted=True, hub_cache_max_bytes=int(2.5 * size))
    held = open_model("owner/a", policy=policy)  # open all along
    for name in ("b", "c"):
        open_model(f"owner/{name}", policy=policy)
        gc.collect()
    cached = lambda: sorted(n[len("models--owner--"):] for n in os.listdir(tmp_path / "hub-cache")  # noqa: E731
                            if n.startswith("models--"))
    assert cached() == ["a", "c"]  # b, the least recently used one not open, made room for c
    gc.collect()
    open_model("owner/d", policy=policy)
    assert cached() == ["a", "d"]
    assert held.raw_names()  # still readable: its files were never touched
    _same_tensors(held, single)


def test_cache_budget_too_small_for_the_open_models_is_a_message(hub, gpt2_files):
    _, single = gpt2_files
    hub.add("owner/a", single)
    hub.add("owner/b", single)
    size = sum(len(d) for f, d in single.items() if f != "generation_config.json")
    policy = Policy(hosted=True, hub_cache_max_bytes=int(1.5 * size))
    held = open_model("owner/a", policy=policy)
    with pytest.raises(LoadError, match="WEIGHTS_HUB_CACHE_MAX_BYTES"):
        open_model("owner/b", policy=policy)
    assert held.raw_names()


def test_hub_cache_budget_from_the_environment(monkeypatch):
    monkeypatch.delenv("WEIGHTS_HUB_CACHE_MAX_BYTES", raising=False)
    assert Policy.from_env().hub_cache_max_bytes is None
    assert Policy.from_env(hosted=True).hub_cache_max_bytes == 10 * 10**9
    monkeypatch.setenv("WEIGHTS_HUB_CACHE_MAX_BYTES", "3GB")
    assert Policy.from_env(hosted=True).hub_cache_max_bytes == 3 * 10**9


# ---- 6. progress --------------------------------------------------------------------------------------------
def test_progress_counts_every_byte_and_a_cancel_stops_the_download(hub, gpt2_files):
    sharded, _ = gpt2_files
    hub.add("owner/name", sharded)
    seen = []

    def cancel(done, total, name):
        if name.endswith(".safetensors"):
            raise DownloadCancelled("cancelled")

    with progress_to(cancel), pytest.raises(DownloadCancelled):
        open_model("owner/name", policy=Policy())
    with progress_to(lambda done, total, name: seen.append((done, total, name))):
        open_model("owner/name", policy=Policy())
    total = sum(len(d) for f, d in sharded.items() if f != "generation_config.json")
    assert seen[-1][:2] == (total, total)
    dones = [d for d, t, n in seen if t]
    assert dones == sorted(dones)  # never backwards


# ---- 7. revisions -------------------------------------------------------------------------------------------
def test_revisions_are_listed_and_open(hub, gpt2_files):
    sharded, single = gpt2_files
    hub.add("owner/pythia", single, branch="main", tags=["step1000"])
    hub.add("owner/pythia", sharded, branch="step2000-branch")
    assert hub_module.refs("owner/pythia", Policy()) == (["main", "step2000-branch"], ["step1000"])
    old = open_model("owner/pythia@step1000", policy=Policy())
    new = open_model("owner/pythia@step2000-branch", policy=Policy())
    assert old.identity != new.identity and len(new.located.files) > 1
    _same_tensors(new, sharded)


# ---- the size limit -----------------------------------------------------------------------------------------
def test_a_model_over_the_limit_is_refused_before_any_download(hub, gpt2_files):
    sharded, _ = gpt2_files
    hub.add("owner/big", sharded)
    with pytest.raises(LoadError, match=r"owner/big is .*; this app opens models up to 1\.0 kB"):
        open_model("owner/big", policy=Policy(hosted=True, max_model_bytes=1000))
    assert hub.fetched() == ["model.safetensors.index.json"]  # the index alone (it says which shards count)


def test_plan_counts_the_index_s_shards_and_refuses_unsized_files():
    sizes = {"config.json": 700, "model-00001-of-00002.safetensors": 3 * 10**9,
             "model-00002-of-00002.safetensors": 10**9, "model.safetensors.index.json": 20_000,
             "consolidated.safetensors": 4 * 10**9, "onnx/model.safetensors": 4 * 10**9, "README.md": 5000}
    index = {"weight_map": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}}
    chosen = hub_module.plan(sizes, hub_module.HubSource("o/n"), lambda path: index)
    assert chosen.weights == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert chosen.nbytes == 4 * 10**9 + 20_700 and not chosen.is_torch
    torch_plan = hub_module.plan({"config.json": 10, "pytorch_model.bin": 500, "training_args.bin": 9},
                                 hub_module.HubSource("o/n"), None)
    assert torch_plan.files == ["config.json", "pytorch_model.bin"] and torch_plan.is_torch
    with pytest.raises(LoadError, match="does not say how large model.safetensors is"):
        hub_module.plan({"model.safetensors": None}, hub_module.HubSource("o/n"), None)
    with pytest.raises(LoadError, match="no file 'x.gguf'"):
        hub_module.plan(sizes, hub_module.HubSource("o/n", None, "x.gguf"), None)


# ---- 8. a tied lm_head in a .bin checkpoint -----------------------------------------------------------------
def test_a_tied_lm_head_in_a_bin_checkpoint_is_tied(hub, tmp_path):
    """torch.save of a tied model's state dict (what save_pretrained wrote before safetensors) stores lm_head as a
    second name for the embedding's memory: it is read as tied, as the safetensors file of the model is."""
    import io

    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(1)
    hf = AutoModelForCausalLM.from_config(AutoConfig.for_model("gpt2", n_layer=1, n_embd=32, n_head=4,
                                                               n_positions=16, vocab_size=64))
    hf.save_pretrained(tmp_path)
    state = hf.state_dict()
    assert state["lm_head.weight"].data_ptr() == state["transformer.wte.weight"].data_ptr()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    hub.add("owner/old", {"config.json": (tmp_path / "config.json").read_bytes(), "pytorch_model.bin": buffer.getvalue()})
    from_bin, from_safetensors = open_model("owner/old", policy=Policy()), open_model(str(tmp_path))
    assert from_bin.located.is_torch and from_bin.tied == from_safetensors.tied == [("lm_head.weight",
                                                                                    "transformer.wte.weight")]
    unembed = [t for t in from_bin.tensors() if t.name == "lm_head.weight"]
    assert len(unembed) == 1 and unembed[0].tied_to == "transformer.wte.weight"
    np.testing.assert_array_equal(from_bin.weight("unembed.W_U"), from_safetensors.weight("unembed.W_U"))
    np.testing.assert_array_equal(from_bin.raw("lm_head.weight"), hf.lm_head.weight.detach().numpy())


# ---- the report command: progress on stderr, the cached-copy notice in the report -----------------------------
def test_report_shows_download_progress_and_the_hub_down_notice(hub, gpt2_files, tmp_path, capsys):
    import json

    import report

    _, single = gpt2_files
    commit = hub.add("owner/name", single)
    assert report.main(["owner/name", "--out", str(tmp_path / "a"), "--only", "architecture", "--no-cache"]) == 0
    total = sum(len(d) for f, d in single.items() if f != "generation_config.json")
    from adapters.units import human_bytes
    assert f"downloading: {human_bytes(total)} of {human_bytes(total)}" in capsys.readouterr().err
    hub.stop()
    assert report.main(["owner/name", "--out", str(tmp_path / "b"), "--only", "architecture", "--no-cache"]) == 0
    err = capsys.readouterr().err
    assert "downloading" not in err and "note: the Hub could not be reached" in err
    doc = json.loads((tmp_path / "b" / "report.json").read_text())
    assert doc["model"]["notice"].endswith(f"opened the cached commit {commit[:7]} of main")
    assert "could not be reached" in (tmp_path / "b" / "report.html").read_text()


def test_progress_text_reads_bytes_rate_and_time_left():
    assert hub_module.progress_text(10**6, 10**6, 0.1) == "1.0 MB of 1.0 MB"
    assert hub_module.progress_text(2 * 10**8, 2 * 10**9, 50.0, "dir/model-00001.safetensors") == \
        "200.0 MB of 2.0 GB · 4.0 MB/s · 8 min left · model-00001.safetensors"
    assert hub_module.progress_text(4 * 10**6, 10**7, 1.0) == "4.0 MB of 10.0 MB · 4.0 MB/s · 2 s left"


def test_a_split_gguf_is_one_model_and_a_part_names_all_of_it():
    sizes = {"m-Q4-00001-of-00002.gguf": 10, "m-Q4-00002-of-00002.gguf": 20, "README.md": 1}
    assert hub_module.plan(sizes, hub_module.HubSource("o/n"), None).weights == \
        ["m-Q4-00001-of-00002.gguf", "m-Q4-00002-of-00002.gguf"]
    named = hub_module.plan(sizes, hub_module.HubSource("o/n", None, "m-Q4-00002-of-00002.gguf"), None)
    assert named.weights == ["m-Q4-00001-of-00002.gguf", "m-Q4-00002-of-00002.gguf"] and named.nbytes == 30
    with pytest.raises(LoadError, match="holds 3 weight files"):
        hub_module.plan({**sizes, "m-Q8.gguf": 40}, hub_module.HubSource("o/n"), None)
    with pytest.raises(LoadError, match="split into 3 files, and d/x-00002-of-00003.gguf is not in the repo"):
        hub_module.plan({"d/x-00001-of-00003.gguf": 1}, hub_module.HubSource("o/n", None, "d/x-00001-of-00003.gguf"),
                        None)


def test_a_gguf_file_in_a_repo_of_many_is_the_one_downloaded(hub, tmp_path):
    """Only the chosen quantization is fetched, and it opens with the GGUF reader."""
    import gguf
    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_tensor("token_embd.weight", np.arange(12, dtype=np.float32).reshape(3, 4))
    writer.write_header_to_file(), writer.write_kv_data_to_file(), writer.write_tensors_to_file()
    writer.close()
    data = path.read_bytes()
    hub.add("owner/quants", {"m-Q4_K_M.gguf": data, "m-Q8_0.gguf": data, "README.md": b"x"})
    model = open_model("owner/quants/m-Q8_0.gguf", policy=Policy())
    assert hub.fetched() == ["m-Q8_0.gguf"]
    np.testing.assert_array_equal(model.raw(model.raw_names()[0]), np.arange(12, dtype=np.float32).reshape(3, 4))
