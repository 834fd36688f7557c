"""CLIP and SigLIP, each tower alone and both together, against their own forward pass."""
import os

import numpy as np
import pytest
import torch

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build, check_forward
from tests.adapters.harness_vision import check_embeddings, check_image_forward, pixels, tower

VISION = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48, image_size=16,
              patch_size=4)
TEXT = dict(hidden_size=24, num_hidden_layers=2, num_attention_heads=2, intermediate_size=40, vocab_size=60,
            max_position_embeddings=12)


def spec(layer: str = "encoder.layers.{l}.", causal: bool = False) -> Spec:
    return Spec(attn=layer + "self_attn", attn_out=layer + "self_attn.out_proj", mlp=layer + "mlp", causal=causal,
                norms={"blocks.{l}.ln1.w": layer + "layer_norm1", "blocks.{l}.ln2.w": layer + "layer_norm2"})


@pytest.mark.parametrize("model_type, has_cls", [("clip_vision_model", True), ("siglip_vision_model", False)])
def test_vision_tower_matches_forward_pass(model_type, has_cls, tmp_path):
    hf, model = build(model_type, tmp_path, causal_lm=False, **VISION)
    c = model.cfg
    assert model.arch == "clip_vision" and model.has("embed.cls") == has_cls
    assert (c.patch_grid, c.n_prefix_tokens, c.n_channels, c.positional) == ((4, 4), int(has_cls), 3, "learned")
    assert model.has("embed.b_patch") != has_cls  # SigLIP's conv has a bias, CLIP's none
    assert model.has("embed.ln.w") == has_cls  # CLIP's pre_layrnorm
    check_image_forward(hf, model, spec(), "embeddings", "encoder.layers.{l}")
    assert_all_accounted(model)


def _perturbed_saved(hf, tmp_path):
    """hf with every parameter perturbed, saved and opened (for classes AutoModel does not build)."""
    hf = hf.eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    hf.save_pretrained(tmp_path)
    return hf, open_model(str(tmp_path))


@pytest.mark.parametrize("model_type, causal", [("clip_text_model", True), ("siglip_text_model", False)])
def test_text_tower_matches_forward_pass(model_type, causal, tmp_path):
    from transformers import AutoConfig, CLIPTextModel, SiglipTextModel
    torch.manual_seed(0)
    cls = CLIPTextModel if model_type == "clip_text_model" else SiglipTextModel  # AutoModel builds no SigLIP text
    hf, model = _perturbed_saved(cls._from_config(AutoConfig.for_model(model_type, **TEXT),
                                                  attn_implementation="eager"), tmp_path)
    assert model.arch == "clip_text" and model.has("embed.W_E") and model.cfg.n_ctx == 12
    assert any(n.kind == "maths" and ("causally" in n.text) == causal for n in model.cfg.notes)
    check_forward(hf, model, spec(causal=causal), seq=12 if not causal else 7)
    assert_all_accounted(model)


@pytest.mark.parametrize("model_type", ["clip", "siglip"])
def test_both_towers_in_one_checkpoint(model_type, tmp_path):
    from transformers import AutoConfig, AutoModel
    torch.manual_seed(0)
    cfg = AutoConfig.for_model(model_type, text_config=TEXT, vision_config=VISION,
                               **({"projection_dim": 16} if model_type == "clip" else {}))
    hf, model = _perturbed_saved(AutoModel.from_config(cfg, attn_implementation="eager"), tmp_path)
    c = model.cfg
    assert model.arch == "clip" and model.stacks() == ["blocks", "vision"]
    assert (c.d_model, c.n_heads, c.vision_d_model, c.vision_n_heads, c.n_encoder_layers) == (24, 2, 32, 4, 2)
    assert c.patch_grid == (4, 4) and c.n_prefix_tokens == (model_type == "clip")
    assert model.weight("vision.0.attn.W_Q").shape == (4, 32, 8)
    assert model.weight("blocks.0.attn.W_Q").shape == (2, 24, 12)
    assert_all_accounted(model)
    assert any("image-text" in why for _, why in model.ignored.values())  # projections, temperature

    text = spec(causal=model_type == "clip")
    check_forward(hf.text_model, model, text)
    vision = tower(model)
    image = pixels(model)
    check_embeddings(hf.vision_model, vision, "embeddings", image)
    vision_spec = spec()
    vision_spec.norms = {}
    check_forward(hf.vision_model, vision, Spec(**{**vision_spec.__dict__, "extra_inputs": {"pixel_values": image}}))


def test_vision_tower_without_config(tmp_path):
    hf, _ = build("clip_vision_model", tmp_path, causal_lm=False, **VISION)
    os.remove(tmp_path / "config.json")
    model = open_model(str(tmp_path), n_heads=4)
    c = model.cfg
    assert model.arch == "clip_vision" and model.has_heads
    assert (c.d_model, c.patch_size, c.patch_grid, c.n_prefix_tokens) == (32, 4, (4, 4), 1)
    np.testing.assert_array_equal(model.weight("embed.cls"), hf.embeddings.class_embedding.detach().numpy())
    check_image_forward(hf, model, spec(), "embeddings")
