import numpy as np

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
# head_dim 24 with 4 heads: q_proj is [96, 64], so n_heads * d_head != d_model
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
            intermediate_size=96, vocab_size=101, max_position_embeddings=64)


def test_tiny_qwen3_matches_forward_pass(tmp_path):
    hf, model = build("qwen3", tmp_path, rms_norm_eps=1e-5, **TINY)  # eps read from the model, not assumed
    c = model.cfg
    assert model.arch == "qwen3"
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.rotary_dim, c.norm, c.gated_mlp) == (4, 2, 24, 24, "rmsnorm", True)
    assert model.weight("blocks.0.attn.W_Q").shape == (4, 64, 24)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 24)
    assert model.weight("blocks.0.attn.W_O").shape == (4, 24, 64)
    assert model.weight("blocks.1.attn.q_norm.w").shape == model.weight("blocks.1.attn.k_norm.w").shape == (24,)
    np.testing.assert_allclose(model.weight("blocks.1.attn.k_norm.w"),
                               hf.model.layers[1].self_attn.k_norm.weight.detach().numpy())
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_tie_follows_config(tmp_path):
    for tied in (True, False):
        folder = tmp_path / str(tied)
        hf, model = build("qwen3", folder, tie_word_embeddings=tied, **{**TINY, "num_hidden_layers": 1})
        assert model.tied == ([("lm_head.weight", "model.embed_tokens.weight")] if tied else [])
        np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)


def test_single_file_without_config_reads_heads_off_q_norm(tmp_path):
    build("qwen3", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone))
    c = model.cfg
    assert model.arch == "qwen3"
    assert (c.n_layers, c.d_model, c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab) == (2, 64, 4, 2, 24, 96, 101)
    assert model.weight("blocks.0.attn.W_K").shape == (2, 64, 24)
    assert_all_accounted(model)
