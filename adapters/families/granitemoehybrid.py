"""Granite-MoE-Hybrid (Granite 4.0-H): Mamba2 mixers in most layers, Granite's attention in the others
(layer_types), and in every layer Granite-MoE's fused experts beside a shared gated MLP.

Like Granite-MoE (adapters/families/granite_moe.py: the four multipliers, `input_linear` experts with gate and
up rows fused, the top-k softmax router), with three differences:
- input_layernorm is ln1 only where the mixer is attention; Mamba2 layers store `mamba.*` (no heads).
- Attention has no positional encoding unless position_embedding_type is "rope" (the Mamba2 layers carry position).
- `shared_mlp` (input_linear [2*d_shared, d_model], gate rows first) is in every layer; with no experts
  (num_local_experts 0) it is the layer's MLP itself, so it maps onto mlp.* rather than mlp.shared.*.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .granite_moe import SAVED, SHARED, GraniteMoe, _shared_half
from .llama import ATTN, L, Llama, head_dims_from_qk

MIXER_NORM = L + "input_layernorm.weight"  # before the layer's mixer: ln1 where that is attention
MAMBA = "state-space (Mamba2) mixer"
_DENSE = {  # no experts: the shared MLP is the layer's MLP
    "blocks.{l}.mlp.W_gate": (SHARED + "input_linear.weight", _shared_half(0)),  # [2*d_mlp, d_model]
    "blocks.{l}.mlp.W_in": (SHARED + "input_linear.weight", _shared_half(1)),
    "blocks.{l}.mlp.W_out": (SHARED + "output_linear.weight", transpose),  # [d_model, d_mlp]
}


@register
class GraniteMoeHybrid(GraniteMoe):
    """Like Granite-MoE, with Mamba2 mixers in place of attention in some layers and a shared MLP in every layer."""
    arch = "granitemoehybrid"
    model_types = ("granitemoehybrid",)
    layer_anchor = MIXER_NORM  # in every layer, whatever its mixer
    layout = Layout(requires=(Llama.anchor, MIXER_NORM, L + "post_attention_layernorm.weight", L + "mamba.dt_bias",
                              SHARED + "input_linear.weight"))
    defaults = {**GraniteMoe.defaults, "positional": "none"}
    rules = {slot: rule for slot, rule in GraniteMoe.rules.items() if slot != "blocks.{l}.ln1.w"}
    ignored = hybrid.mixer("mamba", MAMBA)

    @classmethod
    def attention_layers(cls, tensors: Tensors) -> tuple[int, ...]:
        return hybrid.stored_in(tensors, ATTN + "q_proj.weight", cls.count_layers(tensors))

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        table = super().rules_for(cfg, tensors)
        attention, n = cls.attention_layers(tensors), cfg.n_layers or 0
        dense = {} if hybrid.stored_in(tensors, SAVED["gate_up"], n) or \
            hybrid.stored_in(tensors, L + "block_sparse_moe.experts.gate_up_proj", n) else _DENSE
        rules = {slot: rule for slot, rule in table.rules.items() if not (dense and ".mlp.shared." in slot)}
        ln1 = hybrid.only_in(attention, {"blocks.{l}.ln1.w": (MIXER_NORM, same)})
        return replace(table, rules={**rules, **dense, **ln1}, ignored={
            **table.ignored, **hybrid.elsewhere(attention, n, MIXER_NORM, "norm", f"the norm before a {MAMBA}")})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """Granite-MoE's facts, with d_mlp the shared MLP's width when there are no experts and no head counts
        (q_proj alone does not give d_head; head_dims reads them once n_heads is known)."""
        out = {**super().infer(tensors), "n_heads": None, "n_kv_heads": None, "d_head": None}
        shared = tensors.shape(SHARED + "output_linear.weight")
        if not out.get("n_experts") and shared:
            out.update(d_mlp=shared[1], d_expert=None)
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        first = cls.attention_layers(tensors)[:1]
        if not first:
            raise ValueError("no layer stores attention")
        return head_dims_from_qk(n_heads, tensors, ATTN.replace("{l}", str(first[0])))

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        rope = hf.get("position_embedding_type") == "rope"
        cfg = replace(cfg, positional="rotary" if rope else "none", rotary_dim=cfg.d_head if rope else None)
        if not cfg.n_experts:  # the shared MLP is the MLP (intermediate_size is unused): no experts, no shared one
            shared = tensors.shape(SHARED + "output_linear.weight")  # [d_model, d_mlp]
            cfg = replace(cfg, n_shared_experts=0, d_expert=None, d_mlp=shared[1] if shared else cfg.d_mlp,
                          notes=[n for n in cfg.notes if not n.text.startswith("Routing:")])
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: attention is read without rotary positions, as "
                                                 "Granite 4.0-H has (position_embedding_type 'rope' would add them)."))
        return hybrid.with_layout_note(cfg, cls.attention_layers(tensors), MAMBA)
