"""Sarvam-MoE (sarvam_moe): GLM-4-MoE's computation (transformers builds a Glm4MoeForCausalLM) under Ling-style
names: `word_embeddings`, one fused `attention.query_key_value` [(n_heads + 2*n_kv_heads)*d_head, d_model] with
the q, k, v blocks one after another (grouped-query), `attention.dense`, per-head `query_layernorm` /
`key_layernorm`, and the router's selection bias named `gate.expert_bias`. Unlike GLM-4-MoE, rotary covers the
whole head (partial_rotary_factor 1.0). Experts, shared experts and dense first layers are GLM-4-MoE's names.
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import chain, heads_in, heads_out, qkv_sizes, rows, same
from .glm4_moe import Glm4Moe
from .llama import ROUTER, L
from .qwen_moe import MLP, SHARED_EXPERTS, infer_experts, moe_layers

A = L + "attention."
QKV, DENSE, Q_NORM = A + "query_key_value.weight", A + "dense.weight", A + "query_layernorm.weight"
SELECT_BIAS = MLP + "gate.expert_bias"  # GLM-4-MoE's e_score_correction_bias


def _qkv(part: int, count: str = "n_heads"):
    return chain(rows(part, qkv_sizes), heads_in(count))


_RENAMED = {  # GLM-4-MoE's attention and ends, under Sarvam's names
    "embed.W_E": ("word_embeddings.weight", same),
    "blocks.{l}.attn.W_Q": (QKV, _qkv(0)),  # [(n_heads + 2*n_kv_heads)*d_head, d_model]
    "blocks.{l}.attn.W_K": (QKV, _qkv(1, "n_kv_heads")),
    "blocks.{l}.attn.W_V": (QKV, _qkv(2, "n_kv_heads")),
    "blocks.{l}.attn.b_Q": (A + "query_key_value.bias", _qkv(0)),  # when attention_bias
    "blocks.{l}.attn.b_K": (A + "query_key_value.bias", _qkv(1, "n_kv_heads")),
    "blocks.{l}.attn.b_V": (A + "query_key_value.bias", _qkv(2, "n_kv_heads")),
    "blocks.{l}.attn.W_O": (DENSE, heads_out),  # [d_model, n_heads*d_head]
    "blocks.{l}.attn.b_O": (A + "dense.bias", same),
    "blocks.{l}.attn.q_norm.w": (Q_NORM, same),  # [d_head], shared by all heads
    "blocks.{l}.attn.k_norm.w": (A + "key_layernorm.weight", same),
    "blocks.{l}.mlp.router_select_bias": (SELECT_BIAS, same),  # [n_experts]
}


@register
class SarvamMoe(Glm4Moe):
    """Like GLM-4-MoE, with a fused query_key_value, Ling-style names, and rotary over the whole head."""
    arch = "sarvam_moe"
    model_types = ("sarvam_moe",)
    anchor = "word_embeddings.weight"  # prefix 'model.'
    layer_anchor = QKV
    layout = Layout(requires=(anchor, QKV, DENSE, L + "input_layernorm.weight", ROUTER))
    tie = ("lm_head.weight", "word_embeddings.weight")
    rules = {**{s: r for s, r in Glm4Moe.rules.items() if ".attn." not in s and s != "embed.W_E"}, **_RENAMED}

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """Sizes off the shapes: d_head is the q/k norm's length, n_heads the output projection's columns / d_head."""
        embed, qkv, dense, norm = (tensors.shape(t) for t in ("word_embeddings.weight", QKV, DENSE, Q_NORM))
        gate = tensors.shape(L + "mlp.gate_proj.weight")  # a dense first layer's MLP
        n_layers = cls.count_layers(tensors)
        out = {"d_model": embed[1] if embed else None, "d_vocab": embed[0] if embed else None,
               "d_mlp": gate[0] if gate else None, "tied_embeddings": not tensors.has("lm_head.weight"),
               **infer_experts(tensors, n_layers)}
        if norm and qkv and dense and not dense[1] % norm[0]:
            n_heads = dense[1] // norm[0]
            out.update(d_head=norm[0], n_heads=n_heads, n_kv_heads=(qkv[0] // norm[0] - n_heads) // 2)
        shared = tensors.shape(SHARED_EXPERTS + "gate_proj.weight", (moe_layers(tensors, n_layers) or (0,))[0])
        if shared and out.get("d_expert"):
            out["n_shared_experts"] = shared[0] // out["d_expert"]
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        """dense's input is n_heads * d_head; query_key_value's rows add 2 * n_kv_heads * d_head to that."""
        dense, qkv = tensors.shape(DENSE), tensors.shape(QKV)
        if not dense or not qkv or dense[1] % n_heads:
            raise ValueError(f"attention.dense has {dense[1] if dense else '?'} columns, not a multiple of {n_heads}")
        d_head = dense[1] // n_heads
        return d_head, (qkv[0] - dense[1]) // (2 * d_head)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") if isinstance(hf.get("rope_parameters"), dict) else {}
        whole = hf.get("partial_rotary_factor", rope.get("partial_rotary_factor", 1.0))
        cfg = super().facts(cfg, {**hf, "partial_rotary_factor": whole}, tensors)
        return replace(cfg, qk_norm="head" if tensors.has(Q_NORM) else None)
