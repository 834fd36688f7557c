"""Falcon: one fused query_key_value whose layout depends on the config; parallel attention.

The fused output axis is always (kv_group, [q_1 .. q_g, k, v], d_head) with g = n_heads / n_kv_heads:
- falcon-7b (multi_query): one group, [q heads..., one k, one v];
- multi_query=False (falcon-rw): n_heads groups of [q, k, v], NeoX's per-head interleave;
- new_decoder_architecture (falcon-40b/180b): n_kv_heads groups of g queries + k + v.
So one `grouped` cut serves all three once n_kv_heads is right (facts() sets it).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import megatron_block, same, transpose

L = "h.{l}."
QKV = L + "self_attention.query_key_value.weight"


def grouped(part: int):
    """q (part 0), k (1) or v (2) of the fused qkv: weight -> (heads, d_model, d_head), bias -> (heads, d_head)."""
    def run(cfg, w):
        n_kv, g = cfg.n_kv_heads, cfg.n_heads // cfg.n_kv_heads
        blocks = w.reshape(n_kv, g + 2, cfg.d_head, *w.shape[1:])  # (n_kv, g + 2, d_head[, d_model])
        picked = blocks[:, :g].reshape(n_kv * g, *blocks.shape[2:]) if part == 0 else blocks[:, g + part - 1]
        return picked if w.ndim == 1 else np.ascontiguousarray(picked.transpose(0, 2, 1))
    run.__name__ = f"grouped({part})"
    return run


@register
class Falcon(Family):
    arch = "falcon"
    model_types = ("falcon", "RefinedWeb", "RefinedWebModel")  # the last two: configs before transformers' port
    anchor = "word_embeddings.weight"  # prefix 'transformer.'
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV), forbids=("word_embeddings_layernorm.weight",))  # that norm is Bloom's
    tie = ("lm_head.weight", "word_embeddings.weight")
    defaults = {"positional": "rotary", "act": "gelu", "parallel_residual": True, "tied_embeddings": True}
    rules = {
        "embed.W_E": ("word_embeddings.weight", same),
        **megatron_block(L, "self_attention", grouped),  # ln2 only in the sequential layout
        "ln_final.w": ("ln_f.weight", same),
        "ln_final.b": ("ln_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    # new_decoder_architecture with two norms: ln_attn before attention, ln_mlp before the MLP
    TWO_NORMS = {"blocks.{l}.ln1.w": (L + "ln_attn.weight", same), "blocks.{l}.ln1.b": (L + "ln_attn.bias", same),
                 "blocks.{l}.ln2.w": (L + "ln_mlp.weight", same), "blocks.{l}.ln2.b": (L + "ln_mlp.bias", same)}

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        if tensors.has(L + "ln_attn.weight", 0):
            return replace(table, rules={**table.rules, **cls.TWO_NORMS})
        return table

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape("word_embeddings.weight"), tensors.shape(L + "mlp.dense_h_to_4h.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """query_key_value holds (n_heads + 2 * n_kv_heads) * d_head rows in every layout."""
        d_head, _ = super().head_dims(n_heads, cfg, tensors)
        qkv = tensors.shape(QKV)
        return d_head, (qkv[0] // d_head - n_heads) // 2 if qkv else n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        new_arch = hf.get("new_decoder_architecture", False)
        n_kv_heads = cfg.n_kv_heads
        if hf and not new_arch and cfg.n_heads:  # config.json's num_kv_heads is not meaningful in the old layout
            n_kv_heads = 1 if hf.get("multi_query", True) else cfg.n_heads
        positional = "alibi" if hf.get("alibi") else "rotary"
        cfg = replace(cfg, n_kv_heads=n_kv_heads, positional=positional,
                      rotary_dim=cfg.d_head if positional == "rotary" else None,
                      parallel_residual=bool(new_arch or hf.get("parallel_attn", True)),
                      act=hf.get("activation", cfg.act), d_mlp=cfg.d_mlp or (4 * cfg.d_model if cfg.d_model else None))
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: rotary positions and parallel attention "
                                                 "(falcon-7b's) are assumed; the key/value heads are counted from "
                                                 "query_key_value's rows."))
        return cfg
