"""Gemma3 (text): Gemma2's four norms per layer and (1 + w) scales, plus Qwen3's per-head q/k RMSNorm.

The q/k norms are Gemma's kind too (stored w, scale 1 + w), over each head's d_head. Attention scores are
scaled by query_pre_attn_scalar ** -0.5; five layers in six attend to a sliding window (config.json's
layer_types), with their own rotary base (rope_local_base_freq); soft-capping is gone unless configured.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import plus_one
from .gemma import POST_MLP_NORM, Gemma2
from .llama import ATTN, PRE_MLP_NORM, Q_NORM, ROUTER, Llama


@register
class Gemma3(Gemma2):
    """Like Gemma2, plus per-head q/k norms (stored as scale - 1, like every Gemma norm)."""
    arch = "gemma3"
    model_types = ("gemma3_text",)
    layout = Layout(requires=(*Llama.layout.requires, PRE_MLP_NORM, POST_MLP_NORM, Q_NORM), forbids=(ROUTER,))
    rules = {
        **Gemma2.rules,
        "blocks.{l}.attn.q_norm.w": (Q_NORM, plus_one),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", plus_one),
    }
    KNOWN_HEADS = {640: 4, 1152: 4, 2560: 8, 3840: 16, 5376: 32}  # Gemma3 270M, 1B, 4B, 12B, 27B

    @classmethod
    def stored_d_head(cls, tensors: Tensors) -> int | None:
        norm = tensors.shape(Q_NORM)
        return norm[0] if norm else None

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), qk_norm="head")
        rope = hf.get("rope_parameters")
        per_kind = rope if isinstance(rope, dict) and isinstance(rope.get("full_attention"), dict) else {}
        full = per_kind.get("full_attention", {}).get("rope_theta")  # transformers 5 writes one entry per kind
        local = per_kind.get("sliding_attention", {}).get("rope_theta") or hf.get("rope_local_base_freq")
        cfg = replace(cfg, rotary_base=float(full)) if full else cfg
        if local and cfg.sliding_layers:
            cfg = cfg.with_notes(Note("positions", f"Sliding-window layers use rotary base {float(local):g}, "
                                                   f"the others {cfg.rotary_base or 'rope_theta'}."))
        return cfg
