"""JetMoE: a mixture of attention (MoA) and a mixture of experts, both routed top-k per token.

Attention (JetMoeMoA): n_experts attention experts, each its own query and output projection for n_kv_heads
heads of d_head (kv_channels); keys and values are one kv_proj shared by every expert. A token's router picks
n_experts_per_token experts (softmax over the chosen logits); for each, its query heads attend with the shared
keys, and its output projection's result is weighted by that softmax, plus one output bias.

Per-head presentation: the schema's heads are every expert's heads, h = kv head j * n_experts + expert e, so
    attn.W_Q [n_experts*n_kv_heads, d_model, d_head]   from experts.input_linear [n_experts, n_kv_heads*d_head, d_model]
    attn.W_O [n_experts*n_kv_heads, d_head, d_model]   from experts.output_linear [n_experts, d_model, n_kv_heads*d_head]
    attn.W_K, W_V [n_kv_heads, d_model, d_head]        kv_proj, keys' rows first
and grouped-query attention's rule (head h reads kv head h // (n_heads / n_kv_heads)) gives each expert head
its key head j exactly. cfg.n_heads counts every expert's heads; a token runs n_experts_per_token * n_kv_heads
of them (config's num_attention_heads), which attn.W_router decides.
MLP (JetMoeMoE): experts.input_linear [n_experts, 2*d_expert, d_model] (gate rows first, then up), output_linear
[n_experts, d_model, d_expert], the same softmax-over-top-k routing, and one output bias after the mixture.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, heads_in, rows, same, transpose
from .qwen_moe import _experts_transposed, _fused_half

L = "layers.{l}."
MOA = L + "self_attention.experts."
KV, MOE = L + "self_attention.kv_proj.weight", L + "mlp."


def _expert_heads_in(cfg, w: np.ndarray) -> np.ndarray:
    """input_linear [n_experts, n_kv*d_head, d_model] -> W_Q [n_kv*n_experts, d_model, d_head], head j*n_experts + e."""
    e, rows_, d_model = w.shape
    per = w.reshape(e, rows_ // cfg.d_head, cfg.d_head, d_model).transpose(1, 0, 3, 2)  # (n_kv, n_experts, d_model, d_head)
    return np.ascontiguousarray(per.reshape(-1, d_model, cfg.d_head))


def _expert_heads_out(cfg, w: np.ndarray) -> np.ndarray:
    """output_linear [n_experts, d_model, n_kv*d_head] -> W_O [n_kv*n_experts, d_head, d_model]."""
    e, d_model, cols = w.shape
    per = w.reshape(e, d_model, cols // cfg.d_head, cfg.d_head).transpose(2, 0, 3, 1)  # (n_kv, n_experts, d_head, d_model)
    return np.ascontiguousarray(per.reshape(-1, cfg.d_head, d_model))


def _kv(part: int):
    return chain(rows(part, lambda cfg: [cfg.n_kv_heads * cfg.d_head] * 2), heads_in("n_kv_heads"))


@register
class JetMoe(Family):
    arch = "jetmoe"
    model_types = ("jetmoe",)
    anchor = "embed_tokens.weight"  # prefix 'model.'
    layer_anchor = KV
    layout = Layout(requires=(anchor, KV, MOA + "input_linear.weight", MOE + "input_linear.weight"))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu", "tied_embeddings": True,
                "n_experts_per_token": 2}  # JetMoE-8B: 2 of 8 attention experts, 2 of 8 MLP experts
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),
        "blocks.{l}.attn.W_router": (MOA + "router.layer.weight", transpose),  # [n_experts, d_model]
        "blocks.{l}.attn.W_Q": (MOA + "input_linear.weight", _expert_heads_in),
        "blocks.{l}.attn.W_K": (KV, _kv(0)),  # [2*n_kv_heads*d_head, d_model]: keys, then values
        "blocks.{l}.attn.W_V": (KV, _kv(1)),
        "blocks.{l}.attn.W_O": (MOA + "output_linear.weight", _expert_heads_out),
        "blocks.{l}.attn.b_O": (MOA + "bias", same),  # [d_model], after the weighted sum over experts
        "blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", same),
        "blocks.{l}.mlp.W_router": (MOE + "router.layer.weight", transpose),  # [n_experts, d_model]
        "blocks.{l}.mlp.experts.W_gate": (MOE + "input_linear.weight", _fused_half(0)),  # [n_experts, 2*d_expert, d_model]
        "blocks.{l}.mlp.experts.W_in": (MOE + "input_linear.weight", _fused_half(1)),
        "blocks.{l}.mlp.experts.W_out": (MOE + "output_linear.weight", _experts_transposed),  # [n_experts, d_model, d_expert]
        "blocks.{l}.mlp.b_out": (MOE + "bias", same),  # [d_model], after the weighted sum over experts
        "ln_final.w": ("norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, moe = tensors.shape("embed_tokens.weight"), tensors.shape(MOE + "input_linear.weight")
        return {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
                "n_experts": moe[0] if moe else None, "d_mlp": moe[1] // 2 if moe else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """n_heads counts every expert's heads: n_experts * n_kv_heads."""
        moa, kv = tensors.shape(MOA + "input_linear.weight"), tensors.shape(KV)
        if not moa or not kv or n_heads % moa[0]:
            raise ValueError(f"{n_heads} heads are not a whole number per attention expert")
        n_kv = n_heads // moa[0]
        if moa[1] % n_kv:
            raise ValueError(f"an expert's query has {moa[1]} rows, not a multiple of {n_kv} heads")
        return moa[1] // n_kv, n_kv

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        moa, kv = tensors.shape(MOA + "input_linear.weight"), tensors.shape(KV)
        d_head = int(hf.get("kv_channels") or cfg.d_head or 0) or None
        if moa and kv and d_head and hf:  # config's num_attention_heads is the heads one token runs
            cfg = replace(cfg, d_head=d_head, n_kv_heads=kv[0] // (2 * d_head), n_heads=moa[0] * kv[0] // (2 * d_head))
        cfg = replace(cfg, d_expert=cfg.d_mlp, n_experts=moa[0] if moa else cfg.n_experts)
        k = cfg.n_experts_per_token
        return cfg.with_notes(Note("maths", (
            f"Mixture of attention: attn.W_Q and W_O hold all {cfg.n_experts} attention experts' heads (head = kv "
            f"head * {cfg.n_experts} + expert); each token runs only the {k} experts attn.W_router picks, each "
            "expert's output weighted by the softmax of the chosen router logits. The MLP's experts are routed "
            "the same way (mlp.W_router); mlp.b_out is added once, after the weighted sum.")))
