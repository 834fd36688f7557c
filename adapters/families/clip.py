"""CLIP and SigLIP: a text tower and a vision tower of the same pre-norm block (q, k, v, out_proj; layer_norm1/2;
fc1/fc2), stored alone (`clip_vision_model`, `siglip_text_model`, ...) or together (`clip`, `siglip`).

- Vision tower: a patch conv (SigLIP's with a bias), CLIP's class token `class_embedding` [d_model] before the
  patches (SigLIP has none), W_pos an nn.Embedding [prefix + rows * cols, d_model]; CLIP norms the embeddings
  (`pre_layrnorm`, our embed.ln) and norms only the pooled class token at the end (`post_layernorm`); SigLIP
  norms every token at the end.
- Text tower: token and position embeddings, `final_layer_norm`. CLIP's attends causally, SigLIP's does not.
- Together: the text tower is the main stack (`blocks`), the vision tower the `vision` stack, each at its own
  width (cfg.vision_d_model, cfg.vision_n_heads). The projections into the shared space are listed outside.
"""
from __future__ import annotations

from dataclasses import replace

from .. import schema
from ..config import ModelConfig, Note, read_common
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import prenorm_block, same, token, tower_heads_in, tower_heads_out
from .vit import patch_facts

BLOCK = {"ln1": "encoder.layers.{l}.layer_norm1", "q": "encoder.layers.{l}.self_attn.q_proj",
         "k": "encoder.layers.{l}.self_attn.k_proj", "v": "encoder.layers.{l}.self_attn.v_proj",
         "o": "encoder.layers.{l}.self_attn.out_proj", "ln2": "encoder.layers.{l}.layer_norm2",
         "fc1": "encoder.layers.{l}.mlp.fc1", "fc2": "encoder.layers.{l}.mlp.fc2"}
PATCH = "embeddings.patch_embedding.weight"  # (d_model, n_channels, patch_size, patch_size)
TOKENS = "embeddings.token_embedding.weight"
VISION_GLOBALS = {  # slot -> (source under the vision tower's prefix, transform)
    "embed.W_patch": (PATCH, same),
    "embed.b_patch": ("embeddings.patch_embedding.bias", same),
    "embed.cls": ("embeddings.class_embedding", token),
    "pos_embed.W_pos": ("embeddings.position_embedding.weight", same),
    "embed.ln.w": ("pre_layrnorm.weight", same),  # CLIP: a norm on the embeddings, before the first layer
    "embed.ln.b": ("pre_layrnorm.bias", same),
    "ln_final.w": ("post_layernorm.weight", same),  # CLIP: on the pooled class token only; SigLIP: every token
    "ln_final.b": ("post_layernorm.bias", same),
}
TEXT_GLOBALS = {
    "embed.W_E": (TOKENS, same),
    "pos_embed.W_pos": ("embeddings.position_embedding.weight", same),
    "ln_final.w": ("final_layer_norm.weight", same),
    "ln_final.b": ("final_layer_norm.bias", same),
}
OUTSIDE = {
    r"(^|\.)position_ids$": ("buffer", "the position index buffer, not a parameter"),
    r"(^|\.)head\.": ("other", "the pooling head: SigLIP's vision tower pools with an attention probe, its text "
                               "tower projects the last token; both outside the towers' residual streams"),
    r"(^|\.)(visual|text)_projection\.": ("other", "the projection into the shared image-text space, applied to "
                                                   "the pooled token after the tower"),
    r"^logit_(scale|bias)$": ("other", "the contrastive loss's temperature (and SigLIP's bias) on image-text "
                                       "similarities"),
}
CAUSAL_TEXT = {"clip_text_model": True, "clip": True, "siglip_text_model": False, "siglip": False}


def _vision_facts(cfg: ModelConfig, vision: dict, tensors: Tensors, prefix: str = "") -> ModelConfig:
    """cfg with the vision tower's patches (and its grid) read off its shapes and config (vision: its config)."""
    patch = tensors.shape(prefix + PATCH)
    pos = tensors.shape(prefix + "embeddings.position_embedding.weight")
    if patch is None or len(patch) != 4:  # a Linear patch embedding (SigLIP2) is not a conv: no grid to draw
        return cfg
    cfg = replace(cfg, patch_size=vision.get("patch_size") or patch[2], n_channels=vision.get("num_channels") or patch[1])
    has_cls = tensors.has(prefix + "embeddings.class_embedding")
    return patch_facts(cfg, vision, pos[0] if pos else None, int(has_cls))


def _causal_note(model_type: str | None) -> Note:
    causal = CAUSAL_TEXT.get(model_type)
    if causal is None:
        return Note("assumed", "Without config.json it is not known whether the text tower attends causally (CLIP) "
                               "or both ways (SigLIP).")
    return Note("maths", "The text tower attends causally (each token to itself and earlier ones)." if causal
                else "The text tower attends both ways (no causal mask).")


@register
class ClipVision(Family):
    arch = "clip_vision"
    model_types = ("clip_vision_model", "siglip_vision_model")
    anchor = PATCH
    layout = Layout(requires=(PATCH, "embeddings.position_embedding.weight", BLOCK["q"] + ".weight"),
                    forbids=("token_embedding.weight",))
    encoder = True
    defaults = {"positional": "learned", "act": "quick_gelu"}
    KNOWN_HEADS = {768: 12, 1024: 16, 1152: 16, 1280: 16}  # CLIP ViT-B, L, SigLIP so400m, ViT-H
    rules = {**VISION_GLOBALS, **prenorm_block(BLOCK)}
    ignored = OUTSIDE

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        patch, fc1 = tensors.shape(PATCH), tensors.shape(BLOCK["fc1"] + ".weight")
        return {"d_model": patch[0], "d_mlp": fc1[0] if fc1 else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        pos = tensors.shape("embeddings.position_embedding.weight")
        cfg = replace(cfg, d_vocab=None, n_ctx=pos[0] if pos else None)  # positions, not a token context
        return _vision_facts(cfg, hf, Tensors(tensors.shapes), tensors.prefix)


@register
class ClipText(Family):
    arch = "clip_text"
    model_types = ("clip_text_model", "siglip_text_model")
    anchor = TOKENS
    layout = Layout(requires=(TOKENS, "final_layer_norm.weight", BLOCK["q"] + ".weight"),
                    forbids=("patch_embedding.weight",))
    encoder = True
    defaults = {"positional": "learned", "act": "quick_gelu"}
    KNOWN_HEADS = {512: 8, 768: 12, 1024: 16}  # CLIP B and L text towers, and larger ones
    rules = {**TEXT_GLOBALS, **prenorm_block(BLOCK)}
    ignored = OUTSIDE

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, pos = tensors.shape(TOKENS), tensors.shape("embeddings.position_embedding.weight")
        fc1 = tensors.shape(BLOCK["fc1"] + ".weight")
        return {"d_model": wte[1], "d_vocab": wte[0], "n_ctx": pos[0] if pos else None,
                "d_mlp": fc1[0] if fc1 else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        return cfg.with_notes(_causal_note(hf.get("model_type")))


@register
class Clip(Family):
    """Both towers in one checkpoint: the text tower's rules under text_model., the vision tower's under
    vision_model. as the `vision` stack, split into heads at its own width."""
    arch = "clip"
    model_types = ("clip", "siglip")
    layout = Layout(requires=("text_model." + TOKENS, "vision_model." + PATCH))
    encoder = True
    defaults = {"positional": "learned", "act": "quick_gelu"}
    rules = {
        **{slot: ("text_model." + src, fn) for slot, (src, fn) in TEXT_GLOBALS.items()},
        **prenorm_block({role: "text_model." + path for role, path in BLOCK.items()}),
        **{schema.name(slot, stack="vision"): ("vision_model." + src, fn) for slot, (src, fn) in VISION_GLOBALS.items()},
    }
    VISION_BLOCK = prenorm_block({role: "vision_model." + path for role, path in BLOCK.items()}, "vision",
                                 tower_heads_in, tower_heads_out)
    ignored = OUTSIDE

    @classmethod
    def derive_config(cls, hf: dict | None, tensors: Tensors, n_heads: int | None = None) -> ModelConfig:
        """The text tower's config as the model's (config.json's text_config), then the vision tower's facts."""
        text = {**(hf or {}).get("text_config", {}), "architectures": (hf or {}).get("architectures")} if hf else None
        cfg = super().derive_config(text, tensors, n_heads)
        vision = (hf or {}).get("vision_config") or {}
        patch = tensors.shape("vision_model." + PATCH)
        common = read_common(vision)
        d_vision = common.get("d_model") or (patch[0] if patch else None)
        heads = common.get("n_heads")
        if heads is None and d_vision in ClipVision.KNOWN_HEADS:
            heads = ClipVision.KNOWN_HEADS[d_vision]
            cfg = cfg.with_notes(Note("heads-assumed", f"The vision tower's n_heads={heads} is assumed, the usual "
                                                       f"value for its width {d_vision}."))
        cfg = replace(cfg, vision_d_model=d_vision, vision_n_heads=heads,
                      n_encoder_layers=tensors.count_layers("vision_model." + BLOCK["q"] + ".weight"))
        if heads is None:
            cfg = cfg.with_notes(Note("heads-unknown", "The vision tower's head count is not known: its per-head "
                                                       "slots are absent."))
        cfg = _vision_facts(cfg, vision, tensors, "vision_model.")
        return cfg.with_notes(_causal_note((hf or {}).get("model_type")))

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        return ClipText.infer(Tensors(tensors.shapes, "text_model."))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        vision = cls.VISION_BLOCK if cfg.vision_n_heads else {
            t: r for t, r in cls.VISION_BLOCK.items() if schema.parse(t).slot not in schema.HEAD_SLOTS}
        return Table({**cls.rules, **vision}, cls.ignored)
