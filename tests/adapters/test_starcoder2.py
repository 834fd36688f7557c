from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
            norms={"blocks.{l}.ln1.w": L + "input_layernorm", "blocks.{l}.ln2.w": L + "post_attention_layernorm",
                   "ln_final.w": "model.norm"})


def test_tiny_starcoder2_matches_forward_pass(tmp_path):
    hf, model = build("starcoder2", tmp_path, **TINY, bos_token_id=1, eos_token_id=2)
    c = model.cfg
    assert model.arch == "starcoder2" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp) == (4, 2, 16, 96)
    assert (c.norm, c.gated_mlp, c.act) == ("layernorm", False, "gelu_pytorch_tanh")
    assert not model.has("blocks.0.mlp.W_gate")
    assert all(model.has(f"blocks.1.{s}") for s in ("attn.b_Q", "attn.b_O", "mlp.b_in", "mlp.b_out", "ln1.b"))
    check_forward(hf, model, SPEC)
    check_ends(hf, model)
    assert_all_accounted(model)


def test_without_config_starcoder2_is_detected_by_layout(tmp_path):
    from adapters import open_model
    build("starcoder2", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == "starcoder2" and model.cfg.d_mlp == 96
    assert_all_accounted(model)
