"""Persimmon (Adept) and Fuyu's language model: NeoX's fused query_key_value laid out per head, under Llama's
module names, with a LayerNorm (weight and bias) over each query and key head before a partial rotary.

    q, k, v = query_key_value(x) split as (head, qkv, d_head)     as NeoX (`interleaved`)
    q, k = q_layernorm(q), k_layernorm(k)                          one [d_head] LayerNorm shared by every head
The MLP is dense_h_to_4h -> relu2 (squared ReLU) -> dense_4h_to_h, with LayerNorms and a sequential residual.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import interleaved, megatron_block, same, transpose

L = "layers.{l}."
ATTN = L + "self_attn."


@register
class Persimmon(Family):
    arch = "persimmon"
    model_types = ("persimmon",)
    anchor = "embed_tokens.weight"  # prefix 'model.'
    layout = Layout(requires=(anchor, ATTN + "query_key_value.weight", ATTN + "dense.weight"))
    defaults = {"positional": "rotary", "act": "relu2", "tied_embeddings": False}
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        **megatron_block(L, "self_attn", interleaved),
        # qk_layernorm: [d_head] each, shared by every head
        "blocks.{l}.attn.q_norm.w": (ATTN + "q_layernorm.weight", same),
        "blocks.{l}.attn.q_norm.b": (ATTN + "q_layernorm.bias", same),
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_layernorm.weight", same),
        "blocks.{l}.attn.k_norm.b": (ATTN + "k_layernorm.bias", same),
        "ln_final.w": ("final_layernorm.weight", same),
        "ln_final.b": ("final_layernorm.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    ignored = {r"rotary_emb\.inv_freq$": ("buffer", "rotary frequencies, computed from rope_theta")}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape(cls.anchor), tensors.shape(L + "mlp.dense_h_to_4h.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        share = hf.get("partial_rotary_factor") or rope.get("partial_rotary_factor") or 0.5  # Persimmon-8B's half
        return replace(cfg, rotary_dim=int(cfg.d_head * share) if cfg.d_head else None,
                       qk_norm="head_layernorm" if tensors.has(ATTN + "q_layernorm.weight") else None)
