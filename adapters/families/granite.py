"""Granite: Llama's tensor names and layout, with four constants that change the computation.

    attention scores = q.k * attention_multiplier        (not 1/sqrt(d_head))
    embeddings       = W_E[token] * embedding_multiplier
    residual        += sublayer output * residual_multiplier
    logits           = (x @ W_U) / logits_scaling
None of them is stored in the weights; they are typed cfg fields (attn_scale, embed_scale,
residual_scale, logit_scale). The names are Llama's, so only config.json's model_type chooses it.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Tensors
from ..registry import register
from .llama import Llama


@register
class Granite(Llama):
    """Like Llama, plus the attention, embedding, residual and logit multipliers (config.json only)."""
    arch = "granite"
    model_types = ("granite",)
    NO_CONFIG_NOTE = ""

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        return replace(cfg, attn_scale=_number(hf, "attention_multiplier", cfg.attn_scale),
                       embed_scale=_number(hf, "embedding_multiplier", 1.0),
                       residual_scale=_number(hf, "residual_multiplier", 1.0),
                       logit_scale=1.0 / _number(hf, "logits_scaling", 1.0))


def _number(hf: dict, key: str, default):
    """config.json's float `key` (ints allowed), or `default` when it is absent."""
    value = hf.get(key)
    return default if value is None else float(value)
