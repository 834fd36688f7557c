"""Mixtral: Llama's attention, and a sparse mixture of experts in place of the MLP.

    logits = x @ W_router                      [n_experts]; the top n_experts_per_token are kept,
    w = softmax(logits)[top] / sum(...)        their softmax renormalised to sum to one
    mlp(x) = sum_top w_e * (silu(x @ W_gate[e]) * (x @ W_in[e])) @ W_out[e]
Stored per expert as `block_sparse_moe.experts.{e}.w1/w2/w3` (gate, down, up) as torch Linear [out, in];
the schema stacks them with the expert index first (`{e}` in a source template).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import transpose
from .llama import ATTN, L, Llama

MOE = L + "block_sparse_moe."
EXPERT = MOE + "experts.{e}."
_DENSE_MLP = ("blocks.{l}.mlp.W_gate", "blocks.{l}.mlp.W_in", "blocks.{l}.mlp.W_out")


@register
class Mixtral(Llama):
    arch = "mixtral"
    model_types = ("mixtral",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"),
                              L + "input_layernorm.weight", MOE + "gate.weight"))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if slot not in _DENSE_MLP},
        "blocks.{l}.mlp.W_router": (MOE + "gate.weight", transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.experts.W_gate": (EXPERT + "w1.weight", transpose),  # each [d_expert, d_model]
        "blocks.{l}.mlp.experts.W_in": (EXPERT + "w3.weight", transpose),
        "blocks.{l}.mlp.experts.W_out": (EXPERT + "w2.weight", transpose),  # each [d_model, d_expert]
    }
    defaults = {**Llama.defaults, "n_experts_per_token": 2}
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        out = super().infer(tensors)
        router, w1 = tensors.shape(MOE + "gate.weight"), tensors.shape(EXPERT.replace("{e}", "0") + "w1.weight")
        return {**out, "n_experts": router[0] if router else None, "d_mlp": w1[0] if w1 else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        window = hf.get("sliding_window")
        return replace(cfg, d_expert=cfg.d_expert or cfg.d_mlp, sliding_window=int(window) if window else None)
