"""Lara-Mini (lara_mini): Qwen3-MoE's softmax-attention layers and experts, between gated-delta-net linear-attention
layers, with an ungated shared expert in every MoE block.

    mlp(x) = sum_top w_e * expert_e(x) + shared(x)          (Qwen2-MoE's shared expert, without its sigmoid gate)
Softmax attention (q_norm/k_norm per head, like Qwen3) sits in the layers config's layer_types names
"sliding_attention" or "full_attention"; only the sliding ones get rotary. The "linear_attention" layers store
`linear_attn.*` (a fused in_proj, a causal conv, decay parameters, a gated norm, out_proj): a recurrence with no
per-head attention pattern, so they are listed as ignored and those layers have no attn.* slots.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .gemma import sliding
from .llama import ATTN, Q_NORM, ROUTER, L, Llama
from .qwen_moe import QWEN_SHARED, Qwen3Moe, shared_rules

LINEAR = L + "linear_attn."


@register
class LaraMini(Qwen3Moe):
    """Like Qwen3-MoE, plus an ungated shared expert, with linear-attention layers in between."""
    arch = "lara_mini"
    model_types = ("lara_mini",)
    layer_anchor = L + "input_layernorm.weight"  # every layer has it; q_proj only the softmax ones
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              L + "post_attention_layernorm.weight", Q_NORM, ROUTER, LINEAR + "out_proj.weight"))
    rules = {**Qwen3Moe.rules, **shared_rules(QWEN_SHARED)}  # [shared_expert_intermediate_size, d_model]
    ignored = {**Qwen3Moe.ignored, r"linear_attn\.": (
        "attention", "a gated-delta-net linear-attention layer (in_proj, conv1d, A_log, dt_bias, out_norm, out_proj): "
                     "a recurrence with no softmax pattern, outside the per-head schema")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), **sliding(hf))
        linear = [l for l in range(cfg.n_layers or 0) if tensors.has(LINEAR + "out_proj.weight", l)]
        kinds = hf.get("layer_types") or []
        full = [l for l, kind in enumerate(kinds) if kind == "full_attention"]
        return cfg.with_notes(Note("maths", f"Layers {linear} are linear attention (gated delta net), outside the "
                                            "per-head schema; the other layers are softmax attention."
                                   + (f" Layers {full} attend without rotary." if full else "")))
