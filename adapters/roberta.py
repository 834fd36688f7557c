"""RoBERTa: BERT's body; differs in the 'roberta.' prefix, the lm_head.* MLM head, and positions.

Positions are numbered from padding_idx + 1 (= 2 in every released checkpoint): row padding_idx
holds the pad token's position and rows below it are never used. The schema's W_pos drops
those rows so row i = position i, as for every other family (otherwise positional analyses
would read two untrained rows as positions 0 and 1).
"""
from __future__ import annotations

from .bert import Bert
from .config import ModelConfig
from .registry import register
from .transforms import drop_rows, same, transpose

POS = "embeddings.position_embeddings.weight"


@register
class Roberta(Bert):  # like BERT, but lm_head.* instead of cls.predictions.*, and positions start at pad + 1
    arch = "roberta"
    model_types = ("roberta",)
    tie = ("lm_head.decoder.weight", "embeddings.word_embeddings.weight")
    rules = {
        **{k: v for k, v in Bert.rules.items() if not k.startswith("unembed.")},
        "pos_embed.W_pos": (POS, drop_rows(2)),  # padding_idx 1 + 1; adjust() follows the config's pad_token_id
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
    def detect(cls, names: list[str]) -> bool:
        """No config.json: BERT's names under a 'roberta.' prefix, or RoBERTa's lm_head.* MLM head."""
        return cls.has_anchor(names) and any(n.startswith(("roberta.", "lm_head.decoder")) for n in names)

    def infer(self) -> dict:
        out = super().infer()
        if out.get("n_ctx"):
            out["n_ctx"] -= 2  # counted from the stored rows, which include the two before position 0
        return out

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        super().adjust(cfg, hf)
        offset = (hf or {}).get("pad_token_id", 1) + 1
        if hf is not None and cfg.n_ctx:
            cfg.n_ctx -= offset  # max_position_embeddings counts the rows before position 0 too (514 -> 512)
        if offset != 2:
            self.rules = {**self.rules, "pos_embed.W_pos": (POS, drop_rows(offset))}
        cfg.notes.append(f"Positions start at padding_idx + 1 = {offset}: the first {offset} rows of "
                         f"position_embeddings are dropped, so W_pos row i is position i.")
