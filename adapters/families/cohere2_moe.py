"""Cohere2-MoE (cohere2_moe): Cohere's parallel block (attention and MLP read one shared norm), with experts.

    h = input_layernorm(x);  x = x + attn(h) + moe(h)
    moe(h) = sum_top w_e * expert_e(h)  (+ shared(h), summed or averaged with the routed sum:
                                           config's shared_expert_combination_strategy)
w: the top n_experts_per_token logits softmaxed among themselves (expert_selection_fn "softmax") or their sigmoids
(renormalised when norm_topk_prob). Experts use Qwen-MoE's per-expert names under mlp.experts.{e}; the router is
mlp.gate; shared experts are DeepSeek's mlp.shared_experts; config's mlp_layer_types "dense" layers keep Llama's
MLP. The norm is an RMSNorm when config sets rms_norm_eps, else a LayerNorm without bias. Sliding-window layers get
rotary; full-attention layers have none.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import transpose
from .cohere import PRE_MLP, Cohere
from .gemma import sliding
from .llama import ATTN, ROUTER, L, Llama
from .qwen_moe import SHARED_EXPERTS, StoredExperts, per_expert_rules, shared_rules


@register
class Cohere2Moe(StoredExperts, Cohere):
    """Like Cohere, with routed (and optional shared) experts in place of the MLP, and sliding-window layers."""
    arch = "cohere2_moe"
    model_types = ("cohere2_moe",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              ROUTER),
                    forbids=(PRE_MLP,))
    rules = {
        **Cohere.rules,  # attention, the shared norm, the dense layers' MLP
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
        **per_expert_rules(),
        **shared_rules(SHARED_EXPERTS),  # num_shared_experts of them fused: [n_shared*d_mlp, d_model]
    }

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        shared = tensors.count_layers(SHARED_EXPERTS + "gate_proj.weight")
        cfg = replace(cfg, norm="rmsnorm" if hf.get("rms_norm_eps") else "layernorm",
                      n_shared_experts=int(hf.get("num_shared_experts") or 1) if shared else 0, **sliding(hf))
        select = hf.get("expert_selection_fn", "softmax")
        text = (f"Routing: the top n_experts_per_token logits are weighted by {'a softmax among themselves' if select == 'softmax' else 'their sigmoids' + (' renormalised' if hf.get('norm_topk_prob') else '')}.")
        if shared:
            text += f" Shared experts join the routed sum by {hf.get('shared_expert_combination_strategy', 'sum')}."
        full = [l for l, kind in enumerate(hf.get("layer_types") or []) if kind == "full_attention"]
        notes = [Note("maths", text)]
        if full:
            notes.append(Note("positions", f"Layers {full} (full attention) have no rotary."))
        return cfg.with_notes(*notes)
