"""GPT-J and CodeGen (families/gptj.py) against their own forward passes: parallel attention and MLP on one
LayerNorm, partial rotary (made the identity by zero positions), CodeGen's sharded q/v/k fusion."""
import pytest

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward

TINY = dict(n_embd=64, n_layer=2, n_head=4, rotary_dim=8, n_inner=96, vocab_size=101, n_positions=64,
            bos_token_id=1, eos_token_id=2)
H = "transformer.h.{l}."
SPEC = Spec(attn=H + "attn", mlp=H + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": H + "ln_1", "ln_final.w": "transformer.ln_f"})


@pytest.mark.parametrize("model_type", ["gptj", "codegen"])
def test_tiny_model_matches_forward_pass(model_type, tmp_path):
    hf, model = build(model_type, tmp_path, **TINY)
    c = model.cfg
    assert model.arch == model_type and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.rotary_dim, c.act) == (4, 16, 96, 8, "gelu_new")
    assert c.parallel_residual and not model.has("blocks.0.ln2.w") and not model.has("blocks.0.attn.b_Q")
    assert model.has("unembed.b_U")
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type", ["gptj", "codegen"])
def test_without_config_is_detected_by_layout(model_type, tmp_path):
    from adapters import open_model
    build(model_type, tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == model_type and model.cfg.d_mlp == 96 and model.has_heads
    assert any(n.kind == "assumed" for n in model.cfg.notes)
    assert_all_accounted(model)


def test_codegen_heads_must_split_across_its_shards(tmp_path):
    from adapters import LoadError, open_model
    build("codegen", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    with pytest.raises(LoadError, match="shards"):
        open_model(str(lone), n_heads=2)
