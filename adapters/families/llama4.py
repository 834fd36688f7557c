"""Llama 4 (llama4_text): Llama's attention, experts with a shared expert in every MoE layer, dense layers between.

    logits = x @ W_router                          [n_experts]; the top n_experts_per_token are kept
    s_e = sigmoid(logits_e)                        not renormalised; it scales each chosen expert's INPUT:
    mlp(x) = shared(x) + sum_top expert_e(s_e * x)      expert_e(y) = (silu(y @ W_gate[e]) * (y @ W_in[e])) @ W_out[e]
Experts are stored fused in the schema's own [in, out] orientation, expert index first:
`feed_forward.experts.gate_up_proj` [n_experts, d_model, 2*d_expert] (gate the first half of the last axis, up the
second) and `down_proj` [n_experts, d_expert, d_model]. Layers not in config's moe_layers (interleave_moe_layer_step)
hold a plain gated MLP of intermediate_size_mlp under `feed_forward.gate_proj/up_proj/down_proj`.
Attention: every no_rope_layers-th layer (0 in no_rope_layers) has no rotary, and its queries are scaled by a
position-dependent temperature; the others, with use_qk_norm, L2-normalise q and k per head after rotary (no
weight); rotary layers attend within chunks of attention_chunk_size tokens.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .llama import ATTN, L, Llama

FF = L + "feed_forward."
EXPERTS, ROUTER, SHARED = FF + "experts.", FF + "router.weight", FF + "shared_expert."


def _half(part: int):
    """Gate (0) or up (1) of gate_up_proj [n_experts, d_model, 2*d_expert] -> [n_experts, d_model, d_expert]."""
    def run(cfg, w):
        half = w.shape[-1] // 2
        return w[..., part * half:(part + 1) * half].copy()
    run.__name__ = f"half({part})"
    return run


@register
class Llama4Text(Llama):
    """Like Llama, with feed_forward in place of mlp: fused experts scaled on their input, and a shared expert."""
    arch = "llama4_text"
    model_types = ("llama4_text",)
    layout = Layout(requires=(Llama.anchor, *(ATTN + p + "_proj.weight" for p in "qkvo"), L + "input_layernorm.weight",
                              ROUTER))
    rules = {
        **{slot: rule for slot, rule in Llama.rules.items() if ".mlp." not in slot},
        "blocks.{l}.mlp.W_gate": (FF + "gate_proj.weight", transpose),  # dense layers: [d_mlp, d_model]
        "blocks.{l}.mlp.W_in": (FF + "up_proj.weight", transpose),
        "blocks.{l}.mlp.W_out": (FF + "down_proj.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.W_router": (ROUTER, transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.experts.W_gate": (EXPERTS + "gate_up_proj", _half(0)),  # [n, d_model, 2*d_expert]
        "blocks.{l}.mlp.experts.W_in": (EXPERTS + "gate_up_proj", _half(1)),
        "blocks.{l}.mlp.experts.W_out": (EXPERTS + "down_proj", same),  # [n, d_expert, d_model]
        "blocks.{l}.mlp.shared.W_gate": (SHARED + "gate_proj.weight", transpose),  # [d_expert, d_model]
        "blocks.{l}.mlp.shared.W_in": (SHARED + "up_proj.weight", transpose),
        "blocks.{l}.mlp.shared.W_out": (SHARED + "down_proj.weight", transpose),
    }
    KNOWN_HEADS = {5120: 40}  # Scout and Maverick
    NO_CONFIG_NOTE = ""

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        n = cls.count_layers(tensors)
        moe = [l for l in range(n) if tensors.has(ROUTER, l)]
        dense = next((l for l in range(n) if tensors.has(FF + "gate_proj.weight", l)), None)
        router = tensors.shape(ROUTER, moe[0]) if moe else None
        down = tensors.shape(EXPERTS + "down_proj", moe[0]) if moe else None
        gate = tensors.shape(FF + "gate_proj.weight", dense) if dense is not None else None
        d_expert = down[1] if down else None
        return {**super().infer(tensors), "n_experts": router[0] if router else None, "d_expert": d_expert,
                "d_mlp": gate[0] if gate else d_expert}

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        n = cfg.n_layers or 0
        moe = tuple(l for l in range(n) if tensors.has(ROUTER, l))
        dense = next((l for l in range(n) if tensors.has(FF + "gate_proj.weight", l)), None)
        d_mlp = tensors.shape(FF + "gate_proj.weight", dense)[0] if dense is not None else cfg.d_expert
        cfg = replace(cfg, moe_layers=None if len(moe) == n else moe, d_mlp=d_mlp,
                      d_expert=tensors.shape(EXPERTS + "down_proj", moe[0])[1] if moe else cfg.d_expert,
                      n_shared_experts=1 if tensors.has(SHARED + "gate_proj.weight", moe[0] if moe else 0) else 0)
        notes = [Note("maths", "Routing: the top n_experts_per_token logits pass a sigmoid (not a softmax) and "
                               "scale each chosen expert's input, x * sigmoid(logit); the shared expert reads x.")]
        if hf:
            nope = [l for l, rope in enumerate(hf.get("no_rope_layers") or []) if not rope]
            notes.append(Note("positions", f"Layers {nope} have no rotary and scale their queries by a temperature "
                                           "growing with the position (attn_temperature_tuning); the others attend "
                                           f"within chunks of {hf.get('attention_chunk_size')} tokens."
                              if nope else f"Rotary layers attend within chunks of {hf.get('attention_chunk_size')} "
                                           "tokens."))
            if hf.get("use_qk_norm"):
                notes.append(Note("maths", "use_qk_norm: in rotary layers q and k are L2-normalised per head after "
                                           "rotary (no weight), which the per-head views do not include."))
        return cfg.with_notes(*notes)
