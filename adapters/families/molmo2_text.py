"""Molmo2's text model (molmo2_text): OLMo-style fused projections in a Qwen3-like decoder.

    wte.embedding [vocab_size, d_model] + wte.new_embedding [additional_vocab_size, d_model]
                                       -> W_E, the two stacked in that order (transformers concatenates them)
    self_attn.att_proj [(n_heads + 2*n_kv_heads)*d_head, d_model]: q, k, v blocks one after another
    self_attn.attn_out, q_norm / k_norm: per head ([d_head], qk_norm_type 'qwen3') or over the whole
                                       projection ('olmo'), told apart by the norm's length
    mlp.ff_proj [2*d_mlp, d_model]: up's rows first, then the gate's (transformers chunks it as [up, gate])
    mlp.ff_out, attn_norm / ff_norm before each sublayer, or on each sublayer's output when norm_after
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, heads_in, heads_out, qkv_sizes, rows, same, transpose
from .qwen_moe import first_shape

L = "layers.{l}."
QKV, FF, Q_NORM = L + "self_attn.att_proj.weight", L + "mlp.ff_proj.weight", L + "self_attn.q_norm.weight"
EMBEDS = ("wte.embedding", "wte.new_embedding")


def _stacked(cfg, base: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """[vocab_size, d_model] and [additional_vocab_size, d_model] -> W_E [d_vocab, d_model]."""
    return np.concatenate([base, extra], axis=0)


def _qkv(part: int, count: str = "n_heads"):
    return chain(rows(part, qkv_sizes), heads_in(count))


@register
class Molmo2Text(Family):
    arch = "molmo2_text"
    model_types = ("molmo2_text",)
    anchor = "wte.embedding"  # no prefix in Molmo2TextModel; 'model.language_model.' inside Molmo2
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV, FF, L + "self_attn.attn_out.weight"))
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu", "tied_embeddings": False}
    rules = {
        "embed.W_E": (EMBEDS, _stacked),
        "blocks.{l}.attn.W_Q": (QKV, _qkv(0)),
        "blocks.{l}.attn.W_K": (QKV, _qkv(1, "n_kv_heads")),
        "blocks.{l}.attn.W_V": (QKV, _qkv(2, "n_kv_heads")),
        "blocks.{l}.attn.b_Q": (L + "self_attn.att_proj.bias", _qkv(0)),  # when attention_bias
        "blocks.{l}.attn.b_K": (L + "self_attn.att_proj.bias", _qkv(1, "n_kv_heads")),
        "blocks.{l}.attn.b_V": (L + "self_attn.att_proj.bias", _qkv(2, "n_kv_heads")),
        "blocks.{l}.attn.W_O": (L + "self_attn.attn_out.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.q_norm.w": (Q_NORM, same),  # [d_head] per head ('qwen3')
        "blocks.{l}.attn.k_norm.w": (L + "self_attn.k_norm.weight", same),
        "blocks.{l}.ln1.w": (L + "attn_norm.weight", same),
        "blocks.{l}.ln2.w": (L + "ff_norm.weight", same),
        "blocks.{l}.mlp.W_in": (FF, chain(rows(0, halves), transpose)),  # up: the first d_mlp rows
        "blocks.{l}.mlp.W_gate": (FF, chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (L + "mlp.ff_out.weight", transpose),  # [d_model, d_mlp]
        "ln_final.w": ("norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # Molmo2's LM head, when stored beside the text model
    }
    # qk_norm_type 'olmo': one norm over every head, split per head like W_Q / W_K ([n_heads, d_head])
    PROJECTION_NORMS = {"blocks.{l}.attn.q_norm.w": (Q_NORM, heads_in()),
                        "blocks.{l}.attn.k_norm.w": (L + "self_attn.k_norm.weight", heads_in("n_kv_heads"))}
    OUTPUT_NORMS = {"blocks.{l}.ln1.w": "blocks.{l}.ln1_post.w", "blocks.{l}.ln2.w": "blocks.{l}.ln2_post.w"}

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        rules = {**table.rules, **(cls.PROJECTION_NORMS if cfg.qk_norm == "projection" else {})}
        if cfg.norm_position == "output":  # norm_after: the same tensors normalise each sublayer's output
            rules = {cls.OUTPUT_NORMS.get(slot, slot): rule for slot, rule in rules.items()}
        return replace(table, rules=rules)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        base, extra, ff = (tensors.shape(t) for t in (*EMBEDS, FF))
        out = {"d_model": base[1] if base else None, "d_mlp": ff[0] // 2 if ff else None,
               "d_vocab": base[0] + (extra[0] if extra else 0) if base else None}
        norm, o, qkv = first_shape(tensors, Q_NORM), tensors.shape(L + "self_attn.attn_out.weight"), tensors.shape(QKV)
        if norm and o and qkv and norm[0] != o[1]:  # a per-head norm is one head long: d_head
            n_heads = o[1] // norm[0]
            out.update(d_head=norm[0], n_heads=n_heads, n_kv_heads=(qkv[0] - o[1]) // (2 * norm[0]))
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        o, qkv = tensors.shape(L + "self_attn.attn_out.weight"), tensors.shape(QKV)
        if not o or not qkv or o[1] % n_heads:
            raise ValueError(f"attn_out has {o[1] if o else '?'} columns, not a multiple of n_heads={n_heads}")
        d_head = o[1] // n_heads
        return d_head, (qkv[0] - o[1]) // (2 * d_head)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        norm, o = first_shape(tensors, Q_NORM), tensors.shape(L + "self_attn.attn_out.weight")
        qk = None if not norm else "projection" if o and norm[0] == o[1] else "head"
        base, extra = (tensors.shape(t) for t in EMBEDS)
        d_vocab = base[0] + (extra[0] if extra else 0) if base else cfg.d_vocab  # config's vocab_size is the base only
        return replace(cfg, qk_norm=qk, d_vocab=d_vocab, norm_position="output" if hf.get("norm_after") else "pre")
