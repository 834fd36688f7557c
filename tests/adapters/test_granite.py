import numpy as np
import torch

from tests.adapters.harness import Spec, assert_all_accounted, build, check_ends, check_forward
from tests.adapters.test_llama import SPEC, TINY

MULTIPLIERS = dict(attention_multiplier=0.3, embedding_multiplier=2.5, residual_multiplier=0.4,
                   logits_scaling=4.0)  # far from 1/sqrt(d_head) and 1, so a forgotten one shows


def test_tiny_granite_matches_forward_pass(tmp_path):
    hf, model = build("granite", tmp_path, **TINY, **MULTIPLIERS)
    c = model.cfg
    assert model.arch == "granite" and model.has_heads
    assert (c.n_heads, c.n_kv_heads, c.d_head, c.gated_mlp, c.norm) == (4, 2, 16, True, "rmsnorm")
    assert (c.attn_scale, c.embed_scale, c.residual_scale, c.logit_scale) == (0.3, 2.5, 0.4, 0.25)
    assert not [n for n in c.notes if n.kind == "read-as"]  # a named family, not Llama read as-is
    spec = Spec(**{**SPEC.__dict__, "scale": hf.config.attention_multiplier})
    check_forward(hf, model, spec)
    check_ends(hf, model, embed_scale=hf.config.embedding_multiplier, logit_scale=1 / hf.config.logits_scaling)
    assert_all_accounted(model)


def test_residual_multiplier_scales_each_sublayer(tmp_path):
    """hidden[l+1] = hidden[l] + r * attn_out + r * mlp_out, r = cfg.residual_scale."""
    hf, model = build("granite", tmp_path, **TINY, **MULTIPLIERS)
    outs = {}
    layer = hf.model.layers[0]
    hooks = [layer.self_attn.register_forward_hook(lambda m, a, o: outs.__setitem__("attn", o[0])),
             layer.mlp.register_forward_hook(lambda m, a, o: outs.__setitem__("mlp", o))]
    with torch.no_grad():
        out = hf(input_ids=torch.tensor([[5, 6, 7]]), output_hidden_states=True)
    for h in hooks:
        h.remove()
    r = model.cfg.residual_scale
    expected = out.hidden_states[0][0].numpy() + r * outs["attn"][0].numpy() + r * outs["mlp"][0].numpy()
    np.testing.assert_allclose(expected, out.hidden_states[1][0].numpy(), atol=1e-5)  # after layer 0
