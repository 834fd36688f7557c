"""StarCoder2: Llama's attention names, with biases on every projection, LayerNorm (with bias) and a plain
c_fc -> gelu -> c_proj MLP instead of the gated one. Grouped-query attention, rotary."""
from __future__ import annotations

from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .llama import L, Llama

_GATED = ("blocks.{l}.mlp.W_gate", "blocks.{l}.mlp.W_in", "blocks.{l}.mlp.W_out")


@register
class Starcoder2(Llama):
    """Like Llama (with attention_bias), minus the gate: c_fc/c_proj with biases, and LayerNorm."""
    arch = "starcoder2"
    model_types = ("starcoder2",)
    layout = Layout(requires=(*(r for r in Llama.layout.requires if "gate_proj" not in r), L + "mlp.c_fc.weight"))
    defaults = {**Llama.defaults, "norm": "layernorm", "gated_mlp": False, "act": "gelu_pytorch_tanh"}
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if slot not in _GATED},
        "blocks.{l}.ln1.b": (L + "input_layernorm.bias", same),
        "blocks.{l}.ln2.b": (L + "post_attention_layernorm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "mlp.c_fc.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "mlp.c_fc.bias", same),
        "blocks.{l}.mlp.W_out": (L + "mlp.c_proj.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "mlp.c_proj.bias", same),
        "ln_final.b": ("norm.bias", same),
    }
    KNOWN_HEADS = {3072: 24, 4608: 36, 6144: 48}  # StarCoder2 3B, 7B, 15B
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        fc = tensors.shape(L + "mlp.c_fc.weight")
        return {**super().infer(tensors), "d_mlp": fc[0] if fc else None}
