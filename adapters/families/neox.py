"""GPT-NeoX / Pythia: fused query_key_value laid out per head, partial rotary, parallel residual.

NeoX flattens the fused output axis as (head, qkv, d_head), not (qkv, head, d_head) as GPT-2
does, so q, k, v are cut per head (`interleaved`). Rotary touches only the first
rotary_pct * d_head dims of each head; the MLP reads the same residual as attention when
use_parallel_residual is set (every Pythia).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import interleaved, megatron_block, same, transpose

L = "layers.{l}."
QKV = L + "attention.query_key_value.weight"


@register
class NeoX(Family):
    arch = "neox"
    model_types = ("gpt_neox",)
    anchor = "embed_in.weight"
    layout = Layout(requires=(anchor, QKV))
    defaults = {"positional": "rotary", "act": "gelu", "parallel_residual": True, "rotary_base": 10000.0}
    rules = {
        "embed.W_E": ("embed_in.weight", same),
        **megatron_block(L, "attention", interleaved),
        "ln_final.w": ("final_layer_norm.weight", same),
        "ln_final.b": ("final_layer_norm.bias", same),
        "unembed.W_U": ("embed_out.weight", transpose),  # sits outside the 'gpt_neox.' prefix
    }
    ignored = {  # old checkpoints (Pythia) store these buffers
        r"attention\.(bias|masked_bias)$": ("buffer", "the causal-mask buffer old checkpoints store"),
        r"rotary_emb\.inv_freq$": ("buffer", "rotary frequencies, computed from rotary_emb_base"),
    }

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        if not tensors.has("embed_out.weight") and tensors.has("lm_head.weight"):
            # a checkpoint written with transformers' in-memory name rather than NeoX's own
            return replace(table, rules={**table.rules, "unembed.W_U": ("lm_head.weight", transpose)})
        return table

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, fc = tensors.shape(cls.anchor), tensors.shape(L + "mlp.dense_h_to_4h.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": fc[0] if fc else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        pct = hf.get("rotary_pct", rope.get("partial_rotary_factor", 0.25))  # old name, then transformers 5's
        cfg = replace(cfg, positional="rotary", parallel_residual=bool(hf.get("use_parallel_residual", True)),
                      rotary_dim=int(cfg.d_head * pct) if cfg.d_head else None)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: rotary_pct=0.25 and a parallel residual "
                                                 "(Pythia's) are assumed."))
        return cfg
