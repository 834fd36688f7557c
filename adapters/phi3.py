"""Phi-3: Llama-like (RMSNorm, rotary, gated SiLU MLP), with q, k, v and gate, up fused.

qkv_proj is [(n_heads + 2*n_kv_heads)*d_head, d_model]: the q, k, v blocks one after another
(`rows` with `qkv_sizes`). gate_up_proj is [2*d_mlp, d_model]: gate first, then up
(Phi3MLP: `gate, up = gate_up_proj(x).chunk(2, dim=-1)`; `down(up * silu(gate))`).
"""
from __future__ import annotations

from .config import ModelConfig
from .family import Family
from .registry import register
from .transforms import chain, halves, heads_in, heads_out, qkv_sizes, rows, same, transpose

L = "layers.{l}."
QKV, GATE_UP = L + "self_attn.qkv_proj.weight", L + "mlp.gate_up_proj.weight"


@register
class Phi3(Family):
    arch = "phi3"
    model_types = ("phi3",)
    anchor = "embed_tokens.weight"  # prefix 'model.'
    layer_anchor = QKV
    tie = ("lm_head.weight", "embed_tokens.weight")
    defaults = {"positional": "rotary", "norm": "rmsnorm", "gated_mlp": True, "act": "silu",
                "tied_embeddings": False}
    rules = {
        "embed.W_E": ("embed_tokens.weight", same),
        "blocks.{l}.ln1.w": (L + "input_layernorm.weight", same),
        "blocks.{l}.attn.W_Q": (QKV, chain(rows(0, qkv_sizes), heads_in())),
        "blocks.{l}.attn.W_K": (QKV, chain(rows(1, qkv_sizes), heads_in("n_kv_heads"))),
        "blocks.{l}.attn.W_V": (QKV, chain(rows(2, qkv_sizes), heads_in("n_kv_heads"))),
        "blocks.{l}.attn.W_O": (L + "self_attn.o_proj.weight", heads_out),
        "blocks.{l}.ln2.w": (L + "post_attention_layernorm.weight", same),  # the pre-MLP norm
        "blocks.{l}.mlp.W_gate": (GATE_UP, chain(rows(0, halves), transpose)),  # (d_model, d_mlp)
        "blocks.{l}.mlp.W_in": (GATE_UP, chain(rows(1, halves), transpose)),
        "blocks.{l}.mlp.W_out": (L + "mlp.down_proj.weight", transpose),
        "ln_final.w": ("norm.weight", same),
        "unembed.W_U": ("lm_head.weight", transpose),
    }
    ignored = {r"rotary_emb\.(original_)?inv_freq$": ("buffer", "rotary frequencies, recomputed from rope_theta")}

    @classmethod
    def detect(cls, names: list[str]) -> bool:
        return super().detect(names) and any(n.endswith("self_attn.qkv_proj.weight") for n in names)

    def infer(self) -> dict:
        get = lambda template: self.shapes.get(self.resolve(template, 0) or "")
        embed, gate_up, o = get("embed_tokens.weight"), get(GATE_UP), get(L + "self_attn.o_proj.weight")
        out = {"n_layers": self.count_layers(), "d_model": embed[1], "d_vocab": embed[0],
               "d_mlp": gate_up[0] // 2 if gate_up else None,
               "tied_embeddings": self.resolve("lm_head.weight") is None}
        if embed[1] == 3072 and o == (3072, 3072):  # Phi-3 mini: 32 heads of 96 (n_kv_heads = n_heads)
            out["n_heads"] = 32
        return out

    def adjust(self, cfg: ModelConfig, hf: dict | None) -> None:
        rope = (hf or {}).get("rope_parameters") or (hf or {}).get("rope_scaling") or {}
        factor = (hf or {}).get("partial_rotary_factor", rope.get("partial_rotary_factor", 1.0))
        if cfg.d_head:
            cfg.rotary_dim = int(cfg.d_head * factor)
        if hf is None and cfg.n_heads == 32:
            cfg.notes.append("No config.json: n_heads=32 (Phi-3 mini's) is assumed; pass n_heads to override.")
