"""LFM3: LFM2's layers (gated short convolutions in most, grouped-query attention in the others) with three
changes that the schema holds:
- sandwich norms: post_operator_norm on the mixer's output (ln1_post where the mixer is attention) and
  post_ffn_norm on the MLP's (ln2_post), each before the residual add, as Gemma2's;
- an output gate per head, one value per head and token: z_h * sigmoid(x @ gate_proj[h]), gate_proj
  [n_heads, d_model] (checkpoints store gate_proj; transformers loads it as g_proj);
- sliding-window attention layers beside the full ones (layer_types), each kind with its own rotary settings.

Names beside LFM2's: attention's o_proj, q_norm and k_norm (per head, as Qwen3's) in place of out_proj and
q_layernorm / k_layernorm.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_out, same
from .gemma import sliding
from .lfm2 import ATTN, CONV, FF, MIXER_NORM, L, Lfm2

POST_MIXER = L + "post_operator_norm.weight"  # after the mixer: ln1_post where that is attention


@register
class Lfm3(Lfm2):
    arch = "lfm3"
    model_types = ("lfm3",)
    # post_ffn_norm (sandwich norms, on by default) tells it from LFM2, which forbids it
    layout = Layout(requires=(Lfm2.anchor, MIXER_NORM, L + "ffn_norm.weight", L + "post_ffn_norm.weight",
                              FF + "w1.weight", "embedding_norm.weight"))
    rules = {
        **{slot: rule for slot, rule in Lfm2.rules.items()
           if slot not in ("blocks.{l}.attn.W_O", "blocks.{l}.attn.q_norm.w", "blocks.{l}.attn.k_norm.w")},
        "blocks.{l}.attn.W_O": (ATTN + "o_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.W_gate_head": (ATTN + "gate_proj.weight", same),  # [n_heads, d_model]: one gate per head
        "blocks.{l}.attn.q_norm.w": (ATTN + "q_norm.weight", same),  # [d_head], shared by all heads
        "blocks.{l}.attn.k_norm.w": (ATTN + "k_norm.weight", same),
        "blocks.{l}.ln2_post.w": (L + "post_ffn_norm.weight", same),
    }

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        post = hybrid.only_in(attention, {"blocks.{l}.ln1_post.w": (POST_MIXER, same)})
        return replace(table, rules={**table.rules, **post},
                       ignored={**table.ignored, **hybrid.elsewhere(attention, n, POST_MIXER, "norm",
                                                                    f"the norm after a {CONV}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """LFM2's facts, with q_norm's length as d_head."""
        out = super().infer(tensors)
        n = cls.count_layers(tensors)
        norm, q, k = (hybrid.first_shape(tensors, ATTN + t, n) for t in ("q_norm.weight", "q_proj.weight",
                                                                          "k_proj.weight"))
        if norm and q and k:
            out.update(d_head=norm[0], n_heads=q[0] // norm[0], n_kv_heads=k[0] // norm[0])
        return out

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), **sliding(hf))
        rope = hf.get("rope_parameters")
        if isinstance(rope, dict) and isinstance(rope.get("full_attention"), dict):
            full, local = rope["full_attention"], rope.get("sliding_attention") or {}
            cfg = cfg.with_notes(Note("positions", (
                f"Full-attention layers: rotary {full.get('rope_type', 'default')} with base "
                f"{full.get('rope_theta')} on a {full.get('partial_rotary_factor', 1.0)} share of each head; "
                f"sliding-window layers: {local.get('rope_type', 'default')} with base {local.get('rope_theta')}.")))
        return cfg
