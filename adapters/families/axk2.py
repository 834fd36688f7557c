"""A.X-K2 (axk2): DeepSeek-V3.2's latent attention, lightning indexer and experts, plus three changes.

1. Queries and a per-head output gate come from the query latent c = x @ W_Q_a both normed and raw: one Linear
   (stored as q_b_proj [n_heads*(d_head + d_head_v), 2*q_lora_rank]) reads [norm(c), c]; each head's rows are
   its query (d_head: no-rope part, then rotary) then its gate (d_head_v). The schema splits it by columns into
   W_Q_b (normed latent) and W_Q_b_raw (raw latent), and W_gate_b / W_gate_b_raw likewise:
       q_h = norm(c) @ W_Q_b[h] + c @ W_Q_b_raw[h]
       out = sum_h (pattern_h @ v_h * sigmoid(norm(c) @ W_gate_b[h] + c @ W_gate_b_raw[h])) @ W_O[h]
2. The input norm of every layer, and the pre-MLP norm of every layer with experts, is gated:
       y = RMSNorm(x) (ln.w),  y * sigmoid(silu(y @ W_gate_in) @ W_gate_out)    rank gated_norm_rank
   Dense layers' pre-MLP norm is a plain RMSNorm.
3. No full q_proj: q_lora_rank is always set.

Per-head views. W_K and W_V are DeepSeek's (equal to the model's up to the kv latent's 1/rms per token); W_O is
exact. attn.W_Q is the sum (W_Q_a * g) @ W_Q_b[h] + W_Q_a @ W_Q_b_raw[h]: its raw part is exact, its normed
part the model's up to the query latent's 1/rms, so where that rms is far from 1 the view weighs the two parts
otherwise than the model does (a Note says so); the factors are exact. The output gate has no d_model view.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from .. import schema
from ..config import ModelConfig, Note
from ..family import Table
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import same, transpose
from .deepseek import INDEXER, KV_A, KV_B, O, Q_A, Q_B, Q_NORM_A, DeepseekV32
from .llama import ATTN, L, Llama

GATED = {"ln1": L + "input_layernorm.", "ln2": L + "post_attention_layernorm."}  # norm.weight, W_down, W_up


def _q_gate(part: str, latent: int):
    """q_b_proj [n_heads*(d_head + d_head_v), 2*q_lora_rank] -> [n_heads, q_lora_rank, d_head] (part 'q') or
    [n_heads, q_lora_rank, d_head_v] ('gate'), from the normed (latent 0) or raw (latent 1) latent's columns."""
    def run(cfg, w):
        rank = w.shape[1] // 2
        per_head = w.reshape(cfg.n_heads, cfg.d_head + cfg.d_head_v, 2, rank)[:, :, latent]  # (n, q + gate, rank)
        rows = per_head[:, :cfg.d_head] if part == "q" else per_head[:, cfg.d_head:]
        return np.ascontiguousarray(rows.transpose(0, 2, 1))
    run.__name__ = f"q_gate({part}, {latent})"
    return run


def _query_view(cfg, q_a, gain, q_b) -> np.ndarray:
    """(W_Q_a * g) @ W_Q_b[h] + W_Q_a @ W_Q_b_raw[h] -> [n_heads, d_model, d_head]."""
    down = q_a.T  # (d_model, q_lora_rank)
    return np.ascontiguousarray((down * gain) @ _q_gate("q", 0)(cfg, q_b) + down @ _q_gate("q", 1)(cfg, q_b))


def _gated_norm_rules(slot: str, prefix: str) -> dict:
    return {f"blocks.{{l}}.{slot}.w": (prefix + "norm.weight", same),  # [d_model]
            f"blocks.{{l}}.{slot}.W_gate_in": (prefix + "W_down.weight", transpose),  # [gated_norm_rank, d_model]
            f"blocks.{{l}}.{slot}.W_gate_out": (prefix + "W_up.weight", transpose)}  # [d_model, gated_norm_rank]


@register
class Axk2(DeepseekV32):
    """Like DeepSeek-V3.2, with queries and an output gate from the normed and raw query latent, and gated norms."""
    arch = "axk2"
    model_types = ("axk2",)
    layout = Layout(requires=(Llama.anchor, KV_A, KV_B, Q_B, L + "input_layernorm.W_down.weight"))
    rules = {
        **{s: r for s, r in DeepseekV32.rules.items() if s not in ("blocks.{l}.ln1.w", "blocks.{l}.attn.W_Q_b")},
        **_gated_norm_rules("ln1", GATED["ln1"]),
        **_gated_norm_rules("ln2", GATED["ln2"]),  # layers with experts; dense ones keep post_attention_layernorm
        "blocks.{l}.attn.W_Q_b": (Q_B, _q_gate("q", 0)),
        "blocks.{l}.attn.W_Q_b_raw": (Q_B, _q_gate("q", 1)),
        "blocks.{l}.attn.W_gate_b": (Q_B, _q_gate("gate", 0)),
        "blocks.{l}.attn.W_gate_b_raw": (Q_B, _q_gate("gate", 1)),
        "blocks.{l}.attn.W_Q": ((Q_A, Q_NORM_A, Q_B), _query_view),
    }
    ignored = {**DeepseekV32.ignored, INDEXER: DeepseekV32.ignored[INDEXER]}

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors) -> Table:
        """DeepSeek's W_Q view replaced (the query reads the raw latent too), and ln2.w per layer: the gated
        norm's weight where the layer has experts, the plain RMSNorm's in a dense layer (one slot, two names)."""
        table = super().rules_for(cfg, tensors)
        rules = {s: r for s, r in table.rules.items() if s != "blocks.{l}.ln2.w"}
        rules["blocks.{l}.attn.W_Q"] = cls.rules["blocks.{l}.attn.W_Q"]
        for l in range(cfg.n_layers or 0):
            gated = tensors.has(GATED["ln2"] + "norm.weight", l)
            source = GATED["ln2"] + ("norm.weight" if gated else "weight")
            rules[schema.name("ln2.w", l)] = (source.format(l=l), same)  # [d_model]
        return replace(table, rules=rules)

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """q_b_proj holds n*(d_head + d_head_v) rows and kv_b_proj n*(d_nope + d_head_v): they differ by n*d_rope."""
        out = super().infer(tensors)
        kv_a, kv_norm, kv_b, o, q = (tensors.shape(t) for t in (KV_A, ATTN + "kv_a_layernorm.weight", KV_B, O, Q_B))
        if not (kv_a and kv_norm and kv_b and o and q):
            return out
        rope = kv_a[0] - kv_norm[0]
        n, rest = divmod(q[0] - kv_b[0], rope) if rope > 0 else (0, 1)
        if n > 0 and not rest and not o[1] % n:
            out.update(n_heads=n, n_kv_heads=n, d_head=(q[0] - o[1]) // n, d_head_v=o[1] // n,
                       q_lora_rank=q[1] // 2)
        return out

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q, o = tensors.shape(Q_B), tensors.shape(O)
        if not q or not o or (q[0] - o[1]) % n_heads:
            raise ValueError(f"q_b_proj has {q[0] if q else '?'} rows, not n_heads={n_heads} (query + gate) heads")
        return (q[0] - o[1]) // n_heads, n_heads

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        cfg = cfg.with_notes(Note("maths", (
            "Queries and a per-head output gate read the query latent c both normed and raw: q_h = norm(c) @ "
            "W_Q_b[h] + c @ W_Q_b_raw[h]; each head's output is multiplied by sigmoid(norm(c) @ W_gate_b[h] + c @ "
            "W_gate_b_raw[h]) before W_O. attn.W_Q sums (W_Q_a * g) @ W_Q_b[h] and W_Q_a @ W_Q_b_raw[h] unscaled: "
            "the model divides the first by the latent's rms, per token, so the view weighs the two parts as the "
            "model does only where that rms is 1.")))
        return cfg.with_notes(Note("maths", (
            "The input norm (and the pre-MLP norm of layers with experts) is gated: y = RMSNorm(x), then "
            "y * sigmoid(silu(y @ W_gate_in) @ W_gate_out), a per-token, per-channel factor in (0, 1) that ln.w "
            "alone does not show.")))
