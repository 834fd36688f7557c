"""ModernBERT (an encoder) and ModernBERT-decoder: pre-norm, rotary, a GeGLU MLP fused in Wi, no biases.

    h = h + Wo(attn(attn_norm(h)));  h = h + Wo(act(x Wi_a) * (x Wi_b)), x = mlp_norm(h)
The first layer has no attn_norm (embeddings.norm has just normed the stream), so its ln1 is absent. Wi is
[2*d_mlp, d_model]: the half the activation runs on first (the schema's gate), then the linear half. The
encoder fuses q, k, v in Wqkv as (qkv, head, d_head); the decoder keeps q_proj, k_proj, v_proj. LayerNorms
have no bias unless norm_bias. Layers alternate between sliding-window and global attention (layer_types),
each kind with its own rotary base. The MLM / LM head is dense -> act -> norm -> decoder (tied, with a bias).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, halves, heads_in, heads_out, qkv_sizes, rows, same, transpose

L = "layers.{l}."
QKV = L + "attn.Wqkv.weight"
_NORMS = ("weight", "bias")


@register
class ModernBert(Family):
    arch = "modernbert"
    model_types = ("modernbert",)
    anchor = "embeddings.tok_embeddings.weight"  # prefix 'model.' in the task models
    layer_anchor = L + "mlp.Wi.weight"
    layout = Layout(requires=(anchor, QKV, L + "mlp.Wi.weight"))
    encoder = True
    tie = ("decoder.weight", "embeddings.tok_embeddings.weight")
    defaults = {"positional": "rotary", "act": "gelu", "gated_mlp": True, "tied_embeddings": True}
    KNOWN_HEADS = {768: 12, 1024: 16}  # ModernBERT base, large
    ATTN = {  # everything but q, k, v, which the two variants store differently
        "embed.W_E": ("embeddings.tok_embeddings.weight", same),
        **{f"embed.ln.{p[0]}": (f"embeddings.norm.{p}", same) for p in _NORMS},
        **{f"blocks.{{l}}.ln1.{p[0]}": (L + f"attn_norm.{p}", same) for p in _NORMS},  # absent in layer 0
        "blocks.{l}.attn.W_O": (L + "attn.Wo.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.b_O": (L + "attn.Wo.bias", same),
        **{f"blocks.{{l}}.ln2.{p[0]}": (L + f"mlp_norm.{p}", same) for p in _NORMS},
        "blocks.{l}.mlp.W_gate": (L + "mlp.Wi.weight", chain(rows(0, halves), transpose)),  # (d_model, d_mlp)
        "blocks.{l}.mlp.W_in": (L + "mlp.Wi.weight", chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (L + "mlp.Wo.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "mlp.Wo.bias", same),
        **{f"ln_final.{p[0]}": (f"final_norm.{p}", same) for p in _NORMS},
        "unembed.W_U": ("decoder.weight", transpose),
        "unembed.b_U": ("decoder.bias", same),
    }
    rules = {
        **ATTN,
        **{f"blocks.{{l}}.attn.W_{x}": (QKV, chain(rows(i, qkv_sizes), heads_in())) for i, x in enumerate("QKV")},
        **{f"blocks.{{l}}.attn.b_{x}": (L + "attn.Wqkv.bias", chain(rows(i, qkv_sizes), heads_in()))
           for i, x in enumerate("QKV")},
    }
    ignored = {
        r"(^|\.)head\.(dense|norm)\.": ("unembed", "the MLM head's dense + norm before W_U"),
        r"(^|\.)lm_head\.(dense|norm)\.": ("unembed", "the LM head's dense + norm before W_U"),
        r"^classifier\.": ("other", "a task head, outside the transformer body"),
        r"mlp\.Wi\.bias$": ("mlp", "mlp_bias (no released checkpoint): its gate half has no schema slot"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        emb, wi = tensors.shape(cls.anchor), tensors.shape(L + "mlp.Wi.weight")
        return {"d_model": emb[1], "d_vocab": emb[0], "d_mlp": wi[0] // 2 if wi else None}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(cfg, act=hf.get("hidden_activation") or cfg.act)
        window = hf.get("local_attention")
        kinds = hf.get("layer_types") or []
        local = [l for l, k in enumerate(kinds) if k == "sliding_attention"]
        if window and local:
            reach = "on each side" if cls.encoder else "back"
            cfg = cfg.with_notes(Note("maths", f"Layers {', '.join(map(str, local))} attend only within "
                                               f"{window // 2} tokens {reach} (local_attention={window}); the "
                                               "others attend globally, with their own rotary base."))
        return cfg


@register
class ModernBertDecoder(ModernBert):
    """Like ModernBERT, causal, with separate q_proj, k_proj, v_proj."""
    arch = "modernbert_decoder"
    model_types = ("modernbert-decoder",)
    layout = Layout(requires=(ModernBert.anchor, L + "attn.q_proj.weight", L + "attn.Wo.weight", L + "mlp.Wi.weight"))
    encoder = False
    rules = {
        **ModernBert.ATTN,
        **{f"blocks.{{l}}.attn.{k}_{x.upper()}": (L + f"attn.{x}_proj.{p}", heads_in())
           for x in "qkv" for k, p in (("W", "weight"), ("b", "bias"))},
    }
