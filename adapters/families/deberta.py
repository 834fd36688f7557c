"""DeBERTa and DeBERTa-v2/v3: BERT's post-norm encoder body, with disentangled attention.

    scores = (q k^T + c2p + p2c) / sqrt(d_head * (1 + len(pos_att_type)))
q, k, v are the schema's usual per-head projections; with relative_attention, each layer adds content-to-
position (c2p) and position-to-content (p2c) terms read from encoder.rel_embeddings (one table shared by every
layer, normed by encoder.LayerNorm) through the layer's own key/query projections (share_att_key) or through
pos_key_proj / pos_query_proj. Those terms have no schema slot: their tensors are listed as outside it, and the
score scale (which counts them) is cfg.attn_scale, so W_Q and W_K give the content-to-content part exactly.

DeBERTa (v1) fuses q, k, v in in_proj laid out per head (head, qkv, d_head), with q_bias and v_bias and no key
bias; DeBERTa-v2 stores query_proj, key_proj, value_proj with biases.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, interleaved, same, transpose
from .bert import L, Bert

SELF = L + "attention.self."
_BERT_QKV = tuple(f"blocks.{{l}}.attn.{k}_{x}" for k in "Wb" for x in "QKV")
NEW_MLM_BIAS = "lm_predictions.lm_head.bias"  # DebertaForMaskedLM with legacy=False: the LM head is tied


@register
class DebertaV2(Bert):
    """Like BERT, with q/k/v named query_proj/key_proj/value_proj and relative attention beside them."""
    arch = "deberta_v2"
    model_types = ("deberta-v2",)
    layout = Layout(requires=(Bert.anchor, SELF + "query_proj.weight"))
    rules = {
        **{s: r for s, r in Bert.rules.items() if s not in _BERT_QKV},
        **{f"blocks.{{l}}.attn.{k}_{x.upper()}": (SELF + f"{name}_proj.{part}", heads_in())
           for x, name in (("q", "query"), ("k", "key"), ("v", "value"))
           for k, part in (("W", "weight"), ("b", "bias"))},
    }
    ignored = {
        **Bert.ignored,
        r"encoder\.rel_embeddings\.weight$": ("positional", "relative position embeddings, shared by every layer: "
                                                            "they enter the scores through c2p/p2c, not the stream"),
        r"encoder\.LayerNorm\.": ("norm", "the norm on the relative position embeddings"),
        r"attention\.self\.pos_(key|query)_proj\.": ("attention", "projects the relative position embeddings "
                                                                   "to keys/queries for c2p/p2c (share_att_key off)"),
        r"encoder\.conv\.": ("other", "a convolution beside the first layer (conv_kernel_size)"),
        r"embeddings\.embed_proj\.": ("embedding", "widens the embeddings to d_model (embedding_size)"),
        r"lm_predictions\.lm_head\.(dense|LayerNorm)\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"(^|\.)mask_predictions\.": ("other", "the replaced-token-detection head (ELECTRA-style training)"),
        r"^classifier\.": ("other", "a task head, outside the transformer body"),
    }
    defaults = {**Bert.defaults, "tied_embeddings": True}
    KNOWN_HEADS = {768: 12, 1024: 16, 1536: 24}  # base, large, xlarge

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        if not tensors.has(NEW_MLM_BIAS):
            return table
        # the new MLM head stores only its bias: W_U is the word embedding itself
        return replace(table, tied=None, rules={**table.rules, "unembed.W_U": (Bert.anchor, transpose),
                                                "unembed.b_U": (NEW_MLM_BIAS, same)})

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        kinds = hf.get("pos_att_type") or []
        kinds = kinds.split("|") if isinstance(kinds, str) else list(kinds)  # old configs write "c2p|p2c"
        factor = 1 + sum(k in ("c2p", "p2c") for k in kinds)
        positional = "learned" if tensors.has("embeddings.position_embeddings.weight") else "none"
        cfg = replace(cfg, positional=positional,
                      attn_scale=(cfg.d_head * factor) ** -0.5 if factor > 1 and cfg.d_head else None)
        if hf.get("relative_attention") or tensors.has("encoder.rel_embeddings.weight"):
            cfg = cfg.with_notes(Note("positions", (
                f"Disentangled attention: each head's scores add {' and '.join(kinds) or 'relative'} terms from "
                "encoder.rel_embeddings, which the per-head q/k views do not include; they hold the content-to-"
                f"content part, scaled by 1/sqrt({factor} * d_head).")))
        return cfg


@register
class Deberta(DebertaV2):
    """DeBERTa v1: like v2, with q, k, v fused per head in in_proj and separate q and v biases."""
    arch = "deberta"
    model_types = ("deberta",)
    layout = Layout(requires=(Bert.anchor, SELF + "in_proj.weight"))
    rules = {
        **{s: r for s, r in Bert.rules.items() if s not in _BERT_QKV},
        **{f"blocks.{{l}}.attn.W_{x}": (SELF + "in_proj.weight", interleaved(i)) for i, x in enumerate("QKV")},
        "blocks.{l}.attn.b_Q": (SELF + "q_bias", heads_in()),  # [d_model]; no key bias
        "blocks.{l}.attn.b_V": (SELF + "v_bias", heads_in()),
    }
    ignored = {
        **DebertaV2.ignored,
        r"attention\.self\.pos_(q_)?proj\.": ("attention", "projects the relative position embeddings to "
                                                           "keys (pos_proj) or queries (pos_q_proj) for c2p/p2c"),
        r"attention\.self\.head_(logits|weights)_proj\.": ("attention", "talking-heads mixing across heads"),
    }
    KNOWN_HEADS = {768: 12, 1024: 16}
