"""NanoChat (Karpathy): Llama's attention without biases, a plain fc1 -> relu2 -> fc2 MLP, and RMSNorms with no
weights anywhere: before each sublayer, on the embeddings, at the end, and on every query and key head.

The q/k norm runs after rotary; an RMSNorm without a weight commutes with rotary (a rotation keeps each head's
length), so it is the schema's per-head norm before rotary (cfg.qk_norm = "head_plain", no slot). Logits are
soft-capped (final_logit_softcapping).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import transpose
from .llama import ATTN, L, Llama

_KEPT = ("embed.W_E", "unembed.W_U", *(f"blocks.{{l}}.attn.W_{x}" for x in "QKVO"))


@register
class NanoChat(Llama):
    """Like Llama, minus every norm weight and the gate: fc1/fc2, and weightless q/k RMSNorm."""
    arch = "nanochat"
    model_types = ("nanochat",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "mlp.fc1.weight"),
                    forbids=(L + "input_layernorm.weight", L + "post_attention_layernorm.weight"))
    defaults = {**Llama.defaults, "gated_mlp": False, "act": "relu2"}
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if slot in _KEPT},
        "blocks.{l}.mlp.W_in": (L + "mlp.fc1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_out": (L + "mlp.fc2.weight", transpose),  # [d_model, d_mlp]
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        fc = tensors.shape(L + "mlp.fc1.weight")
        return {**super().infer(tensors), "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        cap = hf.get("final_logit_softcapping", 15.0 if not hf else None)  # NanoChat's default
        cfg = replace(cfg, qk_norm="head_plain", logit_softcap=float(cap) if cap else None)
        return cfg.with_notes(Note("maths", "Every norm is an RMSNorm without a weight, so none is stored; one also "
                                            "normalises the token embeddings before the first layer."))
