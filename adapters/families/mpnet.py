"""MPNet: RoBERTa's embeddings, positions and MLM head, with its own attention names and a T5-style relative
position bias shared by every layer.

    scores = q k^T / sqrt(d_head) + W_rel[bucket(key - query)]      buckets as T5's encoder (bidirectional)
The bias is stored once, in the encoder (`encoder.relative_attention_bias`, [n_buckets, n_heads]), and added in
every layer on top of the learned absolute positions (numbered from padding_idx + 1 = 2, as RoBERTa's).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same
from .bert import L
from .roberta import Roberta

A = L + "attention."
REL = "encoder.relative_attention_bias.weight"
_BERT_ATTN = ("attn.W_Q", "attn.b_Q", "attn.W_K", "attn.b_K", "attn.W_V", "attn.b_V", "attn.W_O", "attn.b_O", "ln1.w",
              "ln1.b")


@register
class MPNet(Roberta):
    """Like RoBERTa, with attention under attention.attn.{q,k,v,o}, its post-norm at attention.LayerNorm, and
    a relative position bias."""
    arch = "mpnet"
    model_types = ("mpnet",)
    layout = Layout(requires=(Roberta.anchor, A + "attn.q.weight", REL))
    rules = {
        **{slot: rule for slot, rule in Roberta.rules.items()
           if slot.removeprefix("blocks.{l}.") not in _BERT_ATTN and not slot.startswith("token_type")},
        "blocks.{l}.attn.W_Q": (A + "attn.q.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.b_Q": (A + "attn.q.bias", heads_in()),
        "blocks.{l}.attn.W_K": (A + "attn.k.weight", heads_in()),
        "blocks.{l}.attn.b_K": (A + "attn.k.bias", heads_in()),
        "blocks.{l}.attn.W_V": (A + "attn.v.weight", heads_in()),
        "blocks.{l}.attn.b_V": (A + "attn.v.bias", heads_in()),
        "blocks.{l}.attn.W_O": (A + "attn.o.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.b_O": (A + "attn.o.bias", same),
        "blocks.{l}.ln1.w": (A + "LayerNorm.weight", same),  # after the residual add (post-norm)
        "blocks.{l}.ln1.b": (A + "LayerNorm.bias", same),
        "pos_embed.W_rel": (REL, same),  # [n_buckets, n_heads], shared by every layer
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        rel = tensors.shape(REL)
        return {**super().infer(tensors), "rel_buckets": rel[0] if rel else None, "n_heads": rel[1] if rel else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        # MPNet's embeddings fix padding_idx at 1 whatever pad_token_id says: positions start at 2
        cfg = super().facts(cfg, {**hf, "pad_token_id": 1} if hf else hf, tensors)
        return replace(cfg, rel_max_distance=128).with_notes(Note(
            "positions", f"Besides the learned positions, every layer adds a relative position bias (pos_embed.W_rel) "
                         f"to its scores: {cfg.rel_buckets} buckets of key - query distance up to 128, as T5's encoder."))
