"""Qwen3: like Llama, plus a per-head RMSNorm on queries and keys (after projection, before rotary).

head_dim is its own config entry (Qwen3-0.6B: d_model 1024, 16 heads of 128), so
n_heads * d_head need not equal d_model. Without config.json, q_norm's length gives d_head
and with it every head count.
"""
from __future__ import annotations

from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .llama import ATTN, PRE_MLP_NORM, Q_NORM, ROUTER, Llama


@register
class Qwen3(Llama):
    arch = "qwen3"
    model_types = ("qwen3",)
    layout = Layout(requires=(*Llama.layout.requires, Q_NORM),
                    forbids=(PRE_MLP_NORM, ROUTER))  # PRE_MLP_NORM: Gemma3, which has q/k norms too
    rules = {
        **Llama.rules,
        "blocks.{l}.attn.q_norm.w": (Q_NORM, same),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", same),
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def stored_d_head(cls, tensors: Tensors) -> int | None:
        norm = tensors.shape(Q_NORM)
        return norm[0] if norm else None
