"""GLM (GLM-4 0414's predecessor, "glm") and GLM-4 ("glm4"): Llama's attention names with q, k, v biases, and
Phi-3's fused gate_up_proj.

gate_up_proj is [2*d_mlp, d_model], gate first (`gate, up = chunk(2)`; `down(up * silu(gate))`). Rotary turns
only the first partial_rotary_factor * d_head dims of each head (0.5), as interleaved pairs: no weight changes.
GLM-4 adds a norm on each sublayer's output before it joins the residual (post_self_attn_layernorm,
post_mlp_layernorm): norms before and after both sublayers (cfg.norm_position = "sandwich").
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, rows, same, transpose
from .llama import L, Llama

GATE_UP = L + "mlp.gate_up_proj.weight"
POST_ATTN = L + "post_self_attn_layernorm.weight"  # GLM-4
POST_MLP = L + "post_mlp_layernorm.weight"
_GATED = ("blocks.{l}.mlp.W_gate", "blocks.{l}.mlp.W_in")


@register
class Glm(Llama):
    """Like Llama, with gate and up fused in gate_up_proj (gate first) and partial rotary."""
    arch = "glm"
    model_types = ("glm",)
    layout = Layout(requires=(*(r for r in Llama.layout.requires if "gate_proj" not in r), GATE_UP),
                    forbids=(POST_ATTN,))
    rules = {
        **{s: r for s, r in Llama.rules.items() if s not in _GATED},
        "blocks.{l}.mlp.W_gate": (GATE_UP, chain(rows(0, halves), transpose)),  # (d_model, d_mlp)
        "blocks.{l}.mlp.W_in": (GATE_UP, chain(rows(1, halves), transpose)),
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        gate_up = tensors.shape(GATE_UP)
        return {**super().infer(tensors), "d_mlp": gate_up[0] // 2 if gate_up else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        factor = hf.get("partial_rotary_factor", rope.get("partial_rotary_factor", 0.5))  # 0.5: GLM's own
        return replace(cfg, rotary_dim=int(cfg.d_head * factor)) if cfg.d_head else cfg


@register
class Glm4(Glm):
    """Like GLM, plus a norm on the attention output and on the MLP output."""
    arch = "glm4"
    model_types = ("glm4",)
    layout = Layout(requires=(*Glm.layout.requires, POST_ATTN, POST_MLP))
    rules = {
        **Glm.rules,
        "blocks.{l}.ln1_post.w": (POST_ATTN, same),  # [d_model]
        "blocks.{l}.ln2_post.w": (POST_MLP, same),
    }
    defaults = {**Glm.defaults, "norm_position": "sandwich"}
