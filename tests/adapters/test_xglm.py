"""XGLM and BioGPT (families/xglm.py): fairseq's pre-norm decoder layer and sqrt(d_model)-scaled embeddings,
against the forward pass."""
import numpy as np
import pytest
import torch

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

TINY = dict(num_layers=2, attention_heads=4, ffn_dim=96, vocab_size=101, max_position_embeddings=64)


@pytest.mark.parametrize("model_type, prefix, config", [
    ("xglm", "model.", dict(d_model=64, **TINY)),
    ("biogpt", "biogpt.", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
                               vocab_size=101, max_position_embeddings=64))])
def test_tiny_model_matches_forward_pass(model_type, prefix, config, tmp_path):
    hf, model = build(model_type, tmp_path, **config)
    c = model.cfg
    assert model.arch == model_type and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.embed_scale) == (4, 16, 96, 8.0)
    assert model.has("pos_embed.W_pos") == (model_type == "biogpt") and model.has("unembed.W_U")
    L = prefix + "layers.{l}."
    check_forward(hf, model, Spec(attn=L + "self_attn", mlp=L + "fc1", mlp_out=L + "fc2",
                                  norms={"blocks.{l}.ln1.w": L + "self_attn_layer_norm",
                                         "blocks.{l}.ln2.w": L + "final_layer_norm",
                                         "ln_final.w": prefix + "layer_norm"}))
    ids = torch.randint(3, c.d_vocab, (1, 5))
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True)
    logits = out.hidden_states[-1][0].double().numpy() @ model.weight("unembed.W_U")
    np.testing.assert_allclose(logits, out.logits[0].double().numpy(), atol=1e-4)
    assert_all_accounted(model)
