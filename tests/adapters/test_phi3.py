import numpy as np

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

SPEC = Spec(attn="model.layers.{l}.self_attn", mlp="model.layers.{l}.mlp", zero_positions=True)
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            intermediate_size=96, vocab_size=101, max_position_embeddings=32, pad_token_id=0, eos_token_id=2,
            bos_token_id=1)


def test_tiny_phi3_matches_forward_pass(tmp_path):
    hf, model = build("phi3", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "phi3"
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 96)
    assert (c.norm, c.gated_mlp, c.positional, c.rotary_dim) == ("rmsnorm", True, "rotary", 16)
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 16)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 16)
    assert model.weight("blocks.0.mlp.W_gate").shape == (64, 96)
    assert not model.has("blocks.0.attn.b_Q") and not model.has("blocks.0.ln1.b")  # absent, never zero
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
    assert not model.tied
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)


def test_tied_phi3_reads_embed_tokens(tmp_path):
    hf, model = build("phi3", tmp_path, **{**TINY, "num_hidden_layers": 1}, tie_word_embeddings=True)
    assert model.tied == [("lm_head.weight", "model.embed_tokens.weight")]
    np.testing.assert_array_equal(model.weight("unembed.W_U"), model.weight("embed.W_E").T)


def test_infers_shapes_without_config(tmp_path):
    # Given n_heads, o_proj's width gives d_head and the fused qkv_proj's rows the key/value heads.
    hf, _ = build("phi3", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    c = model.cfg
    assert model.arch == "phi3"
    assert (c.n_layers, c.d_model, c.d_vocab, c.d_mlp) == (2, 64, 101, 96)
    assert (c.n_heads, c.n_kv_heads, c.d_head) == (4, 2, 16)
    assert model.weight("blocks.1.attn.W_V").shape == (2, 64, 16)
    check_forward(hf, model, SPEC)
