"""Qwen3: like Llama, plus a per-head RMSNorm on queries and keys (after projection, before rotary).

head_dim is its own config entry (Qwen3-0.6B: d_model 1024, 16 heads of 128), so
n_heads * d_head need not equal d_model. Without config.json, q_norm's length gives d_head
and with it every head count.
"""
from __future__ import annotations

from .llama import ATTN, Llama
from .registry import register
from .transforms import same


@register
class Qwen3(Llama):
    arch = "qwen3"
    model_types = ("qwen3",)
    rules = {
        **Llama.rules,
        "blocks.{l}.attn.q_norm.w": (ATTN + "q_norm.weight", same),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", same),
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return (super(Llama, cls).detect(names)  # Llama.detect rules out q_norm; Family's checks the anchor
                and any(n.endswith("self_attn.q_norm.weight") for n in names)
                and not any(n.endswith("pre_feedforward_layernorm.weight") for n in names))  # Gemma3

    def _d_head(self, d_model, q):
        norm = self.shapes.get(self.resolve(ATTN + "q_norm.weight", 0) or "")
        return norm[0] if norm else None

