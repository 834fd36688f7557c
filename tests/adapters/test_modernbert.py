"""ModernBERT and ModernBERT-decoder (families/modernbert.py) against their forward passes: fused Wqkv (or
separate projections), a GeGLU MLP fused in Wi, bias-free LayerNorms, no attn_norm in the first layer."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96, vocab_size=101,
            max_position_embeddings=64, pad_token_id=0, bos_token_id=1, eos_token_id=2, cls_token_id=1,
            sep_token_id=2)


def spec(prefix: str, causal: bool) -> Spec:
    layer = prefix + "layers.{l}."
    return Spec(attn=layer + "attn", mlp=layer + "mlp", causal=causal, zero_positions=True,
                norms={"blocks.{l}.ln2.w": layer + "mlp_norm", "embed.ln.w": prefix + "embeddings.norm",
                       "ln_final.w": prefix + "final_norm"})


@pytest.mark.parametrize("model_type, arch, causal, prefix", [
    ("modernbert", "modernbert", False, ""), ("modernbert-decoder", "modernbert_decoder", True, "model.")])
def test_tiny_model_matches_forward_pass(model_type, arch, causal, prefix, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=causal, **TINY)
    c = model.cfg
    assert model.arch == arch and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.gated_mlp, c.act) == (4, 16, 96, True, "gelu")
    assert not model.has("blocks.0.ln1.w") and model.has("blocks.1.ln1.w")  # layer 0 has no attn_norm
    assert not model.has("blocks.1.ln1.b")  # norm_bias=False
    assert any("local_attention" in n.text for n in c.notes)
    check_forward(hf, model, spec(prefix, causal))
    assert_all_accounted(model)
    if causal:
        assert model.has("unembed.W_U") and model.has("unembed.b_U")


def test_without_config_modernbert_is_detected_by_layout(tmp_path):
    from adapters import open_model
    build("modernbert", tmp_path, causal_lm=False, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == "modernbert" and model.cfg.d_mlp == 96 and model.has_heads
    assert_all_accounted(model)
