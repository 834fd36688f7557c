"""Aria's text decoder (aria_text): Llama's attention, routed experts stored [in, out] and shared experts beside them.

    w = softmax of the top moe_topk logits among themselves;  mlp(x) = sum_top w_e * expert_e(x) + shared(x)
Experts are stored fused in the schema's own [in, out] orientation, expert index first: `mlp.experts.fc1.weight`
[n_experts, d_model, 2*d_expert] (gate the first half of the last axis, up the second; always SiLU) and
`fc2.weight` [n_experts, d_expert, d_model] (transformers' in-memory names: experts.gate_up_proj, down_proj).
The moe_num_shared_experts shared experts are one fused MLP under DeepSeek's mlp.shared_experts names.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .llama import ATTN, L, Llama
from .llama4 import _half
from .qwen_moe import SHARED_EXPERTS, shared_rules

EXPERTS, ROUTER = L + "mlp.experts.", L + "mlp.router.weight"
SAVED = {"gate_up": EXPERTS + "fc1.weight", "down": EXPERTS + "fc2.weight"}
IN_MEMORY = {"gate_up": EXPERTS + "gate_up_proj", "down": EXPERTS + "down_proj"}


def _expert_rules(names: dict) -> dict:
    return {"blocks.{l}.mlp.experts.W_gate": (names["gate_up"], _half(0)),  # [n, d_model, 2*d_expert]
            "blocks.{l}.mlp.experts.W_in": (names["gate_up"], _half(1)),
            "blocks.{l}.mlp.experts.W_out": (names["down"], same)}  # [n, d_expert, d_model]


def _stored(tensors: Tensors) -> dict:
    return SAVED if tensors.count_layers(SAVED["gate_up"]) else IN_MEMORY


@register
class AriaText(Llama):
    """Like Llama, with routed experts stored [in, out] and shared experts in place of the MLP."""
    arch = "aria_text"
    model_types = ("aria_text",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              ROUTER, SHARED_EXPERTS + "gate_proj.weight"))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if ".mlp." not in slot},
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
        **_expert_rules(SAVED),
        **shared_rules(SHARED_EXPERTS),  # [n_shared*d_expert, d_model]
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        return replace(table, rules={**table.rules, **_expert_rules(_stored(tensors))})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        router, down = tensors.shape(ROUTER), tensors.shape(_stored(tensors)["down"])
        return {**super().infer(tensors), "n_experts": router[0] if router else None,
                "d_expert": down[1] if down else None, "d_mlp": down[1] if down else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        down = tensors.shape(_stored(tensors)["down"])
        shared = tensors.shape(SHARED_EXPERTS + "gate_proj.weight")
        d_expert = down[1] if down else cfg.d_mlp
        n_shared = hf.get("moe_num_shared_experts") or (shared[0] // d_expert if shared and d_expert else 0)
        return replace(cfg, d_expert=d_expert, n_shared_experts=int(n_shared)).with_notes(Note(
            "maths", "Routing: the top n_experts_per_token logits are softmaxed among themselves; routed experts "
                     "are always SiLU-gated, the shared experts use hidden_act."))
