"""CTRL (Salesforce): a pre-norm decoder with fixed sinusoidal positions and embeddings scaled by sqrt(d_model).

    transformer.w (token embedding; the LM head is tied to it and has a bias), h.{l}.layernorm1 ->
    multi_head_attention.{Wq,Wk,Wv,dense} -> layernorm2 -> ffn.0 -> relu -> ffn.2, transformer.layernorm
Every projection is Linear [out, in] with a bias.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

H = "h.{l}."
ATTN = H + "multi_head_attention."


@register
class CTRL(Family):
    arch = "ctrl"
    model_types = ("ctrl",)
    anchor = "w.weight"  # prefix 'transformer.'
    layer_anchor = ATTN + "Wq.weight"
    layout = Layout(requires=(anchor, ATTN + "Wq.weight", H + "ffn.{l}.weight"))  # ffn.0: numbers read as {l}
    tie = ("lm_head.weight", "w.weight")
    defaults = {"positional": "sinusoidal", "act": "relu", "tied_embeddings": True, "n_ctx": 256}
    KNOWN_HEADS = {1280: 16}
    rules = {
        "embed.W_E": ("w.weight", same),
        "blocks.{l}.ln1.w": (H + "layernorm1.weight", same),
        "blocks.{l}.ln1.b": (H + "layernorm1.bias", same),
        **{f"blocks.{{l}}.attn.{k}_{x}": (ATTN + f"W{x.lower()}.{p}", heads_in())
           for x in "QKV" for k, p in (("W", "weight"), ("b", "bias"))},
        "blocks.{l}.attn.W_O": (ATTN + "dense.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (ATTN + "dense.bias", same),
        "blocks.{l}.ln2.w": (H + "layernorm2.weight", same),
        "blocks.{l}.ln2.b": (H + "layernorm2.bias", same),
        "blocks.{l}.mlp.W_in": (H + "ffn.0.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (H + "ffn.0.bias", same),
        "blocks.{l}.mlp.W_out": (H + "ffn.2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (H + "ffn.2.bias", same),
        "ln_final.w": ("layernorm.weight", same),
        "ln_final.b": ("layernorm.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
        "unembed.b_U": ("lm_head.bias", same),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape(cls.anchor), tensors.shape(H + "ffn.0.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        d_mlp = hf.get("dff") if type(hf.get("dff")) is int else cfg.d_mlp
        return replace(cfg, d_mlp=d_mlp, embed_scale=cfg.d_model ** 0.5 if cfg.d_model else 1.0)
