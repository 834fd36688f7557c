"""ERNIE 4.5 MoE (ernie4_5_moe): Llama's attention with Qwen-MoE's expert names, DeepSeek-style ungated shared
experts, and a selection bias stored apart from the router.

    p = softmax(x @ W_router)                                   [n_experts]
    chosen = top moe_k of p + router_select_bias                (mlp.moe_statics.e_score_correction_bias [1, n])
    mlp(x) = sum_chosen p_e / max(sum p_chosen, moe_norm_min) * expert_e(x) + shared(x)
Layers outside moe_layer_start_index..moe_layer_end_index (every moe_layer_interval-th) are dense, with Llama's MLP.
Rotary rotates interleaved pairs, which changes no weight.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import transpose
from .llama import ATTN, ROUTER, L, Llama
from .qwen_moe import MLP, SHARED_EXPERTS, Qwen2Moe, per_expert_rules, shared_rules

SELECT_BIAS = MLP + "moe_statics.e_score_correction_bias"  # [1, n_experts]: one group


def _flat(cfg, w: np.ndarray) -> np.ndarray:
    """[1, n_experts] -> [n_experts]."""
    return w.reshape(-1)


@register
class Ernie45Moe(Qwen2Moe):
    """Like Qwen2-MoE's experts, with ungated shared experts and the selection bias under moe_statics."""
    arch = "ernie4_5_moe"
    model_types = ("ernie4_5_moe",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              L + "post_attention_layernorm.weight", ROUTER, SELECT_BIAS))
    rules = {
        **Llama.rules,  # attention (biases when use_bias), and the dense layers' MLP
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.router_select_bias": (SELECT_BIAS, _flat),
        **per_expert_rules(),
        **shared_rules(SHARED_EXPERTS),  # moe_num_shared_experts of them, fused: [n_shared*d_expert, d_model]
    }

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        layers = cfg.moe_layers if cfg.moe_layers is not None else range(cfg.n_layers or 0)
        shared = tensors.shape(SHARED_EXPERTS + "gate_proj.weight", next(iter(layers), 0))
        n_shared = hf.get("moe_num_shared_experts", shared[0] // cfg.d_expert if shared and cfg.d_expert else 0)
        cfg = replace(cfg, n_shared_experts=int(n_shared or 0) if shared else 0,
                      n_experts_per_token=int(hf["moe_k"]) if hf.get("moe_k") else cfg.n_experts_per_token)
        return cfg.with_notes(Note("maths", "Routing: experts are chosen by softmax(x @ W_router) + "
                                            "router_select_bias and weighted by their softmax, renormalised to sum "
                                            "to one."))
