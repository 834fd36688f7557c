"""Qwen3-Next and Qwen3.5: Gated DeltaNet (linear attention) in three layers of four, gated softmax attention in
the fourth (layer_types), and Qwen2-MoE's experts with a gated shared expert (Qwen3.5: a gated MLP).

Differences from Qwen3 in the attention layers:
- q_proj holds each head's query and its output gate side by side, (head, [query, gate], d_head) on the
  output axis: W_Q and W_gate are cut from it per head, and each head's output is z_h * sigmoid(x @ W_gate[h]).
- Every RMSNorm (ln1, ln2, q/k norms, the final norm) stores w and scales by 1 + w, as Gemma's do.
- Rotary turns a quarter of each head (partial_rotary_factor 0.25).
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import interleaved, plus_one
from .llama import ATTN, Q_NORM, L, Llama
from .qwen_moe import Qwen2Moe

LINEAR = L + "linear_attn."
MIXER_NORM = L + "input_layernorm.weight"
_PLUS_ONE = {"blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", plus_one),
             "blocks.{l}.attn.q_norm.w": (Q_NORM, plus_one),  # [d_head], shared by all heads
             "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", plus_one),
             "ln_final.w": ("norm.weight", plus_one)}


@register
class Qwen3Next(Qwen2Moe):
    arch = "qwen3_next"
    model_types = ("qwen3_next",)
    layer_anchor = MIXER_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(Llama.anchor, MIXER_NORM, L + "post_attention_layernorm.weight",
                              LINEAR + "in_proj_qkvz.weight"))
    rules = {
        **{slot: rule for slot, rule in Qwen2Moe.rules.items() if slot != "blocks.{l}.ln1.w"},
        **_PLUS_ONE,
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", interleaved(0, parts=2)),  # [n_heads*2*d_head, d_model]
        "blocks.{l}.attn.W_gate": (ATTN + "q_proj.weight", interleaved(1, parts=2)),
    }
    MIXER = "linear-attention (Gated DeltaNet) mixer"
    ignored = hybrid.mixer("linear_attn", MIXER)
    defaults = {**Llama.defaults, "qk_norm": "head"}

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention = cls.attention_layers(tensors)
        ln1 = hybrid.only_in(attention, {"blocks.{l}.ln1.w": (MIXER_NORM, plus_one)})
        return replace(table, rules={**table.rules, **ln1}, ignored={
            **table.ignored, **hybrid.elsewhere(attention, cfg.n_layers or 0, MIXER_NORM, "norm",
                                                f"the norm before a {cls.MIXER}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """Llama's and the experts' facts, with head counts read in the first attention layer: q_norm gives
        d_head, q_proj holds 2 * n_heads of them."""
        out = {**super().infer(tensors), "n_heads": None, "n_kv_heads": None, "d_head": None}
        n = cls.count_layers(tensors)
        dense = hybrid.first_shape(tensors, L + "mlp.gate_proj.weight", n)
        out["d_mlp"] = dense[0] if dense else None
        norm, q, k = (hybrid.first_shape(tensors, ATTN + t, n) for t in ("q_norm.weight", "q_proj.weight",
                                                                          "k_proj.weight"))
        if norm and q and k:
            out.update(d_head=norm[0], n_heads=q[0] // (2 * norm[0]), n_kv_heads=k[0] // norm[0])
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        n = cls.count_layers(tensors)
        q, k = (hybrid.first_shape(tensors, ATTN + t, n) for t in ("q_proj.weight", "k_proj.weight"))
        if not q or not k or q[0] % (2 * n_heads):
            raise ValueError(f"q_proj's rows are not n_heads={n_heads} (query, gate) pairs")
        d_head = q[0] // (2 * n_heads)
        return d_head, k[0] // d_head

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("rope_parameters") or {}
        factor = (rope.get("partial_rotary_factor") if isinstance(rope, dict) else None) or \
            hf.get("partial_rotary_factor") or 0.25
        cfg = replace(cfg, rotary_dim=int((cfg.d_head or 0) * factor) or None)
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), cls.MIXER)


@register
class Qwen35(Qwen3Next):
    """Like Qwen3-Next, with the linear attention's q, k, v and z projections stored as in_proj_qkv and
    in_proj_z (Qwen3.5 text; its dense checkpoints have Llama's gated MLP, its MoE ones Qwen3-Next's experts)."""
    arch = "qwen3_5"
    model_types = ("qwen3_5_text",)
    layout = Layout(requires=(Llama.anchor, MIXER_NORM, L + "post_attention_layernorm.weight",
                              LINEAR + "in_proj_qkv.weight", LINEAR + "in_proj_z.weight"))
