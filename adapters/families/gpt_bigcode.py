"""GPTBigCode (SantaCoder, StarCoder 1): GPT-2's tensor names, but torch Linear layout and multi-query attention.

Every weight is stored [out, in] (GPT-2's Conv1D stores [in, out]). With multi_query (every released
checkpoint) c_attn is [d_model + 2*d_head, d_model]: all query heads, then one key head and one value head
that every query head shares (n_kv_heads = 1). Without it, c_attn is laid out per head as (head, qkv, d_head),
as NeoX's is. The names are GPT-2's, so only config.json's model_type chooses it.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Tensors
from ..registry import register
from ..transforms import chain, fused_qkv, heads_in, heads_out, interleaved, qkv_sizes, rows, transpose
from .gpt2 import GPT2, QKV, QKV_B

_LINEAR = {  # GPT-2's Conv1D rules as Linear [out, in]
    "blocks.{l}.attn.W_O": ("h.{l}.attn.c_proj.weight", heads_out),
    "blocks.{l}.mlp.W_in": ("h.{l}.mlp.c_fc.weight", transpose),  # [d_mlp, d_model]
    "blocks.{l}.mlp.W_out": ("h.{l}.mlp.c_proj.weight", transpose),  # [d_model, d_mlp]
}


def _grouped(part: int):
    """q, k or v of multi-query c_attn: [q (n_heads*d_head); k (n_kv_heads*d_head); v] -> heads."""
    return chain(rows(part, qkv_sizes), heads_in("n_heads" if part == 0 else "n_kv_heads"))


@register
class GPTBigCode(GPT2):
    """Like GPT-2, in Linear layout, with one shared key/value head (multi_query)."""
    arch = "gpt_bigcode"
    model_types = ("gpt_bigcode",)
    stores_in_out = False
    defaults = {**GPT2.defaults, "act": "gelu_pytorch_tanh", "tied_embeddings": True}
    rules = {**GPT2.rules, **_LINEAR, **fused_qkv(QKV, QKV_B, _grouped)}
    PER_HEAD_RULES = {**GPT2.rules, **_LINEAR, **fused_qkv(QKV, QKV_B, interleaved)}  # multi_query: false
    KNOWN_HEADS = {2048: 16, 6144: 48}  # SantaCoder, StarCoder

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors):
        table = super().rules_for(cfg, tensors)
        return table if cfg.n_kv_heads == 1 else replace(table, rules=cls.PER_HEAD_RULES)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        out = super().infer(tensors)
        fc = tensors.shape("h.{l}.mlp.c_fc.weight")
        return {**out, "d_mlp": fc[0] if fc else None}  # Linear: [d_mlp, d_model]

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """c_attn's rows are d_model + 2 * n_kv_heads * d_head: one kv head (multi-query) or n_heads."""
        d_head, _ = super().head_dims(n_heads, cfg, tensors)
        qkv = tensors.shape(QKV)
        return d_head, (qkv[0] - cfg.d_model) // (2 * d_head) if qkv else n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        multi_query = bool(hf.get("multi_query", True))
        cfg = replace(cfg, n_kv_heads=1 if multi_query else cfg.n_heads)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: multi-query attention (one key/value head, "
                                                 "StarCoder's) is assumed."))
        return cfg
