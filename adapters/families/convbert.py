"""ConvBERT: BERT's post-norm encoder whose self-attention module is half attention, half convolution.

Of the config's num_attention_heads, only num_attention_heads // head_ratio are attention heads (d_head stays
d_model // num_attention_heads); the other half of each block's width is a span-based dynamic convolution
(key_conv_attn_layer, conv_kernel_layer, conv_out_layer) that has no schema slot. The module concatenates
    [attention heads' outputs (n_heads * d_head) ; the convolution's output (n_heads * d_head)]
before attention.output.dense, so W_O is that Linear's first n_heads * d_head input columns; the rest read the
convolution. When embedding_size differs from hidden_size the embeddings are narrower and embeddings_project
widens them (ELECTRA's layout): the embeddings then stay raw tensors, as ALBERT's.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .bert import L, Bert

S = L + "attention.self."
_EMBEDDINGS = ("embed.W_E", "pos_embed.W_pos", "token_type_embed.W_token_type", "embed.ln.w", "embed.ln.b")


def _attention_columns(cfg, w: np.ndarray) -> np.ndarray:
    """output.dense [d_model, 2 * n_heads*d_head] -> W_O [n_heads, d_head, d_model] from the attention half."""
    return np.ascontiguousarray(w[:, :cfg.n_heads * cfg.d_head].T.reshape(cfg.n_heads, cfg.d_head, w.shape[0]))


@register
class ConvBert(Bert):
    """Like BERT, with attention heads at num_attention_heads // head_ratio and a convolution beside them."""
    arch = "convbert"
    model_types = ("convbert",)
    layout = Layout(requires=(*Bert.layout.requires, S + "conv_kernel_layer.weight"))
    tie = ("generator_lm_head.weight", "embeddings.word_embeddings.weight")
    rules = {
        **{slot: rule for slot, rule in Bert.rules.items() if not slot.startswith("unembed.")},
        "blocks.{l}.attn.W_O": (L + "attention.output.dense.weight", _attention_columns),
        "unembed.W_U": ("generator_lm_head.weight", transpose),  # after generator_predictions' dense + norm
        "unembed.b_U": ("generator_lm_head.bias", same),
    }
    ignored = {
        **Bert.ignored,
        r"attention\.self\.(key_conv_attn_layer|conv_kernel_layer|conv_out_layer)\.": (
            "attention", "the span-based dynamic convolution beside the attention heads; no schema slot holds it"),
        r"generator_predictions\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"^(classifier|qa_outputs|sequence_summary)\.": ("other", "a task head, outside the transformer body"),
    }

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        if not tensors.has("embeddings_project.weight"):
            return table
        narrow = "in embedding_size dims, narrower than d_model: outside the schema's d_model-wide slots"
        rules = {s: r for s, r in table.rules.items() if s not in _EMBEDDINGS and not s.startswith("unembed.")}
        ignored = {**table.ignored, r"embeddings\.": ("embedding", "an embedding or its norm " + narrow),
                   r"embeddings_project\.": ("embedding", "widens the embeddings to d_model"),
                   r"generator_lm_head\.": ("unembed", "the LM head, " + narrow)}
        return Table(rules, ignored, None)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        q = tensors.shape(S + "query.weight")
        return {**super().infer(tensors), "d_model": q[1] if q else None}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q = tensors.shape(S + "query.weight")  # [n_heads * d_head, d_model]: the attention half only
        if not q or q[0] % n_heads:
            raise ValueError(f"query has {q[0] if q else '?'} rows, not a multiple of n_heads={n_heads}")
        return q[0] // n_heads, n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        ratio = hf.get("head_ratio", 2)
        if hf and cfg.n_heads == hf.get("num_attention_heads") and type(ratio) is int and ratio >= 1:
            n_heads = max(cfg.n_heads // ratio, 1)  # transformers' rule: at least one attention head
            d_head, _ = cls.head_dims(n_heads, cfg, tensors)
            cfg = replace(cfg, n_heads=n_heads, n_kv_heads=n_heads, d_head=d_head)
        cfg = cfg.with_notes(Note("maths", f"Half of each block's width is a dynamic convolution, not attention: "
                                           f"{cfg.n_heads} attention heads (num_attention_heads // head_ratio) of "
                                           f"d_head {cfg.d_head}; W_O is attention.output.dense's attention columns."))
        if tensors.has("embeddings_project.weight"):
            cfg = cfg.with_notes(Note("absent", "The embeddings are narrower than d_model (embedding_size), so "
                                                "embed.W_E, pos_embed.W_pos and unembed.W_U are raw tensors only."))
        return cfg
