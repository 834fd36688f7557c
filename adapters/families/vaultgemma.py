"""VaultGemma: Gemma2's maths ((1 + w) RMSNorms, sqrt(d_model) embedding scale, soft-capping, query_pre_attn_scalar)
with only the two input norms: input_layernorm before attention and pre_feedforward_layernorm before the MLP,
nothing after either sublayer (cfg.norm_position = "pre")."""
from __future__ import annotations

from ..layout import Layout
from ..registry import register
from .gemma import POST_MLP_NORM, Gemma2
from .llama import L, PRE_MLP_NORM, Q_NORM, ROUTER, Llama

POST_ATTN_NORM = L + "post_attention_layernorm.weight"


@register
class VaultGemma(Gemma2):
    """Like Gemma2, minus the norms after attention and after the MLP."""
    arch = "vaultgemma"
    model_types = ("vaultgemma",)
    layout = Layout(requires=(*(r for r in Llama.layout.requires if r != POST_ATTN_NORM), PRE_MLP_NORM),
                    forbids=(POST_ATTN_NORM, POST_MLP_NORM, Q_NORM, ROUTER))
    rules = {s: r for s, r in Gemma2.rules.items() if s not in ("blocks.{l}.ln1_post.w", "blocks.{l}.ln2_post.w")}
    defaults = {**Gemma2.defaults, "norm_position": "pre"}
    KNOWN_HEADS = {1152: 4}  # VaultGemma 1B
