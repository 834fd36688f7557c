"""Jamba: Mamba (state-space) layers with softmax attention in one layer of every attn_layer_period, and a
mixture of experts in place of the MLP in one layer of every expert_layer_period.

Attention layers store Llama's bias-free q/k/v/o_proj under self_attn and use no positional encoding (the
Mamba layers carry position). Every layer has input_layernorm before its mixer and pre_ff_layernorm before its
feed_forward: a gated MLP (gate/up/down_proj) or a router and per-expert gated MLPs, as Mixtral computes them.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig
from ..family import Family, Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose
from .llama import head_dims_from_qk

L = "layers.{l}."
ATTN = L + "self_attn."
FF = L + "feed_forward."
ROUTER = FF + "router.weight"
MIXER_NORM = L + "input_layernorm.weight"  # before the layer's mixer: ln1 where that is attention


@register
class Jamba(Family):
    arch = "jamba"
    model_types = ("jamba",)
    anchor = "embed_tokens.weight"
    layer_anchor = MIXER_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(anchor, MIXER_NORM, L + "pre_ff_layernorm.weight", L + "mamba.x_proj.weight",
                              L + "mamba.dt_proj.weight"))  # Mamba (1): x_proj and dt_proj; Mamba2 has neither
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "none", "norm": "rmsnorm", "gated_mlp": True, "act": "silu",
                "tied_embeddings": False, "n_experts_per_token": 2}
    rules = {  # torch Linear stores [out, in]
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "o_proj.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.ln2.w": (L + "pre_ff_layernorm.weight", same),
        "blocks.{l}.mlp.W_gate": (FF + "gate_proj.weight", transpose),  # dense layers: [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (FF + "up_proj.weight", transpose),
        "blocks.{l}.mlp.W_out": (FF + "down_proj.weight", transpose),
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # expert layers: [n_experts, d_model]
        "blocks.{l}.mlp.experts.W_gate": (FF + "experts.{e}.gate_proj.weight", transpose),  # each [d_expert, d_model]
        "blocks.{l}.mlp.experts.W_in": (FF + "experts.{e}.up_proj.weight", transpose),
        "blocks.{l}.mlp.experts.W_out": (FF + "experts.{e}.down_proj.weight", transpose),
        "ln_final.w": ("final_layernorm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
    }
    MIXER = "state-space (Mamba) mixer"
    ignored = hybrid.mixer("mamba", MIXER)

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        ln1 = hybrid.only_in(attention, {"blocks.{l}.ln1.w": (MIXER_NORM, same)})
        return replace(table, rules={**table.rules, **ln1},
                       ignored={**table.ignored, **hybrid.elsewhere(attention, n, MIXER_NORM, "norm",
                                                                    f"the norm before a {cls.MIXER}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        n = cls.count_layers(tensors)
        embed = tensors.shape(cls.anchor)
        dense, router = hybrid.first_shape(tensors, FF + "gate_proj.weight", n), hybrid.first_shape(tensors, ROUTER, n)
        expert = hybrid.first_shape(tensors, FF + "experts.0.gate_proj.weight", n)
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "d_mlp": dense[0] if dense else None, "n_experts": router[0] if router else None,
                "d_expert": expert[0] if expert else None, "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, ATTN.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        moe = hybrid.stored_in(tensors, ROUTER, cfg.n_layers or 0)
        cfg = replace(cfg, moe_layers=moe if cfg.n_experts else None, d_expert=cfg.d_expert or cfg.d_mlp)
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), cls.MIXER)
