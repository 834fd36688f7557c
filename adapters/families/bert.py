"""BERT (and RoBERTa below it): a post-norm encoder with separate q, k, v Linear layers.

Post-norm: attention and MLP read the residual stream itself; ln1 follows attention
(`attention.output.LayerNorm`), ln2 follows the MLP (`output.LayerNorm`).
"""
from __future__ import annotations

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose

L = "encoder.layer.{l}."


@register
class Bert(Family):
    arch = "bert"
    model_types = ("bert",)
    anchor = "embeddings.word_embeddings.weight"
    layout = Layout(requires=(anchor, L + "attention.self.query.weight"))
    encoder = True
    tie = ("cls.predictions.decoder.weight", "embeddings.word_embeddings.weight")
    defaults = {"positional": "learned", "norm_position": "post", "act": "gelu", "tied_embeddings": True}
    rules = {
        "embed.W_E": ("embeddings.word_embeddings.weight", same),
        "pos_embed.W_pos": ("embeddings.position_embeddings.weight", same),
        "token_type_embed.W_token_type": ("embeddings.token_type_embeddings.weight", same),
        "embed.ln.w": ("embeddings.LayerNorm.weight", same),
        "embed.ln.b": ("embeddings.LayerNorm.bias", same),
        "blocks.{l}.attn.W_Q": (L + "attention.self.query.weight", heads_in()),
        "blocks.{l}.attn.b_Q": (L + "attention.self.query.bias", heads_in()),
        "blocks.{l}.attn.W_K": (L + "attention.self.key.weight", heads_in()),
        "blocks.{l}.attn.b_K": (L + "attention.self.key.bias", heads_in()),
        "blocks.{l}.attn.W_V": (L + "attention.self.value.weight", heads_in()),
        "blocks.{l}.attn.b_V": (L + "attention.self.value.bias", heads_in()),
        "blocks.{l}.attn.W_O": (L + "attention.output.dense.weight", heads_out),
        "blocks.{l}.attn.b_O": (L + "attention.output.dense.bias", same),
        "blocks.{l}.ln1.w": (L + "attention.output.LayerNorm.weight", same),
        "blocks.{l}.ln1.b": (L + "attention.output.LayerNorm.bias", same),
        "blocks.{l}.mlp.W_in": (L + "intermediate.dense.weight", transpose),
        "blocks.{l}.mlp.b_in": (L + "intermediate.dense.bias", same),
        "blocks.{l}.mlp.W_out": (L + "output.dense.weight", transpose),
        "blocks.{l}.mlp.b_out": (L + "output.dense.bias", same),
        "blocks.{l}.ln2.w": (L + "output.LayerNorm.weight", same),
        "blocks.{l}.ln2.b": (L + "output.LayerNorm.bias", same),
        "unembed.W_U": ("cls.predictions.decoder.weight", transpose),
        "unembed.b_U": ("cls.predictions.bias", same),
    }
    ignored = {
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
        r"pooler\.": ("other", "the [CLS] pooler: a classifier input, outside the transformer body"),
        r"cls\.predictions\.transform\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"cls\.predictions\.decoder\.bias$": ("unembed", "the same tensor as cls.predictions.bias"),
        r"cls\.seq_relationship\.": ("other", "the next-sentence-prediction head"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, pos = tensors.shape(cls.anchor), tensors.shape("embeddings.position_embeddings.weight")
        mlp = tensors.shape(L + "intermediate.dense.weight")
        return {"d_model": wte[1], "d_vocab": wte[0], "n_ctx": pos[0] if pos else None,
                "d_mlp": mlp[0] if mlp else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        kind = hf.get("position_embedding_type", "absolute")
        if kind != "absolute":
            cfg = cfg.with_notes(Note("positions", f"position_embedding_type={kind!r}: positions also enter "
                                                   "through attention."))
        return cfg
