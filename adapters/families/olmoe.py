"""OLMoE: Qwen3-MoE's tensor names, with OLMo2's q/k RMSNorm over the whole projection (before rotary).

    q = q_norm(q_proj(x))   one RMSNorm over all heads' dims at once, [n_heads * d_head] as stored
Its names are exactly Qwen3-MoE's, so only config.json's model_type chooses it; without config.json the
checkpoint is read as qwen3_moe, whose rules_for still reads q_norm's length and so splits the norm the way
OLMoE uses it (cfg.qk_norm = "projection"). Experts are d_mlp (intermediate_size) wide.
"""
from __future__ import annotations

from ..config import ModelConfig, Note
from ..layout import Tensors
from ..registry import register
from .qwen_moe import Qwen3Moe


@register
class Olmoe(Qwen3Moe):
    """Like Qwen3-MoE, with the q/k norm over the whole projection and clip_qkv."""
    arch = "olmoe"
    model_types = ("olmoe",)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        if hf.get("clip_qkv"):
            cfg = cfg.with_notes(Note("maths", f"Queries, keys and values are clamped to ±{hf['clip_qkv']}."))
        return cfg
