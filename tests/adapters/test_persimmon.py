from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=99,
            max_position_embeddings=64)
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.final_layernorm"})


def test_tiny_persimmon_matches_forward_pass(tmp_path):
    hf, model = build("persimmon", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "persimmon" and model.has_heads
    assert (c.n_heads, c.d_head, c.rotary_dim, c.act, c.qk_norm) == (4, 16, 8, "relu2", "head_layernorm")
    assert model.weight("blocks.1.attn.q_norm.b").shape == (16,)
    check_forward(hf, model, SPEC)  # the per-head LayerNorm on q and k, bias included, inside the pattern
    check_ends(hf, model)
    assert_all_accounted(model)
