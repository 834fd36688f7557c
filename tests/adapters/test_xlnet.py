"""XLNet's attention adds position and segment terms to the scores that the schema does not carry, so the layer's
attention is checked piece by piece on a random input instead of through the model's forward pass:
- q, k, v per head against the module's own einsum projections;
- the content-only attention (position keys of zero, no segments: what rel_attn_core computes then is
  softmax((q + r_w_bias) . k / sqrt(d_head))) against the pattern and z from W_Q, b_Q, W_K, W_V;
- W_O against the module's output einsum (post_attention without the residual, before its norm);
- the MLP through the feed-forward module's own activation, up to its post-norm."""
import numpy as np
import torch

from tests.adapters.harness import assert_all_accounted, build, check_ends

TINY = dict(d_model=64, n_layer=2, n_head=4, d_inner=96, vocab_size=99)


def test_tiny_xlnet_layers_match_modules(tmp_path):
    hf, model = build("xlnet", tmp_path, **TINY)  # XLNetLMHeadModel
    c = model.cfg
    assert model.arch == "xlnet" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_mlp, c.norm_position, c.positional) == (4, 16, 96, "post", "relative")
    seq, rng = 6, np.random.default_rng(0)
    for l, layer in enumerate(hf.transformer.layer):
        w = lambda s: model.weight(f"blocks.{l}.{s}")  # noqa: E731
        att = layer.rel_attn
        x = rng.normal(size=(seq, c.d_model))
        xt = torch.from_numpy(x).float()[:, None]  # (seq, batch 1, d_model)
        with torch.no_grad():
            heads = {s: torch.einsum("ibh,hnd->ibnd", xt, getattr(att, s.lower()))[:, 0].numpy() for s in "QKV"}
            z_hf, prob = att.rel_attn_core(*(torch.from_numpy(heads[s][:, None]) for s in "QKV"),
                                           torch.zeros(2 * seq, 1, c.n_heads, c.d_head), output_attentions=True)
        q, k, v = (np.einsum("sd,hde->hse", x, w(f"attn.W_{s}")) for s in "QKV")  # (n_heads, seq, d_head)
        for s, mine in zip("QKV", (q, k, v)):
            np.testing.assert_allclose(mine, heads[s].transpose(1, 0, 2), atol=1e-4, err_msg=f"layer {l}: {s}")
        scores = (q + w("attn.b_Q")[:, None]) @ k.transpose(0, 2, 1) / np.sqrt(c.d_head)
        pattern = np.exp(scores - scores.max(-1, keepdims=True))
        pattern /= pattern.sum(-1, keepdims=True)
        np.testing.assert_allclose(pattern, prob[:, :, 0].permute(2, 0, 1).numpy(), atol=1e-5,
                                   err_msg=f"layer {l}: content attention")
        z = pattern @ v
        np.testing.assert_allclose(z.transpose(1, 0, 2), z_hf[:, 0].numpy(), atol=1e-5, err_msg=f"layer {l}: z")
        with torch.no_grad():
            out = torch.einsum("ibnd,hnd->ibh", z_hf, att.o)[:, 0].numpy()
        np.testing.assert_allclose(np.einsum("hse,hed->sd", z, w("attn.W_O")), out, atol=1e-4,
                                   err_msg=f"layer {l}: attention output")
        ff = layer.ff
        with torch.no_grad():
            mlp = ff.layer_2(ff.activation_function(ff.layer_1(xt)))[:, 0].double().numpy()
        pre = torch.from_numpy(x @ w("mlp.W_in") + w("mlp.b_in"))
        mine = ff.activation_function(pre).numpy() @ w("mlp.W_out") + w("mlp.b_out")
        np.testing.assert_allclose(mine, mlp, atol=1e-4, err_msg=f"layer {l}: MLP output")
    check_ends(hf, model)
    assert_all_accounted(model)
