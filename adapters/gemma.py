"""Gemma and Gemma2: like Llama, but RMSNorm stores w and scales by (1 + w).

The schema holds the real scale (`plus_one`), so a norm weight of 1 means "no change" in
every family. Gemma multiplies the embeddings by sqrt(d_model) on the way in (a constant,
not stored) and ties the LM head to them. head_dim is its own config entry (256 for most).
"""
from __future__ import annotations

from .config import ModelConfig
from .llama import L, Llama
from .registry import register
from .transforms import plus_one

_NORMS = ("blocks.{l}.ln1.w", "blocks.{l}.ln2.w", "ln_final.w")


@register
class Gemma(Llama):
    arch = "gemma"
    model_types = ("gemma",)
    defaults = {**Llama.defaults, "act": "gelu_pytorch_tanh", "tied_embeddings": True}
    rules = {slot: (source, plus_one) if slot in _NORMS else (source, transform)
             for slot, (source, transform) in Llama.rules.items()}
    KNOWN_HEADS = {2048: 8, 3072: 16}  # Gemma 2B, 7B (d_head 256)
    NO_CONFIG_NOTE = ""

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return False  # Gemma's names are Llama's: only config.json tells them apart (Llama's note says so)

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        super().adjust(cfg, hf)
        if cfg.d_model:
            cfg.notes.append(f"Token embeddings are multiplied by sqrt(d_model) = {cfg.d_model ** 0.5:.4g} "
                             "before the first layer; embed.W_E is stored unscaled.")


@register
class Gemma2(Gemma):
    """Like Gemma, plus a norm after attention and after the MLP, and tanh soft-capping of scores and logits."""
    arch = "gemma2"
    model_types = ("gemma2",)
    rules = {
        **Gemma.rules,
        # Gemma2's post_attention_layernorm follows attention; the MLP's input norm is pre_feedforward.
        "blocks.{l}.ln1_post.w": (L + "post_attention_layernorm.weight", plus_one),
        "blocks.{l}.ln2.w": (L + "pre_feedforward_layernorm.weight", plus_one),
        "blocks.{l}.ln2_post.w": (L + "post_feedforward_layernorm.weight", plus_one),
    }
    KNOWN_HEADS = {2304: 8, 3584: 16, 4608: 32}  # Gemma2 2B, 9B (d_head 256), 27B (d_head 128)

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return (super(Llama, cls).detect(names)  # the anchor, via Family
                and any(n.endswith("pre_feedforward_layernorm.weight") for n in names)
                and not any(n.endswith("self_attn.q_norm.weight") for n in names))  # Gemma3 has q/k norms

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        super().adjust(cfg, hf)
        hf = hf or {}
        if hf.get("query_pre_attn_scalar"):
            cfg.notes.append(f"Attention scores are scaled by 1/sqrt({hf['query_pre_attn_scalar']}) "
                             "(query_pre_attn_scalar), not 1/sqrt(d_head).")
        for key, what in (("attn_logit_softcapping", "Attention scores"), ("final_logit_softcapping", "Logits")):
            if hf.get(key):
                cfg.notes.append(f"{what} are soft-capped: cap * tanh(x / cap), cap = {hf[key]}.")
        if hf.get("sliding_window"):
            cfg.notes.append(f"Layers alternate between sliding-window ({hf['sliding_window']} tokens) "
                             "and global attention.")
