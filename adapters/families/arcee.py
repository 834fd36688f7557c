"""Arcee (AFM) and Jais2: Llama's attention and norms, with a plain MLP that has no gate.

    mlp(x) = down_proj(act(up_proj(x)))          act = relu2 (ReLU squared) in both
Jais2 adds biases everywhere (attention, MLP, norms) and uses LayerNorm instead of RMSNorm; its
input_layernorm.bias tells it apart without config.json.
"""
from __future__ import annotations

from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .llama import L, PRE_MLP_NORM, Q_NORM, ROUTER, Llama

GATE = L + "mlp.gate_proj.weight"
UP = L + "mlp.up_proj.weight"
NORM_BIAS = L + "input_layernorm.bias"  # Jais2's LayerNorm


@register
class Arcee(Llama):
    """Like Llama, minus the gate."""
    arch = "arcee"
    model_types = ("arcee",)
    layout = Layout(requires=(*(r for r in Llama.layout.requires if r != GATE), UP),
                    forbids=(GATE, Q_NORM, PRE_MLP_NORM, ROUTER, NORM_BIAS))
    defaults = {**Llama.defaults, "gated_mlp": False, "act": "relu2"}
    rules = {s: r for s, r in Llama.rules.items() if s != "blocks.{l}.mlp.W_gate"}
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        up = tensors.shape(UP)
        return {**super().infer(tensors), "d_mlp": up[0] if up else None}


@register
class Jais2(Arcee):
    """Like Arcee, with biases on every projection and LayerNorm (with bias) for every norm."""
    arch = "jais2"
    model_types = ("jais2",)
    layout = Layout(requires=(*Arcee.layout.requires, NORM_BIAS), forbids=(GATE, Q_NORM, PRE_MLP_NORM, ROUTER))
    defaults = {**Arcee.defaults, "norm": "layernorm"}
    rules = {
        **Arcee.rules,
        "blocks.{l}.ln1.b": (NORM_BIAS, same),
        "blocks.{l}.ln2.b": (L + "post_attention_layernorm.bias", same),
        "blocks.{l}.mlp.b_in": (L + "mlp.up_proj.bias", same),
        "blocks.{l}.mlp.b_out": (L + "mlp.down_proj.bias", same),
        "ln_final.b": ("norm.bias", same),
    }
