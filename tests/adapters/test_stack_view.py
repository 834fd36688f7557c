"""Another stack seen as the main one (adapters/stack_view.py): a T5's encoder, and its decoder's
cross-attention, answer for the names every topic reads."""
import json

import numpy as np
import pytest

import report
from adapters import schema
from tests.adapters.harness import build
from tests.adapters.test_t5 import TINY
from topics import heads


@pytest.fixture(scope="module")
def t5(tmp_path_factory):
    folder = tmp_path_factory.mktemp("t5")
    _, model = build("t5", folder, causal_lm=False, **TINY)
    return folder, model


def test_views_of_an_encoder_decoder(t5):
    _, model = t5
    assert model.stacks() == ["blocks", "encoder"] and model.views() == ["blocks", "encoder", "cross"]
    assert model.view("blocks") is model


def test_the_encoder_answers_for_the_main_stacks_names(t5):
    _, model = t5
    enc = model.view("encoder")
    assert enc.cfg.n_layers == 2 and model.cfg.n_layers == 3  # num_layers=2 encoder, 3 decoder layers
    np.testing.assert_array_equal(enc.weight("blocks.1.attn.W_Q"), model.weight("encoder.1.attn.W_Q"))
    np.testing.assert_array_equal(enc.weight("pos_embed.W_rel"), model.weight("encoder.pos_embed.W_rel"))
    np.testing.assert_array_equal(enc.weight("embed.W_E"), model.weight("embed.W_E"))  # shared, not the stack's
    assert enc.layers("attn.W_Q") == [0, 1] and enc.has_heads and not enc.has("blocks.2.attn.W_Q")
    assert not enc.layers("cross_attn.W_Q")  # an encoder has none
    names = enc.names()
    assert "blocks.0.attn.W_Q" in names and not any(schema.parse(n).stack != "blocks" for n in names)
    assert enc.cache_key != model.cache_key and enc.cache_key.endswith("stack=encoder")


def test_cross_attention_answers_for_attn(t5):
    _, model = t5
    cross = model.view("cross")
    np.testing.assert_array_equal(cross.weight("blocks.2.attn.W_K"), model.weight("blocks.2.cross_attn.W_K"))
    np.testing.assert_array_equal(cross.weight("blocks.2.ln1.w"), model.weight("blocks.2.ln_cross.w"))
    np.testing.assert_array_equal(cross.weight("blocks.0.mlp.W_in"), model.weight("blocks.0.mlp.W_in"))
    assert cross.layers("attn.W_O") == [0, 1, 2] and cross.cfg.n_layers == 3
    assert not any(schema.parse(n).slot.startswith("cross_attn.") for n in cross.names())
    assert "blocks.1.attn.W_V" in cross.names() and "blocks.1.mlp.W_out" in cross.names()
    with pytest.raises(KeyError):
        cross.weight("blocks.0.cross_attn.W_Q")
    # The heads topic reads the cross-attention heads: W_O's norms are the cross W_O's.
    stats = heads.statistics(cross)
    w_o = model.weight("blocks.1.cross_attn.W_O")
    assert stats["norm_O"][1] == pytest.approx(np.linalg.norm(w_o.reshape(w_o.shape[0], -1), axis=1), rel=1e-5)


def test_report_describes_the_chosen_stack(t5, tmp_path):
    folder, model = t5
    assert report.main([str(folder), "--out", str(tmp_path), "--only", "layers", "--stack", "encoder",
                        "--no-cache", "--quiet"]) == 0
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["model"]["stack"] == "encoder" and doc["model"]["stacks"] == ["blocks", "encoder", "cross"]
    assert [r["layer"] for r in doc["layers"]] == [0, 1]


def test_a_vision_tower_of_its_own_width_has_its_own_heads(tmp_path):
    """CLIP's vision tower is wider than its text tower: the vision view's cfg is the tower's."""
    enc = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=48, vocab_size=61,
               max_position_embeddings=16)
    vision = dict(hidden_size=64, num_hidden_layers=3, num_attention_heads=4, intermediate_size=96, image_size=32,
                  patch_size=8)
    _, model = build("clip", tmp_path, causal_lm=False, text_config=enc, vision_config=vision)
    tower = model.view("vision")
    c = tower.cfg
    assert (c.n_layers, c.d_model, c.n_heads, c.d_head) == (3, 64, 4, 16)
    assert (model.cfg.d_model, model.cfg.n_heads) == (32, 2)
    assert tower.weight("blocks.2.attn.W_Q").shape == (4, 64, 16)
    assert heads.statistics(tower)["norm_Q"].shape == (3, 4)
