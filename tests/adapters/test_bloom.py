import numpy as np
import torch

from adapters import open_model
from tests.adapters.harness import Spec, _alibi, assert_all_accounted, build, check_forward

# Bloom's attention and MLP modules add the residual to their output, so hook the output Linears.
SPEC = Spec(attn="transformer.h.{l}.self_attention", attn_out="transformer.h.{l}.self_attention.dense",
            mlp="transformer.h.{l}.mlp", mlp_out="transformer.h.{l}.mlp.dense_4h_to_h", alibi=True)
TINY = dict(hidden_size=64, n_layer=2, n_head=4, vocab_size=101)


def test_tiny_bloom_matches_forward_pass(tmp_path):
    hf, model = build("bloom", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "bloom"
    assert (c.positional, c.n_heads, c.d_head, c.d_mlp, c.act) == ("alibi", 4, 16, 256, "gelu_new")
    assert not model.has("pos_embed.W_pos")
    assert model.weight("embed.ln.w").shape == (64,) and model.weight("blocks.0.attn.b_K").shape == (4, 16)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)


def test_embedding_norm_matches(tmp_path):
    hf, model = build("bloom", tmp_path, **TINY)
    ids = torch.tensor([[5, 9, 42]])
    with torch.no_grad():
        out = hf(input_ids=ids, output_hidden_states=True).hidden_states[0][0].numpy()
    e = model.weight("embed.W_E")[ids[0].numpy()]
    e = (e - e.mean(-1, keepdims=True)) / np.sqrt(e.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(e * model.weight("embed.ln.w") + model.weight("embed.ln.b"), out, atol=1e-5)


def test_tied_unembed(tmp_path):
    hf, model = build("bloom", tmp_path, **{**TINY, "n_layer": 1})
    assert model.tied == [("lm_head.weight", "transformer.word_embeddings.weight")]
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)


def test_harness_alibi_matches_bloom_slopes():
    from transformers.models.bloom.modeling_bloom import _get_alibi_slopes
    for n in (1, 3, 4, 6, 12, 16, 24):  # including non-powers of two, where the extra slopes interleave
        slopes = _get_alibi_slopes(n, torch.device("cpu")).double().numpy()
        np.testing.assert_allclose(_alibi(n, 5), slopes[:, None, None] * np.arange(5), rtol=1e-6)


def test_infers_shapes_without_config(tmp_path):
    build("bloom", tmp_path, **TINY)
    model = open_model(str(tmp_path / "model.safetensors"), n_heads=4)
    c = model.cfg
    assert model.arch == "bloom" and c.positional == "alibi"
    assert (c.n_layers, c.d_model, c.d_vocab, c.d_mlp) == (2, 64, 101, 256)
