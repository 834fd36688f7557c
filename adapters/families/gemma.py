"""Gemma and Gemma2: like Llama, but RMSNorm stores w and scales by (1 + w).

The schema holds the real scale (`plus_one`), so a norm weight of 1 means "no change" in
every family. Gemma multiplies the embeddings by sqrt(d_model) on the way in (a constant,
not stored) and ties the LM head to them. head_dim is its own config entry (256 for most).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import plus_one
from .llama import L, PRE_MLP_NORM, Q_NORM, ROUTER, Llama

_NORMS = ("blocks.{l}.ln1.w", "blocks.{l}.ln2.w", "ln_final.w")
POST_MLP_NORM = L + "post_feedforward_layernorm.weight"


@register
class Gemma(Llama):
    """Llama's names (so only config.json's model_type chooses it); norms store scale - 1."""
    arch = "gemma"
    model_types = ("gemma",)
    defaults = {**Llama.defaults, "act": "gelu_pytorch_tanh", "tied_embeddings": True}
    rules = {slot: (source, plus_one) if slot in _NORMS else (source, transform)
             for slot, (source, transform) in Llama.rules.items()}
    KNOWN_HEADS = {2048: 8, 3072: 16}  # Gemma 2B, 7B (d_head 256)
    NO_CONFIG_NOTE = ""

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        if cfg.d_model:
            cfg = replace(cfg, embed_scale=cfg.d_model ** 0.5).with_notes(Note(
                "maths", f"Token embeddings are multiplied by sqrt(d_model) = {cfg.d_model ** 0.5:.4g} before the "
                         "first layer; embed.W_E is stored unscaled."))
        return cfg


@register
class Gemma2(Gemma):
    """Like Gemma, plus a norm after attention and after the MLP, and tanh soft-capping of scores and logits."""
    arch = "gemma2"
    model_types = ("gemma2",)
    layout = Layout(requires=(*Llama.layout.requires, PRE_MLP_NORM, POST_MLP_NORM),
                    forbids=(Q_NORM, ROUTER))  # Q_NORM: Gemma3, which has these norms too
    rules = {
        **Gemma.rules,
        # Gemma2's post_attention_layernorm follows attention; the MLP's input norm is pre_feedforward.
        "blocks.{l}.ln1_post.w": (L + "post_attention_layernorm.weight", plus_one),
        "blocks.{l}.ln2.w": (PRE_MLP_NORM, plus_one),
        "blocks.{l}.ln2_post.w": (POST_MLP_NORM, plus_one),
    }
    defaults = {**Gemma.defaults, "norm_position": "sandwich"}
    KNOWN_HEADS = {2304: 8, 3584: 16, 4608: 32}  # Gemma2 2B, 9B (d_head 256), 27B (d_head 128)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        notes = []
        if hf.get("query_pre_attn_scalar"):
            notes.append(f"Attention scores are scaled by 1/sqrt({hf['query_pre_attn_scalar']}) "
                         "(query_pre_attn_scalar), not 1/sqrt(d_head).")
        for key, what in (("attn_logit_softcapping", "Attention scores"), ("final_logit_softcapping", "Logits")):
            if hf.get(key):
                notes.append(f"{what} are soft-capped: cap * tanh(x / cap), cap = {hf[key]}.")
        if hf.get("sliding_window"):
            notes.append(f"Layers alternate between sliding-window ({hf['sliding_window']} tokens) "
                         "and global attention.")
        scalar = hf.get("query_pre_attn_scalar")
        cfg = replace(cfg, attn_scale=float(scalar) ** -0.5 if scalar else None,
                      attn_softcap=_cap(hf, "attn_logit_softcapping"),
                      logit_softcap=_cap(hf, "final_logit_softcapping"), **sliding(hf))
        return cfg.with_notes(*(Note("maths", text) for text in notes))


def sliding(hf: dict) -> dict:
    """cfg's sliding_window and sliding_layers from config.json's sliding_window and layer_types; {} when no
    layer is windowed."""
    window, kinds = hf.get("sliding_window"), hf.get("layer_types") or []
    layers = tuple(l for l, kind in enumerate(kinds) if kind == "sliding_attention")
    return {"sliding_window": int(window), "sliding_layers": layers} if window and layers else {}


def _cap(hf: dict, key: str) -> float | None:
    return float(hf[key]) if hf.get(key) else None
