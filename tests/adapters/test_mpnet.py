import numpy as np
import torch
from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

L = "encoder.layer.{l}."
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96, vocab_size=99,
            max_position_embeddings=40)


def relative_bias(model, layer: int, seq: int) -> np.ndarray:
    """W_rel looked up by transformers' own bucket function: (n_heads, seq, seq)."""
    rel = torch.arange(seq)[None, :] - torch.arange(seq)[:, None]  # key - query
    buckets = MPNetEncoder.relative_position_bucket(rel, num_buckets=model.cfg.rel_buckets).numpy()
    return model.weight("pos_embed.W_rel")[buckets].transpose(2, 0, 1)


def test_tiny_mpnet_matches_forward_pass(tmp_path):
    hf, model = build("mpnet", tmp_path, causal_lm=False, **TINY)  # MPNetModel
    c = model.cfg
    assert model.arch == "mpnet" and model.has_heads
    assert (c.n_heads, c.d_head, c.rel_buckets, c.pos_offset, c.norm_position) == (4, 16, 32, 2, "post")
    spec = Spec(attn=L + "attention.attn", mlp=L + "intermediate", mlp_out=L + "output.dense", causal=False,
                score_bias=relative_bias, norms={"blocks.{l}.ln1.w": L + "attention.LayerNorm",
                                                 "blocks.{l}.ln2.w": L + "output.LayerNorm"})
    check_forward(hf, model, spec)
    np.testing.assert_allclose(model.weight("pos_embed.W_pos"), hf.embeddings.position_embeddings.weight
                               .detach().numpy()[2:])
    assert_all_accounted(model)
