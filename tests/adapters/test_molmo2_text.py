import pytest

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

L = "layers.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
            intermediate_size=48, vocab_size=101, additional_vocab_size=7, max_position_embeddings=64)


def spec(norm_after: bool) -> Spec:
    ln1, ln2 = ("ln1_post", "ln2_post") if norm_after else ("ln1", "ln2")
    return Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
                norms={f"blocks.{{l}}.{ln1}.w": L + "input_layernorm", f"blocks.{{l}}.{ln2}.w": L + "post_attention_layernorm",
                       "ln_final.w": "norm"})


@pytest.mark.parametrize("qk_norm_type, norm_after, qk_norm", [("qwen3", False, "head"), ("olmo", True, "projection")])
def test_tiny_molmo2_text_matches_forward_pass(tmp_path, qk_norm_type, norm_after, qk_norm):
    hf, model = build("molmo2_text", tmp_path, causal_lm=False, **TINY, qk_norm_type=qk_norm_type,
                      norm_after=norm_after)
    c = model.cfg
    assert model.arch == "molmo2_text" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab, c.qk_norm) == (4, 2, 16, 48, 108, qk_norm)
    assert c.norm_position == ("output" if norm_after else "pre")
    assert model.weight("embed.W_E").shape == (108, 64)
    check_forward(hf, model, spec(norm_after))
    assert_all_accounted(model)


def test_molmo2_text_without_config_is_read_by_layout(tmp_path):
    build("molmo2_text", tmp_path, causal_lm=False, **TINY, qk_norm_type="qwen3")
    (tmp_path / "config.json").unlink()
    model = open_model(str(tmp_path))  # a per-head q_norm is one head long: the head count follows
    c = model.cfg
    assert model.arch == "molmo2_text" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.d_vocab) == (4, 2, 16, 48, 108)
    assert_all_accounted(model)
