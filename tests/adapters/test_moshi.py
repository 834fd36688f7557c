import torch

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
# Moshi hands position_ids to its mask: zeros alone would read as seven packed one-token sequences, so an
# explicit all-ones attention_mask keeps the mask causal while rotary stays the identity.
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True, extra_inputs={"attention_mask": torch.ones(1, 7)},
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            ffn_dim=96, vocab_size=101, max_position_embeddings=64)


def test_tiny_moshi_text_decoder_matches_forward_pass(tmp_path):
    hf, model = build("moshi", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "moshi" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab) == (4, 2, 16, 48, 101)
    assert model.weight("embed.W_E").shape == (102, 64)  # the extra input token
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_moshi_without_config_is_read_by_layout(tmp_path):
    build("moshi", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "moshi" and model.has_heads and (c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab) == (2, 16, 48, 101)
    assert_all_accounted(model)
