"""Moshi's text decoder (MoshiForCausalLM): Llama's computation with each attention projection wrapped in a
`.linear` module and a gated MLP fused into one fc1.

    q_proj.linear, k_proj.linear, v_proj.linear, o_proj.linear   Llama's q/k/v/o, bias-free, grouped-query
    fc1 [2*d_mlp, d_model]: the gate's rows first, then up's (MoshiGatingMLP views them as (2, d_mlp))
    fc2 [d_model, d_mlp]
embed_tokens has one row more than the vocabulary: the extra input token Moshi starts its text stream with (it
is never predicted, so lm_head has d_vocab rows); W_E keeps every stored row.
The depth decoder and the audio codec of a full Moshi checkpoint (MoshiForConditionalGeneration) are outside
this family: they are per-codebook towers, not one stack of layers.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, heads_in, heads_out, rows, transpose
from .llama import ATTN, L, Llama

FC1, Q, K = L + "mlp.fc1.weight", ATTN + "q_proj.linear.weight", ATTN + "k_proj.linear.weight"


@register
class MoshiText(Llama):
    """Like Llama, with projections under `.linear` and the gate and up rows fused in fc1."""
    arch = "moshi"
    model_types = ("moshi",)
    layer_anchor = Q
    layout = Layout(requires=(Llama.anchor, Q, ATTN + "o_proj.linear.weight", FC1, L + "input_layernorm.weight"))
    rules = {
        **{s: r for s, r in Llama.rules.items() if ".attn." not in s and ".mlp." not in s},
        "blocks.{l}.attn.W_Q": (Q, heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (K, heads_in("n_kv_heads")),  # [n_kv_heads*d_head, d_model]
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.linear.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "o_proj.linear.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.mlp.W_gate": (FC1, chain(rows(0, halves), transpose)),  # [2*d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (FC1, chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (L + "mlp.fc2.weight", transpose),  # [d_model, d_mlp]
    }
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, head, fc1 = (tensors.shape(t) for t in ("embed_tokens.weight", "lm_head.weight", FC1))
        return {"d_model": embed[1] if embed else None, "d_mlp": fc1[0] // 2 if fc1 else None,
                "d_vocab": head[0] if head else (embed[0] - 1 if embed else None),  # the extra input row
                "tied_embeddings": False}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q, k = tensors.shape(Q), tensors.shape(K)
        if not q or not k or q[0] % n_heads or k[0] % (q[0] // n_heads):
            raise ValueError(f"q_proj has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
        return q[0] // n_heads, k[0] // (q[0] // n_heads)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        # config.json's ffn_dim is fc1's rows (gate and up together); d_mlp is one half
        fc1 = tensors.shape(FC1)
        return super().facts(replace(cfg, d_mlp=fc1[0] // 2) if fc1 else cfg, hf, tensors)
