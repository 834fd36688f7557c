"""CTRL (families/ctrl.py): a pre-norm decoder with sqrt(d_model)-scaled embeddings, against the forward pass."""
import numpy as np
import torch

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

H = "transformer.h.{l}."


def test_tiny_ctrl_matches_forward_pass(tmp_path):
    hf, model = build("ctrl", tmp_path, n_embd=64, n_layer=2, n_head=4, dff=96, vocab_size=101, n_positions=64)
    c = model.cfg
    assert model.arch == "ctrl" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.embed_scale, c.act) == (4, 16, 96, 8.0, "relu")
    check_forward(hf, model, Spec(attn=H + "multi_head_attention", mlp=H + "ffn",
                                  norms={"blocks.{l}.ln1.w": H + "layernorm1", "blocks.{l}.ln2.w": H + "layernorm2",
                                         "ln_final.w": "transformer.layernorm"}))
    ids = torch.randint(3, c.d_vocab, (1, 5))
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True)
    logits = out.hidden_states[-1][0].double().numpy() @ model.weight("unembed.W_U") + model.weight("unembed.b_U")
    np.testing.assert_allclose(logits, out.logits[0].double().numpy(), atol=1e-4)
    assert_all_accounted(model)
