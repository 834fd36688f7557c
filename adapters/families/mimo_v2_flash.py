"""MiMo-V2-Flash (mimo_v2_flash): Llama-like attention whose values are wider than its queries and keys, a
learned sink per head in its sliding-window layers, and DeepSeek-V3's sigmoid router (no shared experts).

    q_h, k_h: d_head wide;  v_h: d_head_v wide, times value_scale (attention_value_scale)
    W_O [n_heads, d_head_v, d_model]
    sliding-window layers (layer_types): twice the full layers' key/value heads, and attention_sink_bias
                                          [n_heads] -> attn.sinks (a logit in each head's softmax denominator)
The schema holds one n_kv_heads for every layer: it is the sliding-window layers' count, and a full-attention
layer's W_K / W_V repeat each of its stored heads twice, in order. Grouped-query attention reads query head h
against kv head h // (n_heads / n_kv_heads), so the repeated heads give exactly the model's keys and values.
Experts are Qwen-MoE's names (per expert, or fused as transformers keeps them in memory); mlp_layer_types
marks the dense layers (Llama's MLP).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .deepseek import SELECT_BIAS
from .llama import ATTN, ROUTER, L, Llama
from .qwen_moe import Qwen2Moe, first_shape, per_expert_rules

SINKS = ATTN + "attention_sink_bias"  # [n_heads], sliding-window layers only
Q, K, V, O = (ATTN + p + "_proj.weight" for p in "qkvo")


def _kv_heads(width: str):
    """k_proj / v_proj [stored*d, d_model] -> [n_kv_heads, d_model, d] (a bias [stored*d] -> [n_kv_heads, d]),
    each stored head repeated n_kv_heads / stored times in order; d is cfg.d_head or cfg.d_head_v."""
    def run(cfg, w):
        d = getattr(cfg, width)
        per_head = w.reshape(w.shape[0] // d, d, *w.shape[1:])  # (stored, d[, d_model])
        per_head = np.repeat(per_head, cfg.n_kv_heads // per_head.shape[0], axis=0)
        return np.ascontiguousarray(per_head if w.ndim == 1 else per_head.transpose(0, 2, 1))
    run.__name__ = f"kv_heads({width})"
    return run


def _heads_out_v(cfg, w: np.ndarray) -> np.ndarray:
    """o_proj [d_model, n_heads*d_head_v] -> W_O [n_heads, d_head_v, d_model]."""
    return np.ascontiguousarray(w.T.reshape(cfg.n_heads, cfg.d_head_v, w.shape[0]))


@register
class MimoV2Flash(Qwen2Moe):
    """Like Qwen2-MoE's experts with DeepSeek-V3's router; values d_head_v wide, sinks in windowed layers."""
    arch = "mimo_v2_flash"
    model_types = ("mimo_v2_flash",)
    layout = Layout(requires=(Llama.anchor, Q, K, V, O, L + "input_layernorm.weight", SINKS))
    rules = {
        **Llama.rules,  # embeddings, norms, W_Q / b_Q, the dense layers' MLP
        "blocks.{l}.attn.W_K": (K, _kv_heads("d_head")),  # [stored*d_head, d_model]
        "blocks.{l}.attn.W_V": (V, _kv_heads("d_head_v")),  # [stored*d_head_v, d_model]
        "blocks.{l}.attn.b_K": (ATTN + "k_proj.bias", _kv_heads("d_head")),  # when attention_bias
        "blocks.{l}.attn.b_V": (ATTN + "v_proj.bias", _kv_heads("d_head_v")),
        "blocks.{l}.attn.W_O": (O, _heads_out_v),  # [d_model, n_heads*d_head_v]
        "blocks.{l}.attn.sinks": (SINKS, same),  # [n_heads]
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.router_select_bias": (SELECT_BIAS, same),  # [n_experts]
        **per_expert_rules(),
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """The sink's length is n_heads; q_proj's rows then give d_head, o_proj's columns d_head_v."""
        out = super().infer(tensors)
        sinks, q, o = first_shape(tensors, SINKS), tensors.shape(Q), tensors.shape(O)
        if sinks and q and o:
            out.update(n_heads=sinks[0], d_head=q[0] // sinks[0], d_head_v=o[1] // sinks[0])
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q = tensors.shape(Q)
        if not q or q[0] % n_heads:
            raise ValueError(f"q_proj has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
        return q[0] // n_heads, max(_kv_rows(tensors, cls.count_layers(tensors))) // (q[0] // n_heads)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        n_layers = cfg.n_layers or 0
        windowed = tuple(l for l in range(n_layers) if tensors.has(SINKS, l))
        o = tensors.shape(O)
        d_head_v = o[1] // cfg.n_heads if o and cfg.n_heads else cfg.d_head_v
        rope = hf.get("rope_parameters") if isinstance(hf.get("rope_parameters"), dict) else {}
        full = rope.get("full_attention") if isinstance(rope.get("full_attention"), dict) else rope
        factor = float(full.get("partial_rotary_factor", 0.334))
        window = hf.get("sliding_window")
        windowed_rope = rope.get("sliding_attention") if isinstance(rope.get("sliding_attention"), dict) else {}
        if windowed_rope.get("rope_theta") and windowed_rope.get("rope_theta") != full.get("rope_theta"):
            cfg = cfg.with_notes(Note("positions", f"Rotary base {full.get('rope_theta')} in full-attention layers, "
                                                   f"{windowed_rope['rope_theta']} in sliding-window layers."))
        if cfg.d_head:  # config's num_key_value_heads is the full layers' count; the windowed layers have twice it
            cfg = replace(cfg, n_kv_heads=max(_kv_rows(tensors, n_layers)) // cfg.d_head or cfg.n_kv_heads)
        cfg = replace(cfg, attn_sinks=bool(windowed), sliding_layers=windowed, d_head_v=d_head_v,
                      sliding_window=int(window) if window else None,
                      value_scale=float(hf.get("attention_value_scale", 0.707)),
                      rotary_dim=int(cfg.d_head * factor) if cfg.d_head else None,
                      rotary_base=full.get("rope_theta", cfg.rotary_base))
        if cfg.d_head and cfg.n_kv_heads:
            stored = min(_kv_rows(tensors, n_layers)) // cfg.d_head
            if stored != cfg.n_kv_heads:
                cfg = cfg.with_notes(Note("layout", (
                    f"Full-attention layers store {stored} key/value heads, sliding-window layers {cfg.n_kv_heads}: "
                    f"the full layers' W_K and W_V show each of their heads {cfg.n_kv_heads // stored} times, in order, "
                    "which is exactly how the model's query heads share them.")))
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: values are scaled by MiMo-V2-Flash's usual 0.707 "
                                                 "and rotary covers 0.334 of each head; the window size is unknown."))
        return cfg


def _kv_rows(tensors: Tensors, n_layers: int) -> list[int]:
    """k_proj's rows in every layer that stores it (windowed layers have twice the full layers' heads)."""
    return [s[0] for l in range(n_layers) if (s := tensors.shape(K, l))] or [0]
