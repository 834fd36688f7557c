"""Kimi Linear: Kimi Delta Attention (a gated linear attention) in three layers of four, DeepSeek's multi-head
latent attention (MLA) in the others (layer_types), DeepSeek-V3's routed and shared experts.

Its linear-attention layers store Llama's self_attn.q_proj / k_proj / v_proj / o_proj (with other sizes: heads
of linear_head_dim) beside f_a_proj, f_b_proj, A_log, dt_bias ... and no kv_a_proj_with_mqa; the MLA layers store
DeepSeek's names (adapters/families/deepseek.py), so MLA's rows are written for those layers only and the linear
layers' self_attn.* stays outside the schema. The MLA has no rotary at all (its queries and keys are used as
projected; the "rotary" key part is one key shared by every head).

The MLPs sit under block_sparse_moe, in every layer: experts.{e}.w1 (gate), w3 (up), w2 (down) and gate (the
router) with its e_score_correction_bias in MoE layers; shared_experts.* beside them; a dense layer's gated MLP
as block_sparse_moe.gate_proj / up_proj / down_proj.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from .deepseek import KV_A, KV_B, KV_NORM, O, Q_B, Q_FULL, Q_NORM_A, DeepseekV3
from .llama import ATTN, L, Llama

MOE = L + "block_sparse_moe."
ROUTER = MOE + "gate.weight"
LINEAR_ONLY = (ATTN + "f_a_proj.weight", ATTN + "A_log")
MIXER = "linear-attention (Kimi Delta Attention) mixer"


def _renamed(source):
    """DeepSeek's MLP sources under block_sparse_moe; experts' gate/up/down under Mixtral's w1/w3/w2."""
    if isinstance(source, tuple):
        return source
    for old, new in (("experts.{e}.gate_proj", "experts.{e}.w1"), ("experts.{e}.up_proj", "experts.{e}.w3"),
                     ("experts.{e}.down_proj", "experts.{e}.w2")):
        source = source.replace(old, new)
    return source.replace(L + "mlp.", MOE)


@register
class KimiLinear(DeepseekV3):
    arch = "kimi_linear"
    model_types = ("kimi_linear",)
    layer_anchor = L + "input_layernorm.weight"  # in every layer, whatever its mixer
    # f_a_proj and A_log: Mixtral's layout would take it (self_attn.q_proj, block_sparse_moe) and refuse its heads
    layout = Layout(requires=(Llama.anchor, L + "input_layernorm.weight", *LINEAR_ONLY, KV_A, KV_B))
    rules = {slot: (_renamed(source), fn) for slot, (source, fn) in DeepseekV3.rules.items()}

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, KV_A, cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        mla = {slot: rule for slot, rule in table.rules.items() if ".attn." in slot}
        by_layer = {slot.replace("{l}", str(l)): (tuple(s.replace("{l}", str(l)) for s in src) if isinstance(src, tuple)
                                                  else src.replace("{l}", str(l)), fn)
                    for slot, (src, fn) in mla.items() for l in attention}
        others = [str(l) for l in range(n) if l not in attention]
        linear = {r"\.layers\.(?:" + "|".join(others) + r")\.self_attn\.": ("other", f"{MIXER}: no attention heads")}
        return replace(table, rules={**{s: r for s, r in table.rules.items() if s not in mla}, **by_layer},
                       ignored={**table.ignored, **(linear if others else {})})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """DeepSeek's MLA sizes read in the first MLA layer, and the experts in the first layer with a router."""
        n = cls.count_layers(tensors)
        first = (cls.attention_layers(tensors) or (0,))[0]
        shape = lambda t: tensors.shape(t, first)  # noqa: E731
        embed = tensors.shape(Llama.anchor)
        out = {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
               "tied_embeddings": not tensors.has("lm_head.weight")}
        dense = hybrid.first_shape(tensors, MOE + "gate_proj.weight", n)
        out["d_mlp"] = dense[0] if dense else None
        routed = hybrid.stored_in(tensors, ROUTER, n)
        if routed:
            router, gate = tensors.shape(ROUTER, routed[0]), tensors.shape(MOE + "experts.0.w1.weight", routed[0])
            out.update(n_experts=router[0], d_expert=gate[0] if gate else None)
        kv_a, kv_norm, kv_b, o = (shape(t) for t in (KV_A, KV_NORM, KV_B, O))
        q, q_norm = shape(Q_B) or shape(Q_FULL), shape(Q_NORM_A)
        out["q_lora_rank"] = q_norm[0] if q_norm else None
        if not (kv_a and kv_norm and kv_b and o and q):
            return out
        rope = kv_a[0] - kv_norm[0]
        heads, rest = divmod(q[0] - kv_b[0] + o[1], rope) if rope > 0 else (0, 1)
        if heads > 0 and not rest and not o[1] % heads and not q[0] % heads:
            out.update(n_heads=heads, n_kv_heads=heads, d_head=q[0] // heads, d_head_v=o[1] // heads)
        return {**out, "kv_lora_rank": kv_norm[0], "d_head_rope": rope}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = (cls.attention_layers(tensors) or (0,))[0]
        q = tensors.shape(Q_B, first) or tensors.shape(Q_FULL, first)
        if not q or q[0] % n_heads:
            raise ValueError(f"the query projection has {q[0] if q else '?'} rows, not a multiple of {n_heads}")
        return q[0] // n_heads, n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        routed = hybrid.stored_in(tensors, ROUTER, cfg.n_layers or 0)
        shared = tensors.shape(MOE + "shared_experts.gate_proj.weight", routed[0]) if routed else None
        cfg = replace(cfg, positional="none", rotary_dim=None,  # MLA without rotary: NoPE
                      moe_layers=None if len(routed) == (cfg.n_layers or 0) else routed,
                      n_shared_experts=shared[0] // cfg.d_expert if shared and cfg.d_expert else cfg.n_shared_experts)
        cfg = cfg.with_notes(Note("positions", f"No rotary embedding: W_K's last {cfg.d_head_rope} columns, one key "
                                               "for every head, are used as projected (as are the queries)."))
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), MIXER)
