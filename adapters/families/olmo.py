"""OLMo (the first): Llama's projections and gated MLP, with LayerNorms that have no weights at all.

Every norm is a plain LayerNorm without scale or bias (x - mean) / std, so the checkpoint stores none:
no ln slots exist, and a norm's effect is fixed. clip_qkv, when set, clamps q, k and v to [-c, c].
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .llama import ATTN, L, PRE_MLP_NORM, Q_NORM, ROUTER, Llama

_NORMS = ("blocks.{l}.ln1.w", "blocks.{l}.ln2.w", "ln_final.w")


@register
class Olmo(Llama):
    """Like Llama, minus every norm weight (non-parametric LayerNorm)."""
    arch = "olmo"
    model_types = ("olmo",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"),
                              L + "mlp.gate_proj.weight"),
                    forbids=(L + "input_layernorm.weight", L + "post_attention_layernorm.weight", "norm.weight",
                             Q_NORM, PRE_MLP_NORM, ROUTER))
    defaults = {**Llama.defaults, "norm": "layernorm"}
    rules = {slot: rule for slot, rule in Llama.rules.items() if slot not in _NORMS}
    NO_CONFIG_NOTE = ""

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        cfg = cfg.with_notes(Note("maths", "Every norm is a LayerNorm without weights or biases, so none is stored."))
        if hf.get("clip_qkv"):
            cfg = cfg.with_notes(Note("maths", f"Queries, keys and values are clamped to ±{hf['clip_qkv']}."))
        return replace(cfg, norm="layernorm")
