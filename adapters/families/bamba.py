"""Bamba and Falcon-H1: Mamba2 (state-space) mixers and Llama's rotary attention, each layer with a gated MLP.

Like Jamba's layer names (input_layernorm, self_attn, pre_ff_layernorm, feed_forward, final_layernorm), minus
the experts, and with Mamba2's mixer (dt_bias, no x_proj or dt_proj). Bamba's attention layers are those in
attn_layer_indices; rotary turns half of each head (partial_rotary_factor 0.5). Falcon-H1 stores the same
names but runs attention beside the Mamba2 mixer in every layer, on the same normed input, and scales many
activations by constants from config.json (its MuP multipliers); only its model_type chooses it.
"""
from __future__ import annotations

from dataclasses import replace

from .. import hybrid
from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from .jamba import FF, MIXER_NORM, L, Jamba

_EXPERTS = ("blocks.{l}.mlp.W_router", "blocks.{l}.mlp.experts.W_gate", "blocks.{l}.mlp.experts.W_in",
            "blocks.{l}.mlp.experts.W_out")


@register
class Bamba(Jamba):
    """Like Jamba, with Mamba2 mixers, rotary attention and no experts."""
    arch = "bamba"
    model_types = ("bamba",)
    layout = Layout(requires=(Jamba.anchor, MIXER_NORM, L + "pre_ff_layernorm.weight", L + "mamba.dt_bias",
                              L + "mamba.in_proj.weight", FF + "up_proj.weight"),
                    forbids=(L + "mamba.x_proj.weight",))
    defaults = {**Jamba.defaults, "positional": "rotary"}
    rules = {slot: rule for slot, rule in Jamba.rules.items() if slot not in _EXPERTS}
    MIXER = "state-space (Mamba2) mixer"
    ignored = hybrid.mixer("mamba", MIXER)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        factor = hf.get("partial_rotary_factor", 0.5)  # transformers hardcodes 0.5 for Bamba
        return replace(cfg, rotary_dim=int((cfg.d_head or 0) * factor) or None)


@register
class FalconH1(Bamba):
    """Like Bamba, with attention beside the Mamba2 mixer in every layer, full rotary, and MuP multipliers."""
    arch = "falcon_h1"
    model_types = ("falcon_h1",)
    MIXER = "state-space (Mamba2) mixer beside the attention"
    ignored = hybrid.mixer("mamba", "state-space (Mamba2) mixer")

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = replace(super().facts(cfg, hf, tensors), rotary_dim=cfg.d_head)
        key = float(hf.get("key_multiplier") or 1.0)  # keys are k_proj's output times this
        cfg = replace(cfg, attn_scale=key / cfg.d_head ** 0.5 if cfg.d_head else None,
                      embed_scale=float(hf.get("embedding_multiplier") or 1.0),
                      logit_scale=float(hf.get("lm_head_multiplier") or 1.0))
        return cfg.with_notes(Note("maths", (
            "Each layer adds attention and a Mamba2 mixer run side by side on the same normed input. Falcon-H1 "
            f"scales the attention's input by {hf.get('attention_in_multiplier', 1.0)} and its output by "
            f"{hf.get('attention_out_multiplier', 1.0)}, the MLP's gate and output by "
            f"{hf.get('mlp_multipliers') or [1.0, 1.0]}, and the Mamba2 mixer's by its ssm multipliers: "
            "constants from config.json, not in the weights.")))
