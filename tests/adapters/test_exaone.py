"""EXAONE (families/exaone.py): Llama's computation under EXAONE's names, against the forward pass.

transformers 5 loads the checkpoint into LlamaForCausalLM (renaming the tensors as it loads) and writes
EXAONE's names back when it saves, so the hooks sit on Llama's modules and the adapter reads EXAONE's names."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."


def test_tiny_exaone_matches_forward_pass(tmp_path):
    hf, model = build("exaone", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "exaone" and model.has_heads
    assert "transformer.h.0.attn.attention.q_proj.weight" in model.raw_names()
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.d_mlp, c.norm, c.gated_mlp) == (4, 2, 16, 96, "rmsnorm", True)
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
                                  norms={"blocks.{l}.ln1.w": L + "input_layernorm",
                                         "blocks.{l}.ln2.w": L + "post_attention_layernorm", "ln_final.w": "model.norm"}))
    check_ends(hf, model)
    assert_all_accounted(model)


def test_without_config_exaone_is_detected_by_layout(tmp_path):
    from adapters import open_model
    build("exaone", tmp_path, **TINY)
    lone = tmp_path / "lone" / "weights.safetensors"
    lone.parent.mkdir()
    lone.write_bytes((tmp_path / "model.safetensors").read_bytes())
    model = open_model(str(lone), n_heads=4)
    assert model.arch == "exaone" and model.cfg.n_kv_heads == 2 and model.has_heads
    assert_all_accounted(model)
