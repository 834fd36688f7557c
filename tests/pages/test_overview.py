from tests.pages.apptest import errors, run_page


def test_overview_on_bundled_model():
    at = run_page()
    assert not errors(at), errors(at)
    assert at.title[0].value == "Architecture"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Parameters (unique)"] == "22.7M"
    assert any("22,713,216" in m.value for m in at.markdown)


def test_overview_gpt2_shows_tie(tmp_path):
    from tests.adapters.harness import build
    build("gpt2", tmp_path, n_embd=32, n_layer=2, n_head=2, vocab_size=60, n_positions=16)
    at = run_page("pages/overview.py", source=str(tmp_path))
    assert not errors(at), errors(at)
    assert any("`lm_head.weight` is tied to `transformer.wte.weight`" in m.value for m in at.markdown)


def test_bad_path_is_a_message_not_a_traceback(tmp_path):
    at = run_page("pages/overview.py", source=str(tmp_path / "missing"))
    assert not at.exception
    assert "does not exist" in at.error[0].value


def test_overview_draws_both_charts():
    at = run_page("pages/overview.py")
    assert len(at.get("vega_lite_chart")) == 2


def test_overview_shows_the_storage_of_an_fp8_checkpoint(tmp_path):
    from tests.adapters.harness import build
    from tests.adapters.test_quantized import _fp8_checkpoint
    build("llama", tmp_path / "bf", hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=2, vocab_size=101, max_position_embeddings=32)
    _fp8_checkpoint(tmp_path / "bf", tmp_path / "fp8")
    at = run_page("pages/overview.py", source=str(tmp_path / "fp8"))
    assert not errors(at), errors(at)
    assert len(at.get("vega_lite_chart")) == 3  # categories, layers, and the size by stored type
    tables = [df.value for df in at.dataframe]
    storage = next(t for t in tables if "bits a weight" in t.columns and "tensors" in t.columns)
    assert sorted(storage["stored"]) == ["F32", "F8_E4M3"]
    tensors = tables[-1].set_index("name")
    assert tensors.loc["model.layers.0.self_attn.q_proj.weight", "stored"] == "F8_E4M3"
    assert not [n for n in tensors.index if "scale" in n]  # the scales belong to their weights
    assert any("On disk:" in m.value and "F8_E4M3 for" in m.value for m in at.markdown)
