"""Phi-3: Llama-like (RMSNorm, rotary, gated SiLU MLP), with q, k, v and gate, up fused.

qkv_proj is [(n_heads + 2*n_kv_heads)*d_head, d_model]: the q, k, v blocks one after another
(`rows` with `qkv_sizes`). gate_up_proj is [2*d_mlp, d_model]: gate first, then up
(Phi3MLP: `gate, up = gate_up_proj(x).chunk(2, dim=-1)`; `down(up * silu(gate))`).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, heads_in, heads_out, qkv_sizes, rows, same, transpose

L = "layers.{l}."
QKV, GATE_UP = L + "self_attn.qkv_proj.weight", L + "mlp.gate_up_proj.weight"


@register
class Phi3(Family):
    arch = "phi3"
    model_types = ("phi3",)
    anchor = "embed_tokens.weight"  # prefix 'model.'
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV, GATE_UP, L + "input_layernorm.weight"))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu",
                "tied_embeddings": False}
    KNOWN_HEADS = {3072: 32}  # Phi-3 mini: 32 heads of 96
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),
        "blocks.{l}.attn.W_Q": (QKV, chain(rows(0, qkv_sizes), heads_in())),
        "blocks.{l}.attn.W_K": (QKV, chain(rows(1, qkv_sizes), heads_in("n_kv_heads"))),
        "blocks.{l}.attn.W_V": (QKV, chain(rows(2, qkv_sizes), heads_in("n_kv_heads"))),
        "blocks.{l}.attn.W_O": (L + "self_attn.o_proj.weight", heads_out),
        "blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", same),  # the pre-MLP norm
        "blocks.{l}.mlp.W_gate": (GATE_UP, chain(rows(0, halves), transpose)),  # (d_model, d_mlp)
        "blocks.{l}.mlp.W_in": (GATE_UP, chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (L + "mlp.down_proj.weight", transpose),
        "ln_final.w": ("norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    ignored = {r"rotary_emb\.(original_)?inv_freq$": ("buffer", "rotary frequencies, recomputed from rope_theta")}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, gate_up = tensors.shape("embed_tokens.weight"), tensors.shape(GATE_UP)
        return {"d_model": embed[1], "d_vocab": embed[0], "d_mlp": gate_up[0] // 2 if gate_up else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """o_proj's input is n_heads * d_head; qkv_proj's rows add 2 * n_kv_heads * d_head to that."""
        o, qkv = tensors.shape(L + "self_attn.o_proj.weight"), tensors.shape(QKV)
        if not o or not qkv or o[1] % n_heads:
            raise ValueError(f"o_proj has {o[1] if o else '?'} columns, not a multiple of n_heads={n_heads}")
        d_head = o[1] // n_heads
        return d_head, (qkv[0] - o[1]) // (2 * d_head)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        factor = hf.get("partial_rotary_factor", rope.get("partial_rotary_factor", 1.0))
        return replace(cfg, rotary_dim=int(cfg.d_head * factor)) if cfg.d_head else cfg
