"""MiniMax (MiniMax-Text-01): Mixtral's softmax-attention layers and experts, between lightning (linear) attention
layers, with the residual taken after each norm and scaled.

    h = input_layernorm(x);        x = alpha_attn * h + beta_attn * attn(h)
    h = post_attention_layernorm(x); x = alpha_mlp * h + beta_mlp * moe(h)
(alpha, beta: config's full_attn_/linear_attn_/mlp_ alpha and beta factors). The layers config's layer_types names
"linear_attention" store `self_attn.qkv_proj`, `output_gate`, `norm`, `out_proj` and decay buffers: a linear
recurrence with no per-head softmax pattern, so they are listed as ignored and those layers have no attn.* slots.
"""
from __future__ import annotations

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .llama import ATTN, L
from .mixtral import Mixtral

GATE = ATTN + "output_gate.weight"  # lightning attention only


@register
class MiniMax(Mixtral):
    """Like Mixtral, with lightning-attention layers between the softmax ones and scaled post-norm residuals."""
    arch = "minimax"
    model_types = ("minimax",)
    layer_anchor = L + "input_layernorm.weight"  # every layer has it; q_proj only the softmax ones
    layout = Layout(requires=(*Mixtral.layout.requires, GATE))
    ignored = {**Mixtral.ignored, r"self_attn\.(qkv_proj|output_gate|norm|out_proj)\.weight$": (
        "attention", "a lightning (linear) attention layer: a decayed linear recurrence with no softmax pattern, "
                     "outside the per-head schema"),
        r"self_attn\.(slope_rate|query_decay|key_decay|diagonal_decay)$": (
        "buffer", "lightning attention's decay rates, computed from the head count (not learned)")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        linear = [l for l in range(cfg.n_layers or 0) if tensors.has(GATE, l)]
        factors = {k: hf.get(k, 1) for k in ("full_attn_alpha_factor", "full_attn_beta_factor",
                                             "linear_attn_alpha_factor", "linear_attn_beta_factor",
                                             "mlp_alpha_factor", "mlp_beta_factor")}
        return cfg.with_notes(
            Note("maths", f"Layers {linear} are lightning (linear) attention, outside the per-head schema; the "
                          "other layers are softmax attention."),
            Note("maths", "Each sublayer's residual is its norm's output, not its input: x = alpha * norm(x) + "
                          "beta * sublayer(norm(x)), with " + ", ".join(f"{k} = {v}" for k, v in factors.items())
                          + "."))
