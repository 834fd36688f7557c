from tests.adapters.harness import build
from tests.pages.apptest import errors, run_page


def test_compare_two_seeds(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    tiny = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    build("gpt2", a, seed=0, **tiny)
    build("gpt2", b, seed=1, **tiny)
    at = run_page("pages/compare.py", source=str(a))
    assert not errors(at), errors(at)
    assert "Choose a second checkpoint" in at.info[0].value
    at.text_input(key="compare_other").set_value(str(b)).run()
    assert not errors(at), errors(at)
    assert any("shared tensors differ" in m.value for m in at.markdown)
    assert len(at.get("vega_lite_chart")) >= 2
    first = at.selectbox(key="compare_tensor").value
    other = next(o for o in at.selectbox(key="compare_tensor").options if o != first)
    at.selectbox(key="compare_tensor").set_value(other).run()
    assert not errors(at)


def test_compare_with_itself_and_bad_path(tmp_path, minilm_dir):
    at = run_page("pages/compare.py")
    at.text_input(key="compare_other").set_value(minilm_dir).run()
    assert any("identical in all" in m.value for m in at.markdown), [m.value for m in at.markdown]
    at.text_input(key="compare_other").set_value(str(tmp_path / "nope")).run()
    assert not at.exception and "does not exist" in at.error[0].value


def test_planted_change_per_head_spectra_and_one_head(tmp_path):
    import numpy as np
    from tests.topics.test_compare import LLAMA, _rows_of_heads, _save_changed
    build("llama", tmp_path / "a", **LLAMA)
    rng = np.random.default_rng(0)
    q = _rows_of_heads([2], 3, rng) @ rng.normal(size=(3, 64)) * 0.05
    _save_changed(tmp_path / "a", tmp_path / "b", {"model.layers.1.self_attn.q_proj.weight": lambda w: w + q})
    at = run_page("pages/compare.py", source=str(tmp_path / "a"), compare_other=str(tmp_path / "b"))
    assert not errors(at), errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert "layer 1 `attn.W_Q`: rank 3" in text and "Per head, 1 of 36 Q/K/V/O head matrices changed" in text
    assert at.selectbox(key="compare_tensor").value == "blocks.1.attn.W_Q"
    # the per-head maps (Q, K, V, O) are drawn, and the heads table lists the one head that moved
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert sum("relative change per head" in s for s in specs) == 4
    assert any(df.value.shape[0] == 1 and list(df.value["head"]) == [2] for df in at.dataframe)
    at.selectbox(key="compare_head_blocks.1.attn.W_Q").set_value(2).run()
    assert not errors(at)
    at.toggle(key="compare_spectral").set_value(True).run()
    assert not errors(at), errors(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("alpha: A (x) against B (y)" in s for s in specs)


def test_a_lora_adapter_as_b_is_read_and_merged_over_a(tmp_path):
    from tests.adapters.test_lora import LLAMA as LORA_LLAMA, _make
    from peft import LoraConfig
    base, folder, _ = _make(tmp_path, "llama", LORA_LLAMA, LoraConfig(r=4, lora_alpha=8, target_modules=["v_proj"]))
    at = run_page("pages/compare.py", source=str(base), compare_other=str(folder))
    assert not errors(at), errors(at)
    text = " ".join(m.value for m in at.markdown)
    assert text.startswith("A LoRA adapter of rank 4 (alpha 8, scale 2) on `v_proj` in layers 0-2: 3 modules.")
    assert "layers 0-2 `attn.W_V`: rank 4" in text


def test_models_that_cannot_be_compared_are_an_error_on_the_page(tmp_path):
    tiny = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    build("gpt2", tmp_path / "a", **tiny)
    build("gpt2", tmp_path / "b", **{**tiny, "n_layer": 3})
    at = run_page("pages/compare.py", source=str(tmp_path / "a"), compare_other=str(tmp_path / "b"))
    assert not at.exception
    assert "A has 2 layers and B has 3" in at.error[0].value


def test_a_lora_adapter_on_the_hub_as_b_is_merged_over_a_even_hosted(tmp_path, monkeypatch):
    """B is a Hub repo holding an adapter: it is merged over A (the model on screen), not over the base it names
    (here a path on another machine, never opened), hosted too, as it is a Hub id, not a path."""
    import os

    from peft import LoraConfig

    from adapters import open_model
    from tests.adapters.test_lora import LLAMA as LORA_LLAMA, _make
    from tests.hub_server import LoopbackHub, point_client_at
    base, folder, _ = _make(tmp_path, "llama", LORA_LLAMA, LoraConfig(r=4, lora_alpha=8, target_modules=["v_proj"]))
    from ui.session import _hub_adapter_of
    hub = LoopbackHub().start()
    _hub_adapter_of.clear()
    try:
        point_client_at(hub, monkeypatch, tmp_path / "hub-cache")
        hub.add("owner/base", {f: (base / f).read_bytes() for f in os.listdir(base)})
        hub.add("owner/lora", {f: (folder / f).read_bytes() for f in os.listdir(folder)})
        open_model("owner/base")  # A, from the Hub; then the page runs hosted
        monkeypatch.setenv("WEIGHTS_HOSTED", "1")
        before = len(hub.fetched())
        at = run_page("pages/compare.py", source="owner/base", compare_other="owner/lora")
        assert not errors(at), errors(at)
        text = " ".join(m.value for m in at.markdown)
        assert text.startswith("A LoRA adapter of rank 4 (alpha 8, scale 2) on `v_proj` in layers 0-2: 3 modules.")
        assert "layers 0-2 `attn.W_V`: rank 4" in text
        assert sorted(hub.fetched()[before:]) == ["adapter_config.json", "adapter_model.safetensors"]
    finally:
        hub.stop()
        _hub_adapter_of.clear()


def test_b_from_the_hub_offers_its_revisions(tmp_path, monkeypatch):
    """B typed as a Hub id gets the sidebar's Revision list under it: A is main, B picks the tag step2."""
    import os

    from tests.hub_server import LoopbackHub, point_client_at
    from ui.picker import _hub_listing
    from ui.session import _hub_adapter_of, _open_hub
    tiny = dict(n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    build("gpt2", tmp_path / "main", **tiny)
    build("gpt2", tmp_path / "step2", seed=1, **tiny)
    monkeypatch.delenv("WEIGHTS_HOSTED", raising=False)
    hub = LoopbackHub().start()
    _open_hub.clear(), _hub_listing.clear(), _hub_adapter_of.clear()
    try:
        point_client_at(hub, monkeypatch, tmp_path / "hub-cache")
        read = lambda folder: {f: (folder / f).read_bytes() for f in os.listdir(folder)}  # noqa: E731
        hub.add("owner/run", read(tmp_path / "main"))
        hub.add("owner/run", read(tmp_path / "step2"), branch="step2")
        at = run_page("pages/compare.py", source="owner/run", compare_other="owner/run")
        assert not errors(at), errors(at)
        assert at.selectbox(key="compare_revision").options == ["(default branch)", "main", "step2"]
        assert any("are identical in all 37 shared tensors" in m.value for m in at.markdown)  # B is A so far
        at.selectbox(key="compare_revision").set_value("step2").run()
        assert not errors(at), errors(at)
        assert any(m.value.startswith("37 of 37 shared tensors differ") for m in at.markdown), \
            [m.value[:80] for m in at.markdown]
    finally:
        hub.stop()
        _open_hub.clear(), _hub_listing.clear(), _hub_adapter_of.clear()


def test_a_change_to_one_expert_has_its_own_tab(tmp_path):
    from tests.topics.test_compare import _save_changed
    tiny = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                intermediate_size=48, vocab_size=101, max_position_embeddings=64, num_local_experts=5,
                num_experts_per_tok=2)
    build("mixtral", tmp_path / "a", **tiny)
    _save_changed(tmp_path / "a", tmp_path / "b",
                  {"model.layers.1.block_sparse_moe.experts.3.w3.weight": lambda w: w + 0.01})
    at = run_page("pages/compare.py", source=str(tmp_path / "a"), compare_other=str(tmp_path / "b"))
    assert not errors(at), errors(at)
    assert [t.label for t in at.tabs] == ["Per tensor", "Per head", "Per expert", "Spectra: A against B"]
    from tests.pages.vega import titled
    grid = titled(at, "mlp.experts.W_in: relative change per expert")
    moved = [row for row in grid.data[0] if row["rel_change"] > 0]
    assert [(row["layer"], row["head"]) for row in moved] == [(1, 3)]
    table = next(d.value for d in at.dataframe if "expert" in d.value)
    assert list(table["expert"]) == [3]
    at.selectbox(key="compare_tensor").set_value("blocks.1.mlp.experts.W_in").run()
    assert at.selectbox(key="compare_head_blocks.1.mlp.experts.W_in").label == "Expert"
