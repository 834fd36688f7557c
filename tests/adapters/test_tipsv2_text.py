from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

L = "encoder.layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=99,
            max_position_embeddings=32)


def test_tiny_tipsv2_text_matches_forward_pass(tmp_path):
    hf, model = build("tipsv2_text_model", tmp_path, causal_lm=False, **TINY)  # saved in OpenCLIP's names
    c = model.cfg
    assert model.arch == "tipsv2_text" and model.has_heads
    assert (c.n_heads, c.d_head, c.act, c.embed_scale) == (4, 16, "relu", 8.0)
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", causal=False,
                                  norms={"blocks.{l}.ln1.w": L + "layer_norm1", "blocks.{l}.ln2.w": L + "layer_norm2"}))
    assert_all_accounted(model)
