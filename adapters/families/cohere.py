"""Cohere (Command-R): Llama's projection names, but attention and the MLP run in parallel on one shared
norm per layer (a LayerNorm without bias: there is no post_attention_layernorm), the logits are scaled by
logit_scale, and the LM head is tied. Rotary rotates interleaved pairs, which changes no weight."""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .llama import ATTN, L, Q_NORM, Llama


PRE_MLP = L + "post_attention_layernorm.weight"  # Llama's norm before the MLP (named for where it sits)


@register
class Cohere(Llama):
    """Like Llama, minus the pre-MLP norm: attention and MLP both read input_layernorm's output."""
    arch = "cohere"
    model_types = ("cohere",)
    # q/k norms are allowed: use_qk_norm stores them
    layout = Layout(requires=tuple(r for r in Llama.layout.requires if r != PRE_MLP),
                    forbids=(*(f for f in Llama.layout.forbids if f != Q_NORM), PRE_MLP))
    defaults = {**Llama.defaults, "norm": "layernorm", "parallel_residual": True, "tied_embeddings": True}
    rules = {slot: rule for slot, rule in Llama.rules.items() if not slot.startswith("blocks.{l}.ln2")}
    ignored = {**Llama.ignored,
               r"self_attn\.(q|k)_norm\.weight$": ("norm", "use_qk_norm's per-head LayerNorm of q and k; not yet "
                                                           "in the schema")}
    NO_CONFIG_NOTE = ""

    @classmethod
    def stored_d_head(cls, tensors: Tensors) -> int | None:
        norm = tensors.shape(Q_NORM)  # use_qk_norm: [n_heads, d_head]
        return norm[-1] if norm and len(norm) == 2 else None

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        cfg = replace(cfg, logit_scale=float(hf.get("logit_scale") or 1.0))
        if tensors.has(ATTN + "q_norm.weight"):
            cfg = cfg.with_notes(Note("maths", "use_qk_norm: q and k pass a per-head LayerNorm after projection, "
                                               "which the per-head views do not include."))
        return cfg
