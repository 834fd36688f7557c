"""Bloom: alibi instead of positions, a norm on the embeddings, fused qkv laid out per head.

query_key_value's output axis is (head, qkv, d_head), as in NeoX (`interleaved`). No positional
tensor is stored: alibi adds slope_h * (key position) to each head's scores. The MLP is
4 * d_model wide with tanh-approximated GELU; the LM head is tied to word_embeddings.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import interleaved, megatron_block, same, transpose

L = "h.{l}."
QKV = L + "self_attention.query_key_value.weight"


@register
class Bloom(Family):
    arch = "bloom"
    model_types = ("bloom",)
    anchor = "word_embeddings_layernorm.weight"  # Falcon shares 'word_embeddings.weight'; this norm is Bloom's
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV))
    tie = ("lm_head.weight", "word_embeddings.weight")
    defaults = {"positional": "alibi", "act": "gelu_new", "tied_embeddings": True}
    rules = {
        "embed.W_E": ("word_embeddings.weight", same),
        "embed.ln.w": ("word_embeddings_layernorm.weight", same),
        "embed.ln.b": ("word_embeddings_layernorm.bias", same),
        **megatron_block(L, "self_attention", interleaved),
        "ln_final.w": ("ln_f.weight", same),
        "ln_final.b": ("ln_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape("word_embeddings.weight"), tensors.shape(L + "mlp.dense_h_to_4h.weight")
        return {"d_model": emb[1] if emb else None, "d_vocab": emb[0] if emb else None,
                "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        d_model = cfg.d_model or hf.get("n_embed")  # bigscience's own configs spell hidden_size 'n_embed'
        cfg = replace(cfg, positional="alibi", n_ctx=None,  # alibi has no trained length limit stored in weights
                      d_model=d_model, d_mlp=cfg.d_mlp or (4 * d_model if d_model else None))
        if hf.get("apply_residual_connection_post_layernorm"):
            cfg = cfg.with_notes(Note("maths", "apply_residual_connection_post_layernorm: the residual carried "
                                               "past each block is the normed stream, not the raw one."))
        return cfg
