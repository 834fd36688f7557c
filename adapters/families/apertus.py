"""Apertus (Swiss AI): Llama's attention with Qwen3's per-head q/k RMSNorm (before rotary), its norms named
attention_layernorm / feedforward_layernorm, and an ungated up -> xIELU -> down MLP.

xIELU is an activation with learned scalars in every layer (mlp.act_fn.alpha_p, alpha_n, beta, eps): a piecewise
x -> alpha_p x^2 + beta x (x > 0), alpha_n (expm1(min(x, eps)) - x) + beta x (x <= 0), with alpha_p, alpha_n
stored before a softplus. They shape the MLP's nonlinearity, not a weight matrix: listed as ignored, and said in
a note, so cfg.act alone does not describe the MLP.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .llama import ATTN, L, Q_NORM, Llama
from .qwen3 import Qwen3

ATTN_NORM, MLP_NORM = L + "attention_layernorm.weight", L + "feedforward_layernorm.weight"
_KEPT = ("embed.W_E", "ln_final.w", "unembed.W_U", *(f"blocks.{{l}}.attn.W_{x}" for x in "QKVO"),
         "blocks.{l}.attn.q_norm.w", "blocks.{l}.attn.k_norm.w")


@register
class Apertus(Qwen3):
    """Like Qwen3, with its own norm names and no gate: up_proj -> xIELU -> down_proj."""
    arch = "apertus"
    model_types = ("apertus", "apertus1p5_text")  # Apertus 1.5's text model stores the same names
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), ATTN_NORM, MLP_NORM,
                              L + "mlp.up_proj.weight"),
                    forbids=(L + "mlp.gate_proj.weight",))
    defaults = {**Llama.defaults, "gated_mlp": False, "act": "xielu"}
    rules = {
        **{slot: rule for slot, rule in Qwen3.rules.items() if slot in _KEPT},
        "blocks.{l}.ln1.w": (ATTN_NORM, same),
        "blocks.{l}.ln2.w": (MLP_NORM, same),
        "blocks.{l}.mlp.W_in": (L + "mlp.up_proj.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_out": (L + "mlp.down_proj.weight", transpose),  # [d_model, d_mlp]
    }
    ignored = {
        **Llama.ignored,
        r"mlp\.act_fn\.(alpha_p|alpha_n|beta|eps)$": ("mlp", "xIELU's learned scalars in this layer: they shape "
                                                             "the activation, not a weight matrix"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        up = tensors.shape(L + "mlp.up_proj.weight")
        return {**super().infer(tensors), "d_mlp": up[0] if up else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), qk_norm="head" if tensors.has(Q_NORM) else None)
        if tensors.has(L + "mlp.act_fn.alpha_p"):
            cfg = cfg.with_notes(Note("maths", "The MLP's activation is xIELU with learned scalars per layer "
                                               "(mlp.act_fn.alpha_p, alpha_n, beta, eps), read as raw tensors."))
        return cfg
