"""DeBERTa and DeBERTa-v2 (families/deberta.py) against their forward passes.

Without relative attention (position_biased_input, the tiny default) the attention is BERT's with a wider score
scale, and check_forward checks every layer whole. With relative attention (every released v3), the scores add
c2p/p2c terms from rel_embeddings that the schema does not hold, so the attention pattern cannot be checked from
W_Q and W_K: there the test checks what the schema does claim, each per-head projection against the module's
own Linear layer on a random input, the content-to-content scores against the module's q and k scaled by
cfg.attn_scale, and the MLP.
"""
import numpy as np
import pytest
import torch

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=101,
            max_position_embeddings=64)
L = "encoder.layer.{l}."
SPEC = Spec(attn=L + "attention.self", attn_out=L + "attention.output.dense", mlp=L + "intermediate",
            mlp_out=L + "output.dense", causal=False)


@pytest.mark.parametrize("model_type, arch", [("deberta-v2", "deberta_v2"), ("deberta", "deberta")])
def test_absolute_positions_match_forward_pass(model_type, arch, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=False, relative_attention=False, position_biased_input=True,
                      pos_att_type=None, **TINY)
    assert model.arch == arch and model.has_heads and model.cfg.attn_scale is None
    assert model.has("blocks.0.attn.b_Q") and model.has("blocks.0.attn.b_V")
    assert model.has("blocks.0.attn.b_K") == (arch == "deberta_v2")  # v1 has no key bias
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type, arch", [("deberta-v2", "deberta_v2"), ("deberta", "deberta")])
def test_relative_attention_projections_and_content_scores(model_type, arch, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=False, relative_attention=True, position_biased_input=False,
                      pos_att_type=["p2c", "c2p"], max_relative_positions=-1, norm_rel_ebd="layer_norm", **TINY)
    c = model.cfg
    assert model.arch == arch and model.has_heads and c.positional == "none"
    assert c.attn_scale == pytest.approx((3 * c.d_head) ** -0.5)
    assert any(n.kind == "positions" and "rel_embeddings" in n.text for n in c.notes)
    x = torch.randn(5, 64, dtype=torch.float64)
    for l in range(c.n_layers):
        att = hf.encoder.layer[l].attention.self
        if arch == "deberta_v2":
            q_mod, k_mod, v_mod = (getattr(att, n).double()(x) for n in ("query_proj", "key_proj", "value_proj"))
        else:  # in_proj is (head, qkv, d_head); q_bias and v_bias added after the split
            fused = att.in_proj.double()(x).view(5, 4, 3, 16)
            q_mod = fused[:, :, 0].reshape(5, 64) + att.q_bias.double()
            k_mod = fused[:, :, 1].reshape(5, 64)
            v_mod = fused[:, :, 2].reshape(5, 64) + att.v_bias.double()
        w = lambda s: model.weight(f"blocks.{l}.attn.{s}") if model.has(f"blocks.{l}.attn.{s}") else None
        for letter, expected in (("Q", q_mod), ("K", k_mod), ("V", v_mod)):
            ours = np.einsum("sd,hde->hse", x.numpy(), w(f"W_{letter}"))
            if w(f"b_{letter}") is not None:
                ours = ours + w(f"b_{letter}")[:, None, :]
            theirs = expected.detach().numpy().reshape(5, 4, 16).transpose(1, 0, 2)
            np.testing.assert_allclose(ours, theirs, atol=1e-5, err_msg=f"layer {l}: {letter}")
        q = q_mod.detach().numpy().reshape(5, 4, 16).transpose(1, 0, 2)
        k = k_mod.detach().numpy().reshape(5, 4, 16).transpose(1, 0, 2)
        content = np.einsum("hse,hde->hsd", np.einsum("sd,hde->hse", x.numpy(), w("W_Q")) + w("b_Q")[:, None],
                            np.einsum("sd,hde->hse", x.numpy(), w("W_K")) + (w("b_K")[:, None] if w("b_K") is not None else 0))
        np.testing.assert_allclose(content * c.attn_scale, q @ k.transpose(0, 2, 1) / np.sqrt(3 * 16), atol=1e-5)
        out_dense = hf.encoder.layer[l].attention.output.dense.double()
        z = torch.randn(5, 64, dtype=torch.float64)
        np.testing.assert_allclose(np.einsum("hse,hed->sd", z.numpy().reshape(5, 4, 16).transpose(1, 0, 2),
                                             w("W_O")) + w("b_O"), out_dense(z).detach().numpy(), atol=1e-5)
    assert_all_accounted(model)
    assert model.ignored["encoder.rel_embeddings.weight"][0] == "positional"
    if arch == "deberta_v2":  # norm_rel_ebd: v3's norm on the relative embeddings
        assert model.ignored["encoder.LayerNorm.weight"][0] == "norm"


def test_v3_masked_lm_head_is_the_word_embedding(tmp_path):
    from transformers import AutoConfig, AutoModelForMaskedLM
    from adapters import open_model
    torch.manual_seed(0)
    cfg = AutoConfig.for_model("deberta-v2", legacy=False, **TINY)
    hf = AutoModelForMaskedLM.from_config(cfg).eval()
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "deberta_v2" and model.has("unembed.W_U") and model.has("unembed.b_U")
    np.testing.assert_array_equal(model.weight("unembed.W_U"), model.weight("embed.W_E").T)
    assert_all_accounted(model)
