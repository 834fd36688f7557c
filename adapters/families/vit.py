"""ViT and its pre-norm relatives (DeiT, ViT-MSN, I-JEPA, DINOv2, BEiT): an image cut into patches by a conv,
learned tokens before the patches, learned positions, then pre-norm blocks of separate q, k, v Linear layers.

    x = [cls, (distill), patches @ W_patch + b_patch] + W_pos      (DINOv2 registers come after cls, unpositioned)
    x = x + ls1 * attn(ln1(x));  x = x + ls2 * mlp(ln2(x))          (ls: layer scale, DINOv2 and BEiT only)

Each block is stored under one of two sets of names: the ones the checkpoints on the Hub were trained with
(`encoder.layer.{l}.attention.attention.query`), which transformers renames on load, or the ones transformers
5 saves (`layers.{l}.attention.q_proj`). Both are data here (a `Dialect` each); `rules_for` takes the one stored.
"""
from __future__ import annotations

import math
from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import prenorm_block, same, token, token_rows

EMB = "embeddings."
PATCH = EMB + "patch_embeddings.projection.weight"  # (d_model, n_channels, patch_size, patch_size)
POS = EMB + "position_embeddings"  # (1, prefix + rows * cols, d_model)
POSITIONED_TOKENS = (EMB + "cls_token", EMB + "distillation_token")  # each has a row of W_pos, in this order

# role -> module path with {l}; prenorm_block turns a dialect into schema rows
VIT_HUB = {"ln1": "encoder.layer.{l}.layernorm_before", "q": "encoder.layer.{l}.attention.attention.query",
           "k": "encoder.layer.{l}.attention.attention.key", "v": "encoder.layer.{l}.attention.attention.value",
           "o": "encoder.layer.{l}.attention.output.dense", "ln2": "encoder.layer.{l}.layernorm_after",
           "fc1": "encoder.layer.{l}.intermediate.dense", "fc2": "encoder.layer.{l}.output.dense"}
VIT_V5 = {"ln1": "layers.{l}.layernorm_before", "q": "layers.{l}.attention.q_proj", "k": "layers.{l}.attention.k_proj",
          "v": "layers.{l}.attention.v_proj", "o": "layers.{l}.attention.o_proj", "ln2": "layers.{l}.layernorm_after",
          "fc1": "layers.{l}.mlp.fc1", "fc2": "layers.{l}.mlp.fc2"}
DINO_V5 = {"ln1": "encoder.layer.{l}.norm1", "q": "encoder.layer.{l}.attention.q_proj",
           "k": "encoder.layer.{l}.attention.k_proj", "v": "encoder.layer.{l}.attention.v_proj",
           "o": "encoder.layer.{l}.attention.o_proj", "ln2": "encoder.layer.{l}.norm2",
           "fc1": "encoder.layer.{l}.mlp.fc1", "fc2": "encoder.layer.{l}.mlp.fc2",
           "ls1": "encoder.layer.{l}.layer_scale1.lambda1", "ls2": "encoder.layer.{l}.layer_scale2.lambda1"}
DINO_HUB = {**DINO_V5, "q": VIT_HUB["q"], "k": VIT_HUB["k"], "v": VIT_HUB["v"], "o": VIT_HUB["o"]}
BEIT_HUB = {**VIT_HUB, "ls1": "encoder.layer.{l}.lambda_1", "ls2": "encoder.layer.{l}.lambda_2"}
BEIT_V5 = {**VIT_V5, "ls1": "layers.{l}.lambda_1", "ls2": "layers.{l}.lambda_2"}

HEADS_IGNORED = {
    r"(^|\.)pooler\.dense\.": ("other", "the class-token pooler (dense + tanh): a classifier input, outside the body"),
    r"(^|\.)(classifier|cls_classifier|distillation_classifier)\.": ("other", "the image classification head"),
    r"(^|\.)decoder\.": ("other", "the masked-image-modelling decoder (pixels from tokens), outside the body"),
    r"(^|\.)(projection_head|prototypes)\.": ("other", "a self-supervised training head, outside the body"),
}


@register
class Vit(Family):
    arch = "vit"
    model_types = ("vit", "deit", "vit_msn", "ijepa")
    anchor = PATCH
    # Swin, ViTDet and video models store the same patch conv and layer norms but attend in windows or over
    # frames (relative biases, 3-D convs): forbidden here, so they stay raw instead of being read wrongly.
    layout = Layout(requires=(PATCH, "layernorm_before.weight"),
                    forbids=("lambda_1", "relative_position_bias_table", "rel_pos_h", "blocks.{l}.layernorm_before.weight",
                             "{l}.layer_scale1.lambda1", "tubelet_embeddings.projection.weight"),
                    marks=("attention.q_proj.weight", "attention.attention.query.weight"))  # separate q, k, v
    encoder = True
    dialects = (VIT_V5, VIT_HUB)  # the first whose first layer is stored is taken
    defaults = {"positional": "learned", "act": "gelu", "tied_embeddings": False}
    KNOWN_HEADS = {192: 3, 384: 6, 768: 12, 1024: 16, 1280: 16}  # ViT-Ti, S, B, L, H
    rules = {
        "embed.W_patch": (PATCH, same),
        "embed.b_patch": (EMB + "patch_embeddings.projection.bias", same),
        "embed.cls": (EMB + "cls_token", token),
        "embed.distill": (EMB + "distillation_token", token),
        "embed.registers": (EMB + "register_tokens", token_rows),
        "embed.mask": (EMB + "mask_token", token),
        "pos_embed.W_pos": (POS, token_rows),
        "ln_final.w": ("layernorm.weight", same),
        "ln_final.b": ("layernorm.bias", same),
    }
    ignored = HEADS_IGNORED

    @classmethod
    def dialect(cls, tensors: Tensors) -> dict:
        """The block names this checkpoint stores (the first dialect whose layer 0 query is there)."""
        return next((d for d in cls.dialects if tensors.has(d["q"] + ".weight", 0)), cls.dialects[0])

    @classmethod
    def count_layers(cls, tensors: Tensors) -> int:
        return tensors.count_layers(cls.dialect(tensors)["q"] + ".weight")

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        return Table({**cls.rules, **prenorm_block(cls.dialect(tensors))}, cls.ignored)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        patch = tensors.shape(PATCH)  # (d_model, n_channels, patch_size, patch_size)
        fc1 = tensors.shape(cls.dialect(tensors)["fc1"] + ".weight")  # (d_mlp, d_model)
        image = len(patch) == 4  # a video model's tubelet conv (vivit) has a time axis too: no 2-D patch grid
        return {"d_model": patch[0], "n_channels": patch[1] if image else None,
                "patch_size": patch[2] if image else None, "d_mlp": fc1[0] if fc1 else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        pos = tensors.shape(POS)
        prefix = sum(tensors.has(t) for t in POSITIONED_TOKENS)
        registers = tensors.shape(EMB + "register_tokens")
        cfg = replace(cfg, d_vocab=None, n_ctx=pos[-2] if pos else None)  # positions, not a token context
        return patch_facts(cfg, hf, cfg.n_ctx, prefix, registers[-2] if registers else 0)


def patch_facts(cfg: ModelConfig, hf: dict, pos_rows: int | None, prefix: int, registers: int = 0) -> ModelConfig:
    """cfg with the patch grid and the prefix count, from the W_pos rows stored (pos_rows, None when
    there are no learned positions), the tokens that have a row before the grid (prefix) and config.json's
    image_size; a note says what could not be settled."""
    p = cfg.patch_size
    grid = None
    size = hf.get("image_size")
    if isinstance(size, int) and p:
        grid = (size // p, size // p)
    elif isinstance(size, (list, tuple)) and len(size) == 2 and p and all(isinstance(s, int) for s in size):
        grid = (size[0] // p, size[1] // p)
    if pos_rows is not None and (grid is None or grid[0] * grid[1] != pos_rows - prefix):
        side = math.isqrt(max(pos_rows - prefix, 0))
        grid = (side, side) if side and side * side == pos_rows - prefix else None
        if grid is None:
            cfg = cfg.with_notes(Note("layout", f"W_pos has {pos_rows} rows after {prefix} prefix rows; they do not "
                                                "form a square grid and config.json gives no image size that fits, "
                                                "so the patch grid is unknown."))
    if registers:
        cfg = cfg.with_notes(Note("positions", f"{registers} register tokens follow the class token with no "
                                               "position embedding: W_pos holds the class token's row and the grid."))
    return replace(cfg, patch_grid=grid, n_prefix_tokens=prefix)


@register
class Dinov2(Vit):
    """Like ViT, with layer scale after each sublayer, norms named norm1/norm2, and a mask token of shape
    (1, d_model); with registers, register tokens after the class token."""
    arch = "dinov2"
    model_types = ("dinov2", "dinov2_with_registers")
    layout = Layout(requires=(PATCH, "{l}.layer_scale1.lambda1", "{l}.norm1.weight"))
    dialects = (DINO_V5, DINO_HUB)
    KNOWN_HEADS = {384: 6, 768: 12, 1024: 16, 1536: 24}  # DINOv2 S, B, L, g


@register
class Beit(Vit):
    """Like ViT, with layer scale (lambda_1, lambda_2), no key bias, and relative position biases in attention
    (per layer or shared) instead of, or beside, W_pos; with mean pooling its final norm sits in the pooler."""
    arch = "beit"
    model_types = ("beit", "data2vec-vision")
    layout = Layout(requires=(PATCH, "layernorm_before.weight", "lambda_1"))
    dialects = (BEIT_V5, BEIT_HUB)
    ignored = {
        **HEADS_IGNORED,
        r"relative_position_bias_table$": ("positional", "BEiT's relative position bias: one learned logit per "
                                           "head for each 2-D offset between patches (and the class token), added "
                                           "to the attention scores; no schema slot holds a 2-D offset table"),
        r"relative_position_index$": ("buffer", "the index from a pair of tokens to their offset's row of that table"),
        r"(^|\.)pooler\.(layernorm|norm)\.": ("norm", "the mean-pooling head's norm, applied once to the average "
                                              "of the patch tokens, not to each token (no final norm then)"),
    }

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        relative = any(n.endswith("relative_position_bias_table") for n in tensors.shapes)
        if relative:
            cfg = cfg.with_notes(Note("positions", "Positions also enter through relative position biases added to "
                                                   "each head's attention scores (kept outside the schema)."))
        if not tensors.has(POS):
            cfg = replace(cfg, positional="relative" if relative else "none")
        return cfg
