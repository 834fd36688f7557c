"""ConvBERT's self-attention module returns its heads' outputs concatenated with a convolution's, and
attention.output.dense reads both, so the harness's attention-output check does not apply as is. Checked here:
the attention pattern against the model's own probabilities, the heads' outputs (z) against the module's first
half, and W_O (plus the dense's convolution columns, outside the schema) against attention.output.dense."""
import numpy as np
import torch

from tests.adapters.harness import assert_all_accounted, build

TINY = dict(hidden_size=64, embedding_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
            vocab_size=99, max_position_embeddings=40)


def test_tiny_convbert_matches_forward_pass(tmp_path):
    hf, model = build("convbert", tmp_path, causal_lm=False, **TINY)  # ConvBertModel
    c = model.cfg
    assert model.arch == "convbert" and model.has_heads
    assert (c.n_heads, c.d_head, c.d_model) == (2, 16, 64)  # num_attention_heads 4 // head_ratio 2
    seen = {}
    hooks = [m.register_forward_hook(lambda mod, a, o, l=l: seen.update({("self", l): (a[0], o[0])}))
             for l, m in enumerate(layer.attention.self for layer in hf.encoder.layer)]
    hooks += [m.register_forward_hook(lambda mod, a, o, l=l: seen.update({("dense", l): (a[0], o)}))
              for l, m in enumerate(layer.attention.output.dense for layer in hf.encoder.layer)]
    with torch.no_grad():
        out = hf(input_ids=torch.randint(3, c.d_vocab, (1, 7)), output_attentions=True)
    for h in hooks:
        h.remove()
    width = c.n_heads * c.d_head
    for l in range(c.n_layers):
        w = lambda s: model.weight(f"blocks.{l}.{s}")  # noqa: E731
        x, context = (t[0].double().numpy() for t in seen[("self", l)])
        q, k, v = (np.einsum("sd,hde->hse", x, w(f"attn.W_{s}")) + w(f"attn.b_{s}")[:, None] for s in "QKV")
        scores = q @ k.transpose(0, 2, 1) / np.sqrt(c.d_head)
        pattern = np.exp(scores - scores.max(-1, keepdims=True))
        pattern /= pattern.sum(-1, keepdims=True)
        np.testing.assert_allclose(pattern, out.attentions[l][0].numpy(), atol=1e-5, err_msg=f"layer {l}: pattern")
        z = pattern @ v  # (n_heads, seq, d_head)
        np.testing.assert_allclose(z.transpose(1, 0, 2).reshape(-1, width), context[:, :width], atol=1e-5,
                                   err_msg=f"layer {l}: heads' outputs")
        dense = hf.encoder.layer[l].attention.output.dense.weight.detach().double().numpy()
        conv = context[:, width:] @ dense[:, width:].T  # the convolution's share, outside the schema
        mine = np.einsum("hse,hed->sd", z, w("attn.W_O")) + conv + w("attn.b_O")
        np.testing.assert_allclose(mine, seen[("dense", l)][1][0].numpy(), atol=1e-4, err_msg=f"layer {l}: W_O")
    assert_all_accounted(model)


def test_narrow_embeddings_stay_raw(tmp_path):
    _, model = build("convbert", tmp_path, causal_lm=False, **{**TINY, "embedding_size": 32})
    assert model.has_heads and not model.has("embed.W_E")
    assert any(n.kind == "absent" for n in model.cfg.notes)
    assert_all_accounted(model)
