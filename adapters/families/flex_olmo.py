"""FlexOlmo (flex_olmo): OLMo2's attention and output norms, with OLMoE's experts in place of the MLP.

    h = h + post_attention_layernorm(attn(h));  h = h + post_feedforward_layernorm(moe(h))
    moe(h) = sum_top w_e * expert_e(h),  w = top n_experts_per_token of softmax(h @ W_router), renormalised when
                                          norm_topk_prob
Experts use Qwen-MoE's names (mlp.experts.{e}.*, router mlp.gate).
"""
from __future__ import annotations

from ..layout import Layout
from ..registry import register
from ..transforms import transpose
from .gemma import POST_MLP_NORM
from .llama import ATTN, PRE_MLP_NORM, Q_NORM, ROUTER, L, Llama
from .olmo2 import POST_ATTN_NORM, Olmo2
from .qwen_moe import StoredExperts, per_expert_rules


@register
class FlexOlmo(StoredExperts, Olmo2):
    """Like OLMo2, with routed experts in place of the MLP."""
    arch = "flex_olmo"
    model_types = ("flex_olmo",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), Q_NORM, POST_ATTN_NORM,
                              POST_MLP_NORM, ROUTER),
                    forbids=(L + "input_layernorm.weight", PRE_MLP_NORM))
    rules = {**Olmo2.rules, "blocks.{l}.mlp.W_router": (ROUTER, transpose), **per_expert_rules()}
