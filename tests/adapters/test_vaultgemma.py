"""VaultGemma (families/vaultgemma.py): Gemma2's maths with only the two input norms, against the forward pass."""
from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import TINY

L = "model.layers.{l}."


def test_tiny_vaultgemma_matches_forward_pass(tmp_path):
    hf, model = build("vaultgemma", tmp_path, **TINY, head_dim=16, query_pre_attn_scalar=16,
                      attn_logit_softcapping=None, final_logit_softcapping=None, pad_token_id=0, eos_token_id=2)
    c = model.cfg
    assert model.arch == "vaultgemma" and model.has_heads and c.norm_position == "pre"
    assert not model.has("blocks.0.ln1_post.w") and not model.has("blocks.0.ln2_post.w")
    assert c.embed_scale == 64 ** 0.5
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "mlp", zero_positions=True,
                                  norms={"blocks.{l}.ln1.w": L + "input_layernorm",
                                         "blocks.{l}.ln2.w": L + "pre_feedforward_layernorm",
                                         "ln_final.w": "model.norm"}))
    check_ends(hf, model, embed_scale=c.embed_scale)
    assert_all_accounted(model)
