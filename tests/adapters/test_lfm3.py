from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "feed_forward", zero_positions=True, window=3, window_layers=(1,),
            norms={"blocks.{l}.ln1.w": L + "operator_norm", "blocks.{l}.ln2.w": L + "ffn_norm",
                   "blocks.{l}.ln1_post.w": L + "post_operator_norm", "blocks.{l}.ln2_post.w": L + "post_ffn_norm",
                   "ln_final.w": "model.embedding_norm"})
# a sliding-window layer and a full one between convolutions
TINY = dict(hidden_size=64, num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=64, vocab_size=101, sliding_window=3, pad_token_id=0, bos_token_id=1, eos_token_id=2,
            layer_types=["conv", "sliding_attention", "conv", "full_attention"])


def test_tiny_lfm3_matches_forward_pass(tmp_path):
    hf, model = build("lfm3", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "lfm3" and model.has_heads and c.qk_norm == "head"
    assert model.layers("attn.W_Q") == model.layers("ln1_post.w") == [1, 3]
    assert model.layers("ln2_post.w") == [0, 1, 2, 3] and model.layers("attn.W_gate_head") == [1, 3]
    assert (c.sliding_window, c.sliding_layers) == (3, (1,))
    assert any(n.kind == "positions" and "sliding-window layers" in n.text for n in c.notes)
    why = {n: w for n, (_, w) in model.ignored.items()}
    assert why["model.layers.0.post_operator_norm.weight"] == "the norm after a gated short-convolution mixer"
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_lfm3_without_config_is_read_by_layout(tmp_path):
    hf, _ = build("lfm3", tmp_path, **TINY)
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # q_norm's length gives d_head; the window is not in the weights
    c = model.cfg
    assert model.arch == "lfm3" and (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 64)
    assert model.layers("attn.W_Q") == [1, 3]
    assert c.sliding_window is None  # said by config.json only
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
