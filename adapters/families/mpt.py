"""MPT (MosaicML): alibi instead of positions, q, k, v fused in Wqkv, LayerNorms without biases, no biases at all.

Wqkv is [3*d_model, d_model]: the q, k, v blocks one after another (`rows`). alibi adds slope_h * (key
position) to each head's scores, slopes 2^(-8 (h+1) / n_heads) (Bloom's when n_heads is a power of two).
attn_config.softmax_scale, when set, replaces 1/sqrt(d_head); clip_qkv clamps q, k and v. The LM head is tied.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, heads_in, heads_out, qkv_sizes, rows, same, transpose

L = "blocks.{l}."
QKV = L + "attn.Wqkv.weight"


@register
class MPT(Family):
    arch = "mpt"
    model_types = ("mpt",)
    anchor = "wte.weight"  # prefix 'transformer.'
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV, L + "ffn.up_proj.weight", L + "norm_1.weight"))
    tie = ("lm_head.weight", "wte.weight")
    defaults = {"positional": "alibi", "act": "gelu", "tied_embeddings": True}
    KNOWN_HEADS = {4096: 32, 7168: 64}  # MPT-7B, MPT-30B
    rules = {
        "embed.W_E": ("wte.weight", same),
        "blocks.{l}.ln1.w": (L + "norm_1.weight", same),
        "blocks.{l}.ln1.b": (L + "norm_1.bias", same),  # no_bias=False only
        **{f"blocks.{{l}}.attn.W_{x}": (QKV, chain(rows(i, qkv_sizes), heads_in())) for i, x in enumerate("QKV")},
        **{f"blocks.{{l}}.attn.b_{x}": (L + "attn.Wqkv.bias", chain(rows(i, qkv_sizes), heads_in()))
           for i, x in enumerate("QKV")},
        "blocks.{l}.attn.W_O": (L + "attn.out_proj.weight", heads_out),  # [d_model, d_model]
        "blocks.{l}.attn.b_O": (L + "attn.out_proj.bias", same),
        "blocks.{l}.ln2.w": (L + "norm_2.weight", same),
        "blocks.{l}.ln2.b": (L + "norm_2.bias", same),
        "blocks.{l}.mlp.W_in": (L + "ffn.up_proj.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "ffn.up_proj.bias", same),
        "blocks.{l}.mlp.W_out": (L + "ffn.down_proj.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "ffn.down_proj.bias", same),
        "ln_final.w": ("norm_f.weight", same),
        "ln_final.b": ("norm_f.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        wte, up = tensors.shape(cls.anchor), tensors.shape(L + "ffn.up_proj.weight")
        return {"d_model": wte[1], "d_vocab": wte[0], "d_mlp": up[0] if up else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        attn = hf.get("attn_config") if isinstance(hf.get("attn_config"), dict) else {}
        scale = attn.get("softmax_scale")
        cfg = replace(cfg, positional="alibi" if attn.get("alibi", True) else "learned", n_ctx=None,
                      attn_scale=float(scale) if scale else None)
        notes = []
        if cfg.n_heads and cfg.n_heads & (cfg.n_heads - 1):
            notes.append("n_heads is not a power of two: alibi's slopes are MPT's, not Bloom's.")
        if attn.get("clip_qkv"):
            notes.append(f"Queries, keys and values are clamped to ±{attn['clip_qkv']}.")
        if attn.get("qk_ln"):
            notes.append("Queries and keys pass a LayerNorm (qk_ln) the schema does not hold.")
        return cfg.with_notes(*(Note("maths", n) for n in notes))
