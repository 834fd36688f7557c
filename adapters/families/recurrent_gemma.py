"""RecurrentGemma (Griffin): recurrent (RG-LRU) temporal blocks in two layers of three, local attention in the
third (block_types, repeated), and a gated MLP with biases in every layer.

Like Gemma: every RMSNorm stores w and scales by 1 + w (the schema holds 1 + w), embeddings are scaled by
sqrt(d_model) (transformers keeps that constant in bfloat16, so it is rounded as bfloat16 here too), gelu-tanh
gates the MLP and logits are soft-capped (logits_soft_cap). Its own layout:
- the mixer is `temporal_block`: q/k/v_proj (biases when attention_bias) and o_proj (always a bias) in the
  attention layers, linear_x/y/out, conv_1d and rg_lru in the recurrent ones (no heads);
- temporal_pre_norm before the mixer (ln1 where it attends), channel_pre_norm before mlp_block, final_norm;
- attention is local: every attention layer sees the last attention_window_size tokens; rotary turns
  partial_rotary_factor (0.5) of each head.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, plus_one, same, transpose
from .llama import head_dims_from_qk

L = "layers.{l}."
ATTN = L + "temporal_block."
MLP = L + "mlp_block."
MIXER_NORM = L + "temporal_pre_norm.weight"  # before the layer's mixer: ln1 where that is attention
RECURRENT = "recurrent (RG-LRU) temporal block"


@register
class RecurrentGemma(Family):
    arch = "recurrent_gemma"
    model_types = ("recurrent_gemma",)
    anchor = "embed_tokens.weight"
    layer_anchor = MIXER_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(anchor, MIXER_NORM, L + "channel_pre_norm.weight", MLP + "gate_proj.weight",
                              "final_norm.weight"))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "gelu_pytorch_tanh",
                "tied_embeddings": True}
    rules = {  # torch Linear stores [out, in]
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "o_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.b_Q": (ATTN + "q_proj.bias", heads_in()),  # attention_bias only
        "blocks.{l}.attn.b_K": (ATTN + "k_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_V": (ATTN + "v_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_O": (ATTN + "o_proj.bias", same),  # [d_model], always
        "blocks.{l}.ln2.w": (L + "channel_pre_norm.weight", plus_one),
        "blocks.{l}.mlp.W_gate": (MLP + "gate_proj.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (MLP + "up_proj.weight", transpose),
        "blocks.{l}.mlp.W_out": (MLP + "down_proj.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_gate": (MLP + "gate_proj.bias", same),
        "blocks.{l}.mlp.b_in": (MLP + "up_proj.bias", same),
        "blocks.{l}.mlp.b_out": (MLP + "down_proj.bias", same),
        "ln_final.w": ("final_norm.weight", plus_one),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    ignored = {r"\.temporal_block\.(?:linear_[xy]|linear_out|conv_1d|rg_lru)\.": ("other", f"{RECURRENT}: no "
                                                                                        "attention heads")}

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        ln1 = hybrid.only_in(attention, {"blocks.{l}.ln1.w": (MIXER_NORM, plus_one)})
        return replace(table, rules={**table.rules, **ln1},
                       ignored={**table.ignored, **hybrid.elsewhere(attention, n, MIXER_NORM, "norm",
                                                                    f"the norm before a {RECURRENT}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, gate = tensors.shape(cls.anchor), tensors.shape(MLP + "gate_proj.weight")
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "d_mlp": gate[0] if gate else None, "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, ATTN.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        gate = tensors.shape(MLP + "gate_proj.weight")  # the MLP is intermediate_size // 2 wide
        rope = hf.get("rope_parameters") if isinstance(hf.get("rope_parameters"), dict) else {}
        factor = rope.get("partial_rotary_factor") or hf.get("partial_rotary_factor") or 0.5
        attention = cls.attention_layers(tensors)
        window = hf.get("attention_window_size") or (2048 if not hf else None)
        cap = hf.get("logits_soft_cap", 30.0 if not hf else None)
        cfg = replace(cfg, d_mlp=gate[0] if gate else cfg.d_mlp, rotary_dim=int((cfg.d_head or 0) * factor) or None,
                      act=hf.get("hidden_activation") or cfg.act, embed_scale=_bf16(math.sqrt(cfg.d_model or 1)),
                      logit_softcap=float(cap) if cap else None,
                      sliding_window=int(window) if window and attention else None,
                      sliding_layers=attention if window and attention else None)
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: RecurrentGemma's usual attention window (2048) and "
                                                 "logit soft cap (30) are assumed."))
        return hybrid.with_layout_note(cfg, attention, RECURRENT)


def _bf16(x: float) -> float:
    """x rounded to the nearest bfloat16 (the top 16 bits of a float32), ties to even."""
    bits = np.array([x], np.float32).view(np.uint32)
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return float(bits.view(np.float32)[0])
