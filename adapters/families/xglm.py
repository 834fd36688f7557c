"""XGLM and BioGPT: fairseq's pre-norm decoder layer (OPT's names) without OPT's 'decoder.' level, and
embeddings scaled by sqrt(d_model).

    layers.{l}.self_attn_layer_norm -> self_attn.{q,k,v,out}_proj -> final_layer_norm -> fc1 -> gelu -> fc2
    layer_norm (the final norm)
XGLM's positions are fixed sinusoids (nothing stored); BioGPT learns them, stored with 2 rows before position 0
(OPT's offset). Both multiply the token embeddings by sqrt(d_model) when scale_embedding (the default).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import from_position_zero, heads_in, heads_out, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."
OFFSET = 2  # BioGPT's rows of embed_positions before position 0


@register
class XGLM(Family):
    arch = "xglm"
    model_types = ("xglm",)
    anchor = "embed_tokens.weight"  # prefix 'model.' (XGLM) or 'biogpt.'
    layer_anchor = ATTN + "q_proj.weight"
    # OPT, BART, Whisper, Marian: the same layer names one level down, under decoder. / encoder.
    layout = Layout(requires=(anchor, ATTN + "q_proj.weight", L + "fc1.weight", "layer_norm.weight"),
                    forbids=("decoder." + ATTN + "q_proj.weight", "encoder." + ATTN + "q_proj.weight",
                             "embed_positions.weight"))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "sinusoidal", "act": "gelu", "tied_embeddings": True}
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "self_attn_layer_norm.weight", same),
        "blocks.{l}.ln1.b": (L + "self_attn_layer_norm.bias", same),
        **{f"blocks.{{l}}.attn.{k}_{x.upper()}": (ATTN + f"{x}_proj.{p}", heads_in())
           for x in "qkv" for k, p in (("W", "weight"), ("b", "bias"))},
        "blocks.{l}.attn.W_O": (ATTN + "out_proj.weight", heads_out),
        "blocks.{l}.attn.b_O": (ATTN + "out_proj.bias", same),
        "blocks.{l}.ln2.w": (L + "final_layer_norm.weight", same),  # the layer's MLP norm, despite its name
        "blocks.{l}.ln2.b": (L + "final_layer_norm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "fc1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "fc1.bias", same),
        "blocks.{l}.mlp.W_out": (L + "fc2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "fc2.bias", same),
        "ln_final.w": ("layer_norm.weight", same),
        "ln_final.b": ("layer_norm.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    ignored = {r"embed_positions\.weights?$": ("buffer", "fixed sinusoidal positions, computed, not learned")}
    KNOWN_HEADS = {1024: 16, 2048: 16}  # XGLM 564M, 1.7B / 2.9B

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc1 = tensors.shape(cls.anchor), tensors.shape(L + "fc1.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc1[0] if fc1 else None,
                "tied_embeddings": not tensors.has("lm_head.weight") and not tensors.has("output_projection.weight")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(cfg, act=hf.get("activation_function") or hf.get("hidden_act") or cfg.act)
        if cfg.n_heads is None and type(hf.get("attention_heads")) is int:  # XGLM's own spelling
            cfg = cls.with_heads(cfg, tensors, hf["attention_heads"])
        if hf.get("scale_embedding", True) and cfg.d_model:
            cfg = replace(cfg, embed_scale=cfg.d_model ** 0.5)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: token embeddings scaled by sqrt(d_model) "
                                                 "(scale_embedding, the default) are assumed."))
        return cfg


@register
class BioGpt(XGLM):
    """Like XGLM, with learned positions (2 rows before position 0) and the LM head named output_projection."""
    arch = "biogpt"
    model_types = ("biogpt",)
    layout = Layout(requires=(*XGLM.layout.requires, "embed_positions.weight"),
                    forbids=XGLM.layout.forbids[:2])
    tie = ("output_projection.weight", "embed_tokens.weight")
    defaults = {**XGLM.defaults, "positional": "learned", "pos_offset": OFFSET}
    rules = {
        **{s: r for s, r in XGLM.rules.items() if s != "unembed.W_U"},
        "pos_embed.W_pos": ("embed_positions.weight", from_position_zero),
        "unembed.W_U": ("output_projection.weight", transpose),
    }
    ignored = {}
    KNOWN_HEADS = {1024: 16, 1600: 25}  # BioGPT, BioGPT-Large

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        return super().facts(cfg, hf, tensors).with_notes(Note(
            "layout", f"embed_positions stores {OFFSET} extra rows before position 0; they are dropped, so W_pos "
                      "row i is position i."))
