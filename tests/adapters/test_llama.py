import numpy as np
import pytest

from adapters import open_model
from adapters.families.llama import Llama
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,  # zero positions: rotary is the identity
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=96, vocab_size=101, max_position_embeddings=64)


@pytest.mark.parametrize("model_type", ["llama", "mistral", "qwen2"])
def test_tiny_model_matches_forward_pass(model_type, tmp_path):
    hf, model = build(model_type, tmp_path, rope_theta=50_000.0, **TINY)
    c = model.cfg
    assert model.arch == model_type
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 96)
    assert (c.positional, c.norm, c.gated_mlp, c.act, c.rotary_dim) == ("rotary", "rmsnorm", True, "silu", 16)
    assert c.rotary_base == 50_000.0
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 16)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 16)  # grouped-query: n_kv_heads
    assert model.weight("blocks.1.attn.W_O").shape == (4, 16, 64)
    assert model.weight("blocks.0.mlp.W_gate").shape == model.weight("blocks.0.mlp.W_in").shape == (64, 96)
    assert not model.has("blocks.0.ln1.b") and not model.has("ln_final.b")  # RMSNorm has no bias
    assert model.has("blocks.0.attn.b_Q") == (model_type == "qwen2") and not model.has("blocks.0.attn.b_O")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_llama_with_attention_bias_maps_all_four(tmp_path):
    hf, model = build("llama", tmp_path, attention_bias=True, **TINY)
    assert model.weight("blocks.1.attn.b_K").shape == (2, 16) and model.has("blocks.1.attn.b_O")
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


@pytest.mark.parametrize("tied", [True, False])
def test_tie_follows_config(tied, tmp_path):
    hf, model = build("llama", tmp_path, tie_word_embeddings=tied, **{**TINY, "num_hidden_layers": 1})
    assert model.cfg.tied_embeddings is tied
    assert model.tied == ([("lm_head.weight", "model.embed_tokens.weight")] if tied else [])
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)
    assert np.array_equal(model.weight("unembed.W_U"), model.weight("embed.W_E").T) is tied


def test_old_checkpoints_inv_freq_is_a_buffer(tmp_path):
    from safetensors.numpy import load_file, save_file
    hf, _ = build("llama", tmp_path, **{**TINY, "num_hidden_layers": 1})
    tensors = load_file(tmp_path / "model.safetensors")
    tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = np.ones(8, np.float32)
    save_file(tensors, tmp_path / "model.safetensors", metadata={"format": "pt"})
    model = open_model(str(tmp_path))
    assert_all_accounted(model)
    info = {t.name: t for t in model.tensors()}["model.layers.0.self_attn.rotary_emb.inv_freq"]
    assert info.category == "buffer"


def _lone_file(folder, tmp_path):
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((folder / "model.safetensors").read_bytes())
    return str(lone)


@pytest.mark.parametrize("model_type", ["llama", "qwen2"])
def test_single_file_without_config(model_type, tmp_path, monkeypatch):
    build(model_type, tmp_path, **TINY)
    lone = _lone_file(tmp_path, tmp_path)
    model = open_model(lone)
    c = model.cfg
    assert model.arch == model_type  # qwen2 is told apart by its q, k, v biases without an o bias
    assert (c.n_layers, c.d_model, c.d_mlp, c.d_vocab, c.tied_embeddings) == (2, 64, 96, 101, False)
    assert c.n_heads is None and not model.has("blocks.0.attn.W_Q")  # no head count: no per-head views
    assert model.weight("blocks.0.mlp.W_gate").shape == (64, 96) and model.has("unembed.W_U")
    assert_all_accounted(model)
    # A known d_model supplies the head count; the k_proj rows then give the kv heads.
    monkeypatch.setitem(Llama.KNOWN_HEADS, 64, 4)
    model = open_model(lone)
    assert (model.cfg.n_heads, model.cfg.n_kv_heads, model.cfg.d_head) == (4, 2, 16)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 16)
    assert any(n.kind == "heads-assumed" and "n_heads=4 is assumed" in n.text for n in model.cfg.notes)


def test_llama3_rope_scaling_is_noted(tmp_path):
    rope = {"rope_type": "llama3", "rope_theta": 500_000.0, "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 32}
    _, model = build("llama", tmp_path, rope_parameters=rope, **{**TINY, "num_hidden_layers": 1})
    assert model.cfg.rotary_base == 500_000.0
    assert any(n.kind == "positions" and "rope_type='llama3'" in n.text for n in model.cfg.notes)


def test_mistral_sliding_window_is_a_typed_field_and_matches_the_forward_pass(tmp_path):
    from dataclasses import replace

    hf, model = build("mistral", tmp_path, sliding_window=3, **TINY)
    c = model.cfg
    assert (c.sliding_window, c.sliding_layers) == (3, None)  # None: every layer is windowed
    assert not [n for n in c.notes if n.kind == "maths"]  # a field, not a note
    check_forward(hf, model, replace(SPEC, window=3, window_layers=(0, 1)))
