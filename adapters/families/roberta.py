"""RoBERTa: BERT's body; differs in the 'roberta.' prefix, the lm_head.* MLM head, and positions.

Positions are numbered from padding_idx + 1 (= 2 in every released checkpoint): row padding_idx
holds the pad token's position and rows below it are never used. The schema's W_pos drops
those rows (cfg.pos_offset) so row i = position i, as for every other family (otherwise positional
analyses would read two untrained rows as positions 0 and 1).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import from_position_zero, same, transpose
from .bert import Bert

POS = "embeddings.position_embeddings.weight"


@register
class Roberta(Bert):  # like BERT, but lm_head.* instead of cls.predictions.*, and positions start at pad + 1
    arch = "roberta"
    model_types = ("roberta",)
    # BERT's names; without config.json, its own prefix or MLM head tell it apart (a bare RobertaModel is read as BERT)
    layout = Layout(requires=Bert.layout.requires,
                    marks=("roberta." + Bert.anchor, "lm_head.dense.weight", "lm_head.decoder.weight"))
    tie = ("lm_head.decoder.weight", "embeddings.word_embeddings.weight")
    rules = {
        **{k: v for k, v in Bert.rules.items() if not k.startswith("unembed.")},
        "pos_embed.W_pos": (POS, from_position_zero),
        "unembed.W_U": ("lm_head.decoder.weight", transpose),
        "unembed.b_U": ("lm_head.bias", same),
    }
    ignored = {
        r"position_ids$": ("buffer", "the position index buffer, not a parameter"),
        r"pooler\.": ("other", "the <s> pooler: a classifier input, outside the transformer body"),
        r"lm_head\.(dense|layer_norm)\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"lm_head\.decoder\.bias$": ("unembed", "the same tensor as lm_head.bias"),
        r"^classifier\.": ("other", "a task head, outside the transformer body"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        out = super().infer(tensors)
        if out.get("n_ctx"):
            out["n_ctx"] -= 2  # counted from the stored rows, which include the two before position 0
        return out

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        pad = hf.get("pad_token_id")
        offset = (1 if pad is None else pad) + 1
        n_ctx = cfg.n_ctx - offset if hf and cfg.n_ctx else cfg.n_ctx  # max_position_embeddings counts them too
        return replace(cfg, n_ctx=n_ctx, pos_offset=offset).with_notes(Note(
            "layout", f"Positions start at padding_idx + 1 = {offset}: the first {offset} rows of "
                      "position_embeddings are dropped, so W_pos row i is position i."))
