"""Qwen2-MoE and Qwen3-MoE: Llama's attention, and a mixture of experts in place of the MLP.

    logits = x @ W_router                      [n_experts]
    w = top n_experts_per_token of softmax(logits), divided by their sum when config's norm_topk_prob
    mlp(x) = sum_top w_e * (silu(x @ W_gate[e]) * (x @ W_in[e])) @ W_out[e]
             + sigmoid(x @ shared.W_router) * shared_mlp(x)          (Qwen2-MoE's gated shared expert)
Experts are stored one Linear per expert (`mlp.experts.{e}.gate_proj`: the Hub's checkpoints, and what
transformers 5 saves) or fused with the expert index first (`mlp.experts.gate_up_proj` [n_experts, 2*d_expert,
d_model], gate rows first, and `mlp.experts.down_proj` [n_experts, d_model, d_expert]: transformers 5's layout
in memory); `rules_for` takes whichever is stored. Layers listed in decoder_sparse_step / mlp_only_layers stay
dense, with Llama's mlp.gate_proj/up_proj/down_proj: cfg.moe_layers lists the layers that have a router.

The helpers below (expert rows, shared-expert rows, the MoE facts) serve every family that stores experts under
these names: OLMoE, DeepSeek, GLM-4-MoE.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .llama import ATTN, PRE_MLP_NORM, Q_NORM, ROUTER, L, Llama

MLP = L + "mlp."
PER_EXPERT = MLP + "experts.{e}."
FUSED_GATE_UP = MLP + "experts.gate_up_proj"  # [n_experts, 2*d_expert, d_model]
FUSED_DOWN = MLP + "experts.down_proj"  # [n_experts, d_model, d_expert]
SHARED_GATE = MLP + "shared_expert_gate.weight"  # Qwen2-MoE: [1, d_model]
SHARED_EXPERTS = MLP + "shared_experts."  # DeepSeek, GLM-4-MoE: n_shared_experts fused into one MLP
QWEN_SHARED = MLP + "shared_expert."


def _experts_transposed(cfg, w: np.ndarray) -> np.ndarray:
    """Fused [n_experts, out, in] -> [n_experts, in, out], each expert like a Linear's `transpose`."""
    return np.ascontiguousarray(np.swapaxes(w, -1, -2))


def _fused_half(part: int):
    """Gate (0) or up (1) of a fused gate_up_proj [n_experts, 2*d_expert, d_model] -> [n_experts, d_model, d_expert]."""
    def run(cfg, w):
        half = w.shape[-2] // 2
        return _experts_transposed(cfg, w[..., part * half:(part + 1) * half, :])
    run.__name__ = f"fused_half({part})"
    return run


def per_expert_rules(prefix: str = PER_EXPERT) -> dict:
    """Experts stored one Linear each, `{e}` the expert: gate_proj, up_proj [d_expert, d_model], down_proj."""
    return {
        "blocks.{l}.mlp.experts.W_gate": (prefix + "gate_proj.weight", transpose),  # each [d_expert, d_model]
        "blocks.{l}.mlp.experts.W_in": (prefix + "up_proj.weight", transpose),
        "blocks.{l}.mlp.experts.W_out": (prefix + "down_proj.weight", transpose),  # each [d_model, d_expert]
    }


FUSED_EXPERT_RULES = {
    "blocks.{l}.mlp.experts.W_gate": (FUSED_GATE_UP, _fused_half(0)),
    "blocks.{l}.mlp.experts.W_in": (FUSED_GATE_UP, _fused_half(1)),
    "blocks.{l}.mlp.experts.W_out": (FUSED_DOWN, _experts_transposed),
}


def shared_rules(prefix: str) -> dict:
    """A shared expert: one gated MLP every token goes through (as Linear [out, in])."""
    return {
        "blocks.{l}.mlp.shared.W_gate": (prefix + "gate_proj.weight", transpose),  # [d_shared, d_model]
        "blocks.{l}.mlp.shared.W_in": (prefix + "up_proj.weight", transpose),
        "blocks.{l}.mlp.shared.W_out": (prefix + "down_proj.weight", transpose),  # [d_model, d_shared]
    }


def with_stored_experts(table: Table, tensors: Tensors) -> Table:
    """The table with the fused expert rows in place of the per-expert ones when experts are stored fused."""
    if not tensors.count_layers(FUSED_GATE_UP):
        return table
    return replace(table, rules={**table.rules, **FUSED_EXPERT_RULES})


def moe_layers(tensors: Tensors, n_layers: int) -> tuple[int, ...]:
    """The layers that have a router, ascending."""
    return tuple(l for l in range(n_layers) if tensors.has(ROUTER, l))


def infer_experts(tensors: Tensors, n_layers: int) -> dict:
    """n_experts and d_expert read off the first MoE layer's router and gate (per-expert or fused)."""
    layers = moe_layers(tensors, n_layers)
    if not layers:
        return {}
    router = tensors.shape(ROUTER, layers[0])
    gate = tensors.shape(PER_EXPERT.replace("{e}", "0") + "gate_proj.weight", layers[0])
    fused = tensors.shape(FUSED_GATE_UP, layers[0])
    d_expert = gate[0] if gate else (fused[-2] // 2 if fused else None)
    return {"n_experts": router[0] if router else None, "d_expert": d_expert}


def moe_facts(cfg: ModelConfig, tensors: Tensors) -> ModelConfig:
    """cfg's moe_layers (None when every layer has experts) and d_expert (d_mlp when config says only that)."""
    layers = moe_layers(tensors, cfg.n_layers or 0)
    every = len(layers) == (cfg.n_layers or 0)
    return replace(cfg, moe_layers=None if every else layers, d_expert=cfg.d_expert or cfg.d_mlp)


class StoredExperts:
    """Mixin for a family whose MoE layers store Qwen-MoE's experts (per expert, or fused as transformers 5
    keeps them): the table picks the stored form, and n_experts, d_expert and moe_layers are read off the
    shapes. `class FlexOlmo(StoredExperts, Olmo2)`: these run first and hand on to the other parent."""

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        return with_stored_experts(super().rules_for(cfg, tensors), tensors)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        return {**super().infer(tensors), **infer_experts(tensors, cls.count_layers(tensors))}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        return moe_facts(super().facts(cfg, hf, tensors), tensors)


_DENSE_OR_ROUTED = {**Llama.rules,  # dense MLP rows stay: layers without experts keep them
                    "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
                    **per_expert_rules()}


@register
class Qwen2Moe(StoredExperts, Llama):
    """Like Qwen2 (q, k, v biases), with experts and a sigmoid-gated shared expert in place of the MLP."""
    arch = "qwen2_moe"
    model_types = ("qwen2_moe",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              ROUTER, SHARED_GATE),
                    forbids=(Q_NORM,))
    rules = {
        **_DENSE_OR_ROUTED,
        **shared_rules(QWEN_SHARED),
        "blocks.{l}.mlp.shared.W_router": (SHARED_GATE, transpose),  # [1, d_model]
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        shared = tensors.count_layers(QWEN_SHARED + "gate_proj.weight")  # one, of shared_expert_intermediate_size
        return replace(cfg, n_shared_experts=1) if shared else cfg


@register
class Qwen3Moe(Qwen2Moe):
    """Like Qwen2-MoE, minus the shared expert and the q/k/v biases, plus Qwen3's per-head q/k RMSNorm.

    OLMoE stores exactly these names with its q/k norm over the whole projection ([n_heads * d_head]): the
    norm's length decides cfg.qk_norm, so an OLMoE checkpoint without config.json is still read right."""
    arch = "qwen3_moe"
    model_types = ("qwen3_moe",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              L + "post_attention_layernorm.weight", Q_NORM, ROUTER),
                    # Inkling stores these names too, beside short convolutions on k and v and relative logits
                    forbids=(SHARED_GATE, SHARED_EXPERTS + "gate_proj.weight", PRE_MLP_NORM,
                             ATTN + "k_sconv.conv1d.weight"))
    rules = {
        **_DENSE_OR_ROUTED,
        "blocks.{l}.attn.q_norm.w": (Q_NORM, same),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", same),
    }
    # OLMoE's: one norm over the whole projection, split per head like W_Q ([n_heads, d_head])
    PROJECTION_NORMS = {"blocks.{l}.attn.q_norm.w": (Q_NORM, Llama.rules["blocks.{l}.attn.W_Q"][1]),
                        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", Llama.rules["blocks.{l}.attn.W_K"][1])}

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        return replace(table, rules={**table.rules, **cls.PROJECTION_NORMS}) if cfg.qk_norm == "projection" else table

    @classmethod
    def stored_d_head(cls, tensors: Tensors) -> int | None:
        norm = first_shape(tensors, Q_NORM)  # None when no layer has q_norm (a layout matched without it)
        return None if not norm or _norm_spans_projection(tensors) else norm[0]

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        return replace(cfg, qk_norm="projection" if _norm_spans_projection(tensors) else "head")


def first_shape(tensors: Tensors, template: str) -> tuple[int, ...] | None:
    """The shape of a per-layer template in the first layer that stores it: hybrid models (Lara-Mini) have
    attention in some layers only, so layer 0 may lack it."""
    return next((s for l in range(tensors.count_layers(template)) if (s := tensors.shape(template, l))), None)


def _norm_spans_projection(tensors: Tensors) -> bool:
    """Whether q_norm is as long as q_proj's output (one norm over every head: OLMoE), not one head's."""
    norm, q = first_shape(tensors, Q_NORM), first_shape(tensors, ATTN + "q_proj.weight")
    return bool(norm and q and norm[0] == q[0])
