"""XLM and FlauBERT (families/xlm.py): a post-norm (or FlauBERT's pre-norm) encoder stored as one list per kind
of module, against the forward pass."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(emb_dim=64, n_layers=2, n_heads=4, vocab_size=101, max_position_embeddings=64)


@pytest.mark.parametrize("model_type", ["xlm", "flaubert"])
def test_tiny_model_matches_forward_pass(model_type, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=False, **TINY)
    c = model.cfg
    assert model.arch == "xlm" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.norm_position, c.act) == (4, 16, 256, "post", "gelu")
    check_forward(hf, model, Spec(attn="attentions.{l}", mlp="ffns.{l}", causal=False,
                                  norms={"blocks.{l}.ln1.w": "layer_norm1.{l}", "blocks.{l}.ln2.w": "layer_norm2.{l}",
                                         "embed.ln.w": "layer_norm_emb"}))
    assert_all_accounted(model)


def test_lm_head_is_tied(tmp_path):
    hf, model = build("xlm", tmp_path, **TINY)
    assert model.has("unembed.W_U") and model.has("unembed.b_U")
    assert_all_accounted(model)


def test_flaubert_pre_norm_is_a_typed_field(tmp_path):
    """FlauBERT's pre_norm moves the norms before each sublayer; transformers' own pre-norm forward indexes its
    cache object and fails, so only the config is checked here."""
    _, model = build("flaubert", tmp_path, causal_lm=False, pre_norm=True, **TINY)
    assert model.cfg.norm_position == "pre" and model.has_heads
    assert_all_accounted(model)
