"""Granite-MoE (granitemoe, granitemoeshared, granitemoe_swa): Granite's attention and multipliers, with experts.

    logits = x @ W_router;  w = softmax(top n_experts_per_token logits)      (softmax over the chosen ones only)
    mlp(x) = sum_top w_e * (silu(x @ W_gate[e]) * (x @ W_in[e])) @ W_out[e]  (+ shared(x), GraniteMoeShared)
Experts are fused, expert index first, as torch Linear [out, in]: gate and up stacked on the rows (gate first).
Saved checkpoints name them `block_sparse_moe.input_linear` [n_experts, 2*d_expert, d_model], `output_linear`
[n_experts, d_model, d_expert] and the router `router.layer`; transformers' in-memory names (what granitemoe_swa
saves) are `experts.gate_up_proj`, `experts.down_proj` and `router.weight`. `rules_for` takes whichever is stored.
The shared expert (`shared_mlp.input_linear` [2*d_shared, d_model], gate rows first) runs outside the block.
GraniteMoE-SWA adds gpt-oss's per-head sinks, sliding-window layers and a rotary base per layer (0: no rotary).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .gemma import sliding
from .granite import Granite
from .llama import ATTN, L, Llama
from .qwen_moe import _experts_transposed, _fused_half

MOE = L + "block_sparse_moe."
SAVED = {"router": MOE + "router.layer.weight", "gate_up": MOE + "input_linear.weight",
         "down": MOE + "output_linear.weight"}
IN_MEMORY = {"router": MOE + "router.weight", "gate_up": MOE + "experts.gate_up_proj",
             "down": MOE + "experts.down_proj"}
SHARED = L + "shared_mlp."
SINKS = ATTN + "sinks"


def _moe_rules(names: dict) -> dict:
    return {
        "blocks.{l}.mlp.W_router": (names["router"], transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.experts.W_gate": (names["gate_up"], _fused_half(0)),  # [n, 2*d_expert, d_model]
        "blocks.{l}.mlp.experts.W_in": (names["gate_up"], _fused_half(1)),
        "blocks.{l}.mlp.experts.W_out": (names["down"], _experts_transposed),  # [n, d_model, d_expert]
    }


def _shared_half(part: int):
    """Gate (0) or up (1) rows of shared_mlp.input_linear [2*d_shared, d_model] -> [d_model, d_shared]."""
    def run(cfg, w):
        half = w.shape[0] // 2
        return np.ascontiguousarray(w[part * half:(part + 1) * half].T)
    run.__name__ = f"shared_half({part})"
    return run


def _stored(tensors: Tensors) -> dict:
    return SAVED if tensors.count_layers(SAVED["gate_up"]) else IN_MEMORY


@register
class GraniteMoe(Granite):
    """Like Granite, with fused experts in place of the MLP (and an optional shared expert beside them)."""
    arch = "granitemoe"
    model_types = ("granitemoe", "granitemoeshared")  # granitemoeshared: the same, plus shared_mlp
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              MOE + "router.layer.weight"),
                    forbids=(SINKS,))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if ".mlp." not in slot},
        **_moe_rules(SAVED),
        "blocks.{l}.mlp.shared.W_gate": (SHARED + "input_linear.weight", _shared_half(0)),  # [2*d_shared, d_model]
        "blocks.{l}.mlp.shared.W_in": (SHARED + "input_linear.weight", _shared_half(1)),
        "blocks.{l}.mlp.shared.W_out": (SHARED + "output_linear.weight", transpose),  # [d_model, d_shared]
    }

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        return replace(table, rules={**table.rules, **_moe_rules(_stored(tensors))})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        names = _stored(tensors)
        router, down = tensors.shape(names["router"]), tensors.shape(names["down"])
        return {**super().infer(tensors), "n_experts": router[0] if router else None,
                "d_expert": down[-1] if down else None, "d_mlp": down[-1] if down else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        down = tensors.shape(_stored(tensors)["down"])
        cfg = replace(cfg, d_expert=down[-1] if down else cfg.d_mlp,
                      n_shared_experts=1 if tensors.has(SHARED + "input_linear.weight") else 0)
        return cfg.with_notes(Note("maths", "Routing: the top n_experts_per_token logits are softmaxed among "
                                            "themselves (not a softmax over every expert)."))


@register
class GraniteMoeSwa(GraniteMoe):
    """Like Granite-MoE, plus per-head sinks, sliding-window layers and a rotary base per layer."""
    arch = "granitemoe_swa"
    model_types = ("granitemoe_swa",)
    layout = Layout(requires=(*GraniteMoe.layout.requires[:-1], IN_MEMORY["router"], SINKS))  # gpt-oss: under mlp.
    rules = {**GraniteMoe.rules, "blocks.{l}.attn.sinks": (SINKS, same)}  # [n_heads]

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), attn_sinks=True, **sliding(hf))
        thetas = hf.get("layer_rope_theta") or []
        nope = [l for l, theta in enumerate(thetas) if not theta]
        if len(set(t for t in thetas if t)) > 1 or nope:
            cfg = cfg.with_notes(Note("positions", f"Rotary bases differ per layer (layer_rope_theta = {thetas}); "
                                                   f"layers {nope} have no rotary."))
        return cfg
