"""Falcon: one fused query_key_value whose layout depends on the config; parallel attention.

The fused output axis is always (kv_group, [q_1 .. q_g, k, v], d_head) with g = n_heads / n_kv_heads:
- falcon-7b (multi_query): one group, [q heads..., one k, one v];
- multi_query=False (falcon-rw): n_heads groups of [q, k, v], NeoX's per-head interleave;
- new_decoder_architecture (falcon-40b/180b): n_kv_heads groups of g queries + k + v.
So one `grouped` cut serves all three once n_kv_heads is right (adjust() sets it).
"""
from __future__ import annotations

import numpy as np

from .config import ModelConfig
from .family import Family
from .registry import register
from .transforms import fused_qkv, heads_out, same, transpose

L = "h.{l}."
QKV, QKV_B = L + "self_attention.query_key_value.weight", L + "self_attention.query_key_value.bias"


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
    tie = ("lm_head.weight", "word_embeddings.weight")
    defaults = {"positional": "rotary", "act": "gelu", "parallel_residual": True, "tied_embeddings": True}
    rules = {
        "embed.W_E": ("word_embeddings.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),
        "blocks.{l}.ln1.b": (L + "input_layernorm.bias", same),
        **fused_qkv(QKV, QKV_B, grouped),
        "blocks.{l}.attn.W_O": (L + "self_attention.dense.weight", heads_out),
        "blocks.{l}.attn.b_O": (L + "self_attention.dense.bias", same),
        "blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", same),  # sequential layout only
        "blocks.{l}.ln2.b": (L + "post_attention_layernorm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "mlp.dense_h_to_4h.weight", transpose),
        "blocks.{l}.mlp.b_in": (L + "mlp.dense_h_to_4h.bias", same),
        "blocks.{l}.mlp.W_out": (L + "mlp.dense_4h_to_h.weight", transpose),
        "blocks.{l}.mlp.b_out": (L + "mlp.dense_4h_to_h.bias", same),
        "ln_final.w": ("ln_f.weight", same),
        "ln_final.b": ("ln_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    # new_decoder_architecture with two norms: ln_attn before attention, ln_mlp before the MLP
    TWO_NORMS = {"blocks.{l}.ln1.w": (L + "ln_attn.weight", same), "blocks.{l}.ln1.b": (L + "ln_attn.bias", same),
                 "blocks.{l}.ln2.w": (L + "ln_mlp.weight", same), "blocks.{l}.ln2.b": (L + "ln_mlp.bias", same)}

    def __init__(self, names, shapes):
        super().__init__(names, shapes)
        if self.resolve(L + "ln_attn.weight", 0) is not None:
            self.rules = {**self.rules, **self.TWO_NORMS}

    @classmethod
    def detect(cls, names: list[str]) -> bool:  # Bloom and BERT also end a name in 'word_embeddings.weight'
        return (any(n.endswith("self_attention.query_key_value.weight") for n in names)
                and not any(n.endswith("word_embeddings_layernorm.weight") for n in names))

    def infer(self) -> dict:
        get = lambda template, layer=None: self.shapes.get(self.resolve(template, layer) or "")
        emb, fc = get("word_embeddings.weight"), get(L + "mlp.dense_h_to_4h.weight", 0)
        return {"n_layers": self.count_layers(), "d_model": emb[1], "d_vocab": emb[0],
                "d_mlp": fc[0] if fc else None,
                "tied_embeddings": self.resolve("lm_head.weight") is None}

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        hf = hf or {}
        new_arch = hf.get("new_decoder_architecture", False)
        if not new_arch and cfg.n_heads:  # config.json's num_kv_heads is not meaningful in the old layout
            cfg.n_kv_heads = 1 if hf.get("multi_query", True) else cfg.n_heads
        cfg.positional = "alibi" if hf.get("alibi") else "rotary"
        cfg.rotary_dim = cfg.d_head if cfg.positional == "rotary" else None
        cfg.parallel_residual = bool(new_arch or hf.get("parallel_attn", True))
        cfg.act = hf.get("activation", cfg.act)
        if cfg.d_mlp is None and cfg.d_model:
            cfg.d_mlp = 4 * cfg.d_model
        if not hf:
            cfg.notes.append("No config.json: falcon-7b's layout (one shared key/value head, rotary) is assumed.")
