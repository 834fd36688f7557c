"""ViT and its relatives against their own forward pass on an image (tests/adapters/harness_vision.py)."""
import json
import os

import numpy as np
import pytest

from adapters import open_model
from tests.adapters.harness import Spec, assert_all_accounted, build
from tests.adapters.harness_vision import check_image_forward

TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, image_size=16, patch_size=4)


def vit_spec(layer: str) -> Spec:
    return Spec(attn=layer + "attention", attn_out=layer + "attention.o_proj", mlp=layer + "mlp", causal=False)


# model_type -> (arch, tiny config beyond TINY, layer path, prefix rows of W_pos, schema slots it must have)
CASES = {
    "vit": ("vit", dict(intermediate_size=48), "layers.{l}.", 1, ("embed.cls", "embed.b_patch", "ln_final.w")),
    "deit": ("vit", dict(intermediate_size=48), "layers.{l}.", 2, ("embed.cls", "embed.distill")),
    "vit_msn": ("vit", dict(intermediate_size=48), "layers.{l}.", 1, ("embed.cls",)),
    "ijepa": ("vit", dict(intermediate_size=48), "layers.{l}.", 0, ()),
    "dinov2": ("dinov2", dict(mlp_ratio=2), "encoder.layer.{l}.", 1,
               ("embed.cls", "embed.mask", "blocks.0.attn.ls", "blocks.1.mlp.ls")),
    "dinov2_with_registers": ("dinov2", dict(mlp_ratio=2, num_register_tokens=3), "encoder.layer.{l}.", 1,
                              ("embed.registers", "blocks.0.attn.ls")),
    "beit": ("beit", dict(intermediate_size=48, use_absolute_position_embeddings=True), "layers.{l}.", 1,
             ("embed.cls", "blocks.0.attn.ls", "pos_embed.W_pos")),
}


@pytest.mark.parametrize("model_type", sorted(CASES))
def test_tiny_vision_model_matches_forward_pass(model_type, tmp_path):
    arch, extra, layer, prefix, slots = CASES[model_type]
    hf, model = build(model_type, tmp_path, causal_lm=False, **TINY, **extra)
    c = model.cfg
    assert model.arch == arch
    assert (c.patch_size, c.n_channels, c.patch_grid, c.n_prefix_tokens) == (4, 3, (4, 4), prefix)
    assert c.positional == "learned" and c.d_vocab is None and not model.has("embed.W_E")
    assert not model.has("unembed.W_U")
    for s in slots:
        assert model.has(s), s
    assert model.weight("embed.W_patch").shape == (32, 3, 4, 4)
    assert model.weight("pos_embed.W_pos").shape == (prefix + 16, 32)
    check_image_forward(hf, model, vit_spec(layer), "embeddings", layer[:-1])
    assert_all_accounted(model)


def test_beit_relative_position_bias_is_listed_with_its_reason(tmp_path):
    _, model = build("beit", tmp_path, causal_lm=False, **TINY, intermediate_size=48,
                     use_relative_position_bias=True)
    assert model.cfg.positional == "relative" and not model.has("pos_embed.W_pos")
    tables = [n for n in model.ignored if n.endswith("relative_position_bias_table")]
    assert tables and all("2-D offset" in model.ignored[n][1] for n in tables)
    assert_all_accounted(model)


def test_classifier_and_pooler_are_outside_the_schema_with_reasons(tmp_path):
    from transformers import AutoConfig, ViTForImageClassification
    import torch
    torch.manual_seed(0)
    hf = ViTForImageClassification(AutoConfig.for_model("vit", **TINY, intermediate_size=48, num_labels=5))
    hf.save_pretrained(tmp_path)
    model = open_model(str(tmp_path))
    assert model.arch == "vit" and model.has("blocks.1.attn.W_Q")
    assert "image classification head" in model.ignored["classifier.weight"][1]
    assert_all_accounted(model)


def test_hub_names_are_read_as_the_same_model(tmp_path):
    """Checkpoints on the Hub keep the names ViT was trained with (encoder.layer.{l}.attention.attention.query);
    the same weights under those names give the same schema."""
    from safetensors.numpy import load_file, save_file
    _, model = build("vit", tmp_path / "new", causal_lm=False, **TINY, intermediate_size=48)
    renames = [("layers.", "encoder.layer."), ("attention.q_proj", "attention.attention.query"),
               ("attention.k_proj", "attention.attention.key"), ("attention.v_proj", "attention.attention.value"),
               ("attention.o_proj", "attention.output.dense"), ("mlp.fc1", "intermediate.dense"),
               ("mlp.fc2", "output.dense")]
    tensors = load_file(str(tmp_path / "new" / "model.safetensors"))
    old = {}
    for name, t in tensors.items():
        for a, b in renames:
            name = name.replace(a, b)
        old["vit." + name] = t
    os.makedirs(tmp_path / "hub")
    save_file(old, str(tmp_path / "hub" / "model.safetensors"))
    with open(tmp_path / "new" / "config.json") as f:
        (tmp_path / "hub" / "config.json").write_text(json.dumps({**json.load(f), "architectures": ["ViTModel"]}))
    hub = open_model(str(tmp_path / "hub"))
    assert hub.arch == "vit" and sorted(hub.names()) == sorted(model.names())
    for name in model.names():
        np.testing.assert_array_equal(hub.weight(name), model.weight(name), err_msg=name)
    assert_all_accounted(hub)


def test_without_config_the_layout_decides(tmp_path):
    hf, model = build("deit", tmp_path, causal_lm=False, **TINY, intermediate_size=48)
    os.remove(tmp_path / "config.json")
    bare = open_model(str(tmp_path), n_heads=4)
    c = bare.cfg
    assert bare.arch == "vit" and bare.has_heads
    assert (c.d_model, c.n_heads, c.d_mlp, c.patch_size, c.patch_grid, c.n_prefix_tokens) == (32, 4, 48, 4, (4, 4), 2)
    check_image_forward(hf, bare, vit_spec("layers.{l}."), "embeddings", "layers.{l}")
