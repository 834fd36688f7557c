"""Phi-1, Phi-1.5, Phi-2: attention and MLP side by side on one LayerNorm, partial rotary, biases everywhere.

    h = h + attn(ln(h)) + mlp(ln(h))        one input_layernorm per layer, shared (cfg.parallel_residual)
q, k, v are Llama's separate projections with biases; the output projection is `dense`, the MLP a plain
fc1 -> gelu_new -> fc2, the final norm `final_layernorm`, and the LM head has a bias. Rotary turns only the
first partial_rotary_factor * d_head dims of each head (0.5 in Phi-2: 32 of 80).
"""
from __future__ import annotations

from dataclasses import replace

from ..config import ModelConfig, Note
from ..family import Family
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, heads_out, same, transpose
from .llama import head_dims_from_qk

L = "layers.{l}."
ATTN = L + "self_attn."


@register
class Phi(Family):
    arch = "phi"
    model_types = ("phi",)
    anchor = "embed_tokens.weight"  # prefix 'model.'
    layer_anchor = ATTN + "q_proj.weight"
    layout = Layout(requires=(anchor, ATTN + "q_proj.weight", ATTN + "dense.weight", L + "mlp.fc1.weight",
                              L + "input_layernorm.weight", "final_layernorm.weight"))
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "act": "gelu_new", "parallel_residual": True, "tied_embeddings": False}
    KNOWN_HEADS = {2048: 32, 2560: 32}  # Phi-1 / 1.5 (d_head 64), Phi-2 (d_head 80)
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),  # read by attention and the MLP alike
        "blocks.{l}.ln1.b": (L + "input_layernorm.bias", same),
        "blocks.{l}.attn.W_Q": (ATTN + "q_proj.weight", heads_in()),  # [n_heads*d_head, d_model]
        "blocks.{l}.attn.W_K": (ATTN + "k_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_V": (ATTN + "v_proj.weight", heads_in("n_kv_heads")),
        "blocks.{l}.attn.W_O": (ATTN + "dense.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.b_Q": (ATTN + "q_proj.bias", heads_in()),
        "blocks.{l}.attn.b_K": (ATTN + "k_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_V": (ATTN + "v_proj.bias", heads_in("n_kv_heads")),
        "blocks.{l}.attn.b_O": (ATTN + "dense.bias", same),
        "blocks.{l}.mlp.W_in": (L + "mlp.fc1.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (L + "mlp.fc1.bias", same),
        "blocks.{l}.mlp.W_out": (L + "mlp.fc2.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (L + "mlp.fc2.bias", same),
        "ln_final.w": ("final_layernorm.weight", same),
        "ln_final.b": ("final_layernorm.bias", same),
        "unembed.W_U": ("lm_head.weight", transpose),  # [d_vocab, d_model]
        "unembed.b_U": ("lm_head.bias", same),
    }
    ignored = {
        r"self_attn\.[qk]_layernorm\.(weight|bias)$": (
            "norm", "the optional per-head q/k LayerNorm (qk_layernorm; no released Phi uses it): the schema's "
                    "q/k norms are RMSNorms"),
        r"rotary_emb\.inv_freq$": ("buffer", "rotary frequencies, recomputed from rope_theta"),
    }

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        embed, fc1 = tensors.shape(cls.anchor), tensors.shape(L + "mlp.fc1.weight")
        return {"d_model": embed[1], "d_vocab": embed[0], "d_mlp": fc1[0] if fc1 else None,
                "tied_embeddings": not tensors.has("lm_head.weight")}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        return head_dims_from_qk(n_heads, tensors, ATTN)

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        factor = hf.get("partial_rotary_factor", rope.get("partial_rotary_factor", 0.5))  # 0.5: Phi-2's
        cfg = replace(cfg, rotary_dim=int(cfg.d_head * factor) if cfg.d_head else None)
        if hf.get("qk_layernorm"):
            cfg = cfg.with_notes(Note("maths", "Queries and keys pass through a per-head LayerNorm (qk_layernorm) "
                                               "that the schema does not hold: see the raw q_layernorm tensors."))
        if not hf:
            cfg = cfg.with_notes(Note("assumed", "No config.json: partial_rotary_factor=0.5 (Phi-2's) is assumed."))
        return cfg
