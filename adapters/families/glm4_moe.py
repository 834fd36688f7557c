"""GLM-4.5 / 4.6 (glm4_moe): Llama's attention (Qwen3's per-head q/k norms when use_qk_norm) with DeepSeek-V3's
experts: shared_experts beside the routed ones, the router's e_score_correction_bias, dense first layers
(first_k_dense_replace -> cfg.moe_layers). Rotary covers the first partial_rotary_factor (0.5) of each head.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .deepseek import SELECT_BIAS, DeepseekV3
from .llama import ATTN, Q_NORM, ROUTER, L, Llama
from .qwen3 import Qwen3
from .qwen_moe import SHARED_EXPERTS, SHARED_GATE, Qwen2Moe, per_expert_rules, shared_rules


@register
class Glm4Moe(Qwen2Moe):
    """Like Qwen2-MoE, with DeepSeek-V3's ungated shared experts and selection bias, optional q/k norms."""
    arch = "glm4_moe"
    model_types = ("glm4_moe",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              ROUTER, SHARED_EXPERTS + "gate_proj.weight"),
                    forbids=(SHARED_GATE,))
    rules = {
        **Llama.rules,  # attention (biases when attention_bias), and the dense first layers' MLP
        "blocks.{l}.attn.q_norm.w": Qwen3.rules["blocks.{l}.attn.q_norm.w"],  # [d_head], when use_qk_norm
        "blocks.{l}.attn.k_norm.w": Qwen3.rules["blocks.{l}.attn.k_norm.w"],
        "blocks.{l}.mlp.W_router": DeepseekV3.rules["blocks.{l}.mlp.W_router"],
        "blocks.{l}.mlp.router_select_bias": (SELECT_BIAS, same),  # [n_experts]
        **per_expert_rules(),
        **shared_rules(SHARED_EXPERTS),
    }

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("rope_parameters") if isinstance(hf.get("rope_parameters"), dict) else {}
        factor = hf.get("partial_rotary_factor", rope.get("partial_rotary_factor", 0.5))
        return replace(cfg, rotary_dim=int(cfg.d_head * factor) if cfg.d_head else None,
                       qk_norm="head" if tensors.has(Q_NORM) else None)
