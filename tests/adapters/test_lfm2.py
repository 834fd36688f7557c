from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "feed_forward", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "operator_norm", "blocks.{l}.ln2.w": L + "ffn_norm",
                   "ln_final.w": "model.embedding_norm"})
# attention in layer 1 of 3, between convolutions; intermediate_size 96 is adjusted to 64 before use
TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, intermediate_size=96,
            block_multiple_of=32, vocab_size=101, layer_types=["conv", "full_attention", "conv"])


def test_tiny_lfm2_matches_forward_pass(tmp_path):
    hf, model = build("lfm2", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "lfm2" and model.has_heads and (c.positional, c.qk_norm, c.rotary_dim) == ("rotary", "head", 16)
    assert model.layers("attn.W_Q") == model.layers("ln1.w") == [1] and model.layers("mlp.W_in") == [0, 1, 2]
    assert c.d_mlp == 64 and c.tied_embeddings
    assert any(n.kind == "layout" and "layer 1 of 3" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.conv.in_proj.weight"] == "gated short-convolution mixer: no attention heads"
    check_forward(hf, model, SPEC)
    check_ends(hf, model)  # the last hidden state is after embedding_norm: the final norm
    assert_all_accounted(model)


def test_lfm2_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("lfm2", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # q_layernorm's length gives d_head, and with it every head count
    c = model.cfg
    assert model.arch == "lfm2" and (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 64)
    assert model.layers("attn.W_Q") == [1]
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
