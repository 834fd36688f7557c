"""PhiMoE (Phi-3.5-MoE): Mixtral's tensor names and experts, with LayerNorms that have biases and a biased LM head.

    ln(x) = (x - mean) / std * w + b              input_layernorm, post_attention_layernorm, norm (all with .bias)
    logits = x @ W_U + b_U                        when config's lm_head_bias
Experts are Mixtral's (block_sparse_moe.experts.{e}.w1/w2/w3), but the router is SparseMixer: the top expert is
chosen from the logits, its weight is a softmax over the logits within a margin of it (jitter_eps), then the
second from the rest likewise, so the two weights do not come from one softmax and need not sum to one.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same
from .llama import L
from .mixtral import Mixtral


@register
class Phimoe(Mixtral):
    """Like Mixtral, plus LayerNorm biases, an optional LM head bias and SparseMixer routing."""
    arch = "phimoe"
    model_types = ("phimoe",)
    layout = Layout(requires=(*Mixtral.layout.requires, L + "input_layernorm.bias"))
    rules = {
        **Mixtral.rules,
        "blocks.{l}.ln1.b": (L + "input_layernorm.bias", same),  # [d_model]
        "blocks.{l}.ln2.b": (L + "post_attention_layernorm.bias", same),
        "ln_final.b": ("norm.bias", same),
        "unembed.b_U": ("lm_head.bias", same),  # [d_vocab], when lm_head_bias
    }
    defaults = {**Mixtral.defaults, "norm": "layernorm"}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        jitter = hf.get("router_jitter_noise", 0.01)
        return replace(cfg, norm="layernorm").with_notes(Note("maths", (
            "SparseMixer routing: the first expert is the top logit, weighted by a softmax over the logits within "
            f"2 * {jitter} (router_jitter_noise) of it; the second is the top of the rest, weighted likewise "
            "without the first. The weights are not one softmax's and need not sum to one.")))
