"""gpt-oss: Llama's attention (biased) with a learned sink per head, sliding-window layers, and biased experts.

    scores_h = q_h k_h^T / sqrt(d_head); pattern_h = exp(scores_h) / (sum exp(scores_h) + exp(sinks[h]))
The sink (attn.sinks, cfg.attn_sinks) is a logit in each head's softmax that attends to nothing. Layers
alternate sliding-window (cfg.sliding_window, cfg.sliding_layers from layer_types) and full attention.

    logits = x @ W_router + b_router; the top n_experts_per_token are kept and softmaxed among themselves
    gate, up = x @ W_gate[e] + b_gate[e], x @ W_in[e] + b_in[e]
    hidden = (clamp(up, -limit, limit) + 1) * g * sigmoid(alpha * g),  g = min(gate, limit)
Experts are stored fused in the schema's own [in, out] orientation, expert index first:
`mlp.experts.gate_up_proj` [n_experts, d_model, 2*d_expert] with gate and up INTERLEAVED on the last axis
(gate = [..., ::2], up = [..., 1::2]), `down_proj` [n_experts, d_expert, d_model], and their biases.
The Hub's release stores the expert weights MXFP4-quantized (`*_blocks` + `*_scales`): the checkpoint reader decodes
them to this same layout (adapters/quantized.py), so both releases are read by the same rules.
"""
from __future__ import annotations

import math
from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .gemma import sliding
from .llama import ATTN, L, Llama

EXPERTS = L + "mlp.experts."
ROUTER = L + "mlp.router."
SINKS = ATTN + "sinks"
_DENSE_MLP = ("blocks.{l}.mlp.W_gate", "blocks.{l}.mlp.W_in", "blocks.{l}.mlp.W_out")


def yarn_attention_factor(hf: dict) -> float:
    """The factor YaRN multiplies rotary's cos and sin by (so q.k of the rotated dims by its square); 1 without YaRN.
    As transformers computes it: attention_factor if given, else from the scaling factor and mscale(s)."""
    rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
    if not isinstance(rope, dict) or (rope.get("rope_type") or rope.get("type")) != "yarn":
        return 1.0
    if rope.get("attention_factor"):
        return float(rope["attention_factor"])
    factor = float(rope.get("factor") or 1.0)
    mscale = lambda m: 0.1 * m * math.log(factor) + 1.0 if factor > 1 else 1.0
    if rope.get("mscale") and rope.get("mscale_all_dim"):
        return mscale(rope["mscale"]) / mscale(rope["mscale_all_dim"])
    return mscale(1.0)


def _every_other(part: int):
    """Gate (0) or up (1) of gate and up interleaved on the last axis: [..., 2*d_expert] -> [..., d_expert]."""
    def run(cfg, w):
        return w[..., part::2].copy()
    run.__name__ = f"every_other({part})"
    return run


@register
class GptOss(Llama):
    """Like Llama with all four attention biases, plus per-head sinks and biased, interleaved, clamped experts."""
    arch = "gpt_oss"
    model_types = ("gpt_oss",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), SINKS,
                              ROUTER + "weight", L + "input_layernorm.weight"))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if slot not in _DENSE_MLP},
        "blocks.{l}.attn.sinks": (SINKS, same),  # [n_heads]
        "blocks.{l}.mlp.W_router": (ROUTER + "weight", transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.b_router": (ROUTER + "bias", same),
        "blocks.{l}.mlp.experts.W_gate": (EXPERTS + "gate_up_proj", _every_other(0)),  # [n, d_model, 2*d_expert]
        "blocks.{l}.mlp.experts.W_in": (EXPERTS + "gate_up_proj", _every_other(1)),
        "blocks.{l}.mlp.experts.b_gate": (EXPERTS + "gate_up_proj_bias", _every_other(0)),  # [n, 2*d_expert]
        "blocks.{l}.mlp.experts.b_in": (EXPERTS + "gate_up_proj_bias", _every_other(1)),
        "blocks.{l}.mlp.experts.W_out": (EXPERTS + "down_proj", same),  # [n, d_expert, d_model]
        "blocks.{l}.mlp.experts.b_out": (EXPERTS + "down_proj_bias", same),  # [n, d_model]
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        router, gate_up = tensors.shape(ROUTER + "weight"), tensors.shape(EXPERTS + "gate_up_proj_bias")
        d_expert = gate_up[-1] // 2 if gate_up else None
        return {**super().infer(tensors), "n_experts": router[0] if router else None, "d_expert": d_expert,
                "d_mlp": d_expert}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        yarn = yarn_attention_factor(hf)  # q and k are rotated in full: every score is scaled by its square
        if yarn != 1.0 and cfg.d_head:
            cfg = replace(cfg, attn_scale=yarn ** 2 / math.sqrt(cfg.d_head)).with_notes(Note(
                "maths", f"YaRN scales rotary's cos and sin by {yarn:.4g}, so attention scores are q.k times "
                         f"{yarn ** 2:.4g} / sqrt(d_head) (cfg.attn_scale)."))
        cfg = replace(cfg, attn_sinks=True, d_expert=cfg.d_expert or cfg.d_mlp, **sliding(hf),
                      glu_limit=float(hf.get("swiglu_limit", 7.0)), glu_alpha=float(hf.get("swiglu_alpha", 1.702)))
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: the expert GLU's clamp (7.0) and sigmoid scale "
                                                 "(1.702) are gpt-oss's released values; which layers use a "
                                                 "sliding window is not known."))
        return cfg
