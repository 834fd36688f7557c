"""OLMo2: Llama's projections, but the norms sit on each sublayer's output and q/k are normed whole.

    h = h + post_attention_layernorm(attn(h))          no norm before attention or the MLP
    h = h + post_feedforward_layernorm(mlp(h))          (cfg.norm_position = "output")
    q = q_norm(q_proj(x)), k = k_norm(k_proj(x))       one RMSNorm over all heads' dims at once
q_norm is [n_heads * d_head] and k_norm [n_kv_heads * d_head] as stored; the schema splits them per head
([n_heads, d_head]) like W_Q, with cfg.qk_norm = "projection" saying the RMS runs over every head together.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in
from .gemma import POST_MLP_NORM, sliding
from .llama import ATTN, L, PRE_MLP_NORM, Q_NORM, ROUTER, Llama

POST_ATTN_NORM = L + "post_attention_layernorm.weight"
_INPUT_NORMS = ("blocks.{l}.ln1.w", "blocks.{l}.ln2.w")


@register
class Olmo2(Llama):
    """Like Llama, minus the input norms, plus output norms and q/k RMSNorm over the whole projection."""
    arch = "olmo2"
    model_types = ("olmo2", "olmo3")  # OLMo3: OLMo2's tensors, sliding-window layers (a config change)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), Q_NORM, POST_ATTN_NORM,
                              POST_MLP_NORM, L + "mlp.gate_proj.weight"),
                    forbids=(L + "input_layernorm.weight", PRE_MLP_NORM, ROUTER))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if slot not in _INPUT_NORMS},
        "blocks.{l}.ln1_post.w": (POST_ATTN_NORM, Llama.rules["blocks.{l}.ln1.w"][1]),  # [d_model]
        "blocks.{l}.ln2_post.w": (POST_MLP_NORM, Llama.rules["blocks.{l}.ln1.w"][1]),
        "blocks.{l}.attn.q_norm.w": (Q_NORM, heads_in()),  # [n_heads*d_head] -> [n_heads, d_head]
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", heads_in("n_kv_heads")),
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        return replace(cfg, norm_position="output", qk_norm="projection", **sliding(hf))  # OLMo3 has windows
