"""ALBERT (families/albert.py): one stored layer group applied num_hidden_layers times, against the forward pass.

The forward check runs a one-layer model, so the hooks on the shared modules see one call; the second test
opens a deeper model and checks that its stored group is listed once, with a note saying how often it runs."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(hidden_size=64, embedding_size=32, num_attention_heads=4, intermediate_size=96, vocab_size=101,
            max_position_embeddings=64)
G = "encoder.albert_layer_groups.{l}.albert_layers.0."


def test_tiny_albert_matches_forward_pass(tmp_path):
    hf, model = build("albert", tmp_path, causal_lm=False, num_hidden_layers=1, **TINY)
    c = model.cfg
    assert model.arch == "albert" and model.has_heads
    assert (c.n_layers, c.d_model, c.d_head, c.d_mlp, c.norm_position) == (1, 64, 16, 96, "post")
    assert not model.has("embed.W_E")  # 32-wide: outside the schema
    check_forward(hf, model, Spec(attn=G + "attention", attn_out=G + "attention.dense", mlp=G + "ffn",
                                  mlp_out=G + "ffn_output", causal=False,
                                  norms={"blocks.{l}.ln1.w": G + "attention.LayerNorm",
                                         "blocks.{l}.ln2.w": G + "full_layer_layer_norm"}))
    assert_all_accounted(model)


def test_shared_layers_are_listed_once_with_a_note(tmp_path):
    _, model = build("albert", tmp_path, causal_lm=False, num_hidden_layers=6, **TINY)
    assert model.cfg.n_layers == 1 and model.layers("attn.W_Q") == [0]
    assert any(n.kind == "maths" and "6 layers" in n.text for n in model.cfg.notes)
    assert_all_accounted(model)
