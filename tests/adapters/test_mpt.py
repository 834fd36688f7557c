"""MPT (families/mpt.py): fused Wqkv, alibi, bias-free LayerNorms, against the forward pass."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

TINY = dict(d_model=64, n_layers=2, n_heads=4, vocab_size=101, max_seq_len=64)
B = "transformer.blocks.{l}."
SPEC = Spec(attn=B + "attn", mlp=B + "ffn", mlp_out=B + "ffn.down_proj", alibi=True,  # ffn adds the residual itself
            norms={"blocks.{l}.ln1.w": B + "norm_1", "blocks.{l}.ln2.w": B + "norm_2", "ln_final.w": "transformer.norm_f"})


def test_tiny_mpt_matches_forward_pass(tmp_path):
    hf, model = build("mpt", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "mpt" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.positional, c.act) == (4, 16, 256, "alibi", "gelu")  # transformers fixes the MLP at 4 * d_model
    assert not model.has("blocks.0.ln1.b") and not model.has("blocks.0.attn.b_Q")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_softmax_scale_is_a_typed_field(tmp_path):
    _, model = build("mpt", tmp_path, attn_config={"softmax_scale": 0.5}, **{**TINY, "n_layers": 1})
    assert model.cfg.attn_scale == 0.5
