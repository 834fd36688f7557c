"""BERT (and RoBERTa below it): a post-norm encoder with separate q, k, v Linear layers.

Post-norm: attention and MLP read the residual stream itself; ln1 follows attention
(`attention.output.LayerNorm`), ln2 follows the MLP (`output.LayerNorm`).
"""
from __future__ import annotations

from .config import ModelConfig
from .family import Family
from .registry import register
from .transforms import heads_in, heads_out, same, transpose

L = "encoder.layer.{l}."


@register
class Bert(Family):
    arch = "bert"
    model_types = ("bert",)
    anchor = "embeddings.word_embeddings.weight"
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
    def detect(cls, names: list[str]) -> bool:
        return cls.has_anchor(names) and not any(n.startswith(("roberta.", "lm_head.decoder")) for n in names)

    def infer(self) -> dict:
        get = self.shapes.get
        wte = get(self.resolve(self.anchor))
        pos = get(self.resolve("embeddings.position_embeddings.weight") or "")
        mlp = get(self.resolve(L + "intermediate.dense.weight", 0) or "")
        return {"n_layers": self.count_layers(), "d_model": wte[1], "d_vocab": wte[0],
                "n_ctx": pos[0] if pos else None, "d_mlp": mlp[0] if mlp else None}

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        kind = (hf or {}).get("position_embedding_type", "absolute")
        if kind != "absolute":
            cfg.notes.append(f"position_embedding_type={kind!r}: positions also enter through attention.")
