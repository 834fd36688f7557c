import numpy as np
import torch

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward

# OPT's decoder layer calls fc1 / fc2 directly (no MLP module): fc1's input is x, fc2's output the MLP's.
L = "model.decoder.layers.{l}."
SPEC = Spec(attn=L + "self_attn", mlp=L + "fc1", mlp_out=L + "fc2")
TINY = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, ffn_dim=96, vocab_size=101,
            max_position_embeddings=32, word_embed_proj_dim=64)


def test_tiny_opt_matches_forward_pass(tmp_path):
    hf, model = build("opt", tmp_path, **TINY)
    c = model.cfg
    assert model.arch == "opt"
    assert (c.norm_position, c.act, c.n_ctx, c.d_mlp) == ("pre", "relu", 32, 96)
    assert model.weight("pos_embed.W_pos").shape == (32, 64)  # 34 rows stored
    assert model.weight("blocks.0.attn.b_Q").shape == (4, 16)
    check_forward(hf, model, SPEC)
    assert_all_accounted(model)
    assert any("offset" in n.text for n in c.notes if n.kind == "layout")


def test_positions_row_i_is_position_i(tmp_path):
    """The embedding sum the decoder starts from: W_E[ids] + W_pos[0..seq)."""
    hf, model = build("opt", tmp_path, **TINY)
    ids = torch.tensor([[5, 9, 42, 7]])
    with torch.no_grad():
        h0 = hf(input_ids=ids, output_hidden_states=True).hidden_states[0][0].numpy()
    expect = model.weight("embed.W_E")[ids[0].numpy()] + model.weight("pos_embed.W_pos")[:4]
    np.testing.assert_allclose(expect, h0, atol=1e-6)


def test_tied_unembed(tmp_path):
    hf, model = build("opt", tmp_path, **{**TINY, "num_hidden_layers": 1})
    assert model.tied == [("lm_head.weight", "model.decoder.embed_tokens.weight")]
    np.testing.assert_allclose(model.weight("unembed.W_U"), hf.lm_head.weight.detach().numpy().T)


def test_opt_350m_layout_post_norm_and_projections(tmp_path):
    hf, model = build("opt", tmp_path, **{**TINY, "word_embed_proj_dim": 32, "do_layer_norm_before": False})
    c = model.cfg
    assert c.norm_position == "post"
    check_forward(hf, model, SPEC)  # post-norm: attention and fc1 read the residual stream itself
    assert_all_accounted(model)
    assert not model.has("embed.W_E") and not model.has("unembed.W_U") and not model.has("ln_final.w")
    assert {n.split("decoder.")[1]: v[0] for n, v in model.ignored.items()} == {
        "embed_tokens.weight": "embedding", "project_in.weight": "embedding", "project_out.weight": "unembed"}
    assert "narrower" in c.notes[0].text and c.notes[0].kind == "absent"


def test_infers_shapes_without_config(tmp_path):
    build("opt", tmp_path, **TINY)
    model = open_model(str(tmp_path / "model.safetensors"), n_heads=4)
    c = model.cfg
    assert model.arch == "opt"
    assert (c.n_layers, c.d_model, c.d_vocab, c.d_mlp, c.n_ctx, c.norm_position) == (2, 64, 101, 96, 32, "pre")
