"""DeepSeek-V2 / V3: multi-head latent attention (MLA) and experts with shared experts beside them.

MLA, per token x (all stored as torch Linear [out, in]):
    c_q = q_a_norm(x @ W_Q_a)                              [q_lora_rank]  (x itself when q_lora_rank is None)
    q_h = c_q @ W_Q_b[h]                                   [d_head] = no-rope part, then rotary part
    c_kv = kv_a_norm(x @ W_KV_a),  k_rope = x @ W_K_rope   [kv_lora_rank], [d_head_rope]
    k_h = [c_kv @ W_K_b[h], rotary(k_rope)]                the rotary key is one for every head
    v_h = c_kv @ W_V_b[h]                                  [d_head_v]
    out = sum_h softmax(q_h . k_h * attn_scale) v_h @ W_O[h]
kv_a_proj_with_mqa stores W_KV_a and W_K_rope stacked; kv_b_proj stores, per head, W_K_b then W_V_b.
The factors sit in the schema's MLA slots with their true shapes; W_O [n_heads, d_head_v, d_model] is exact.

The per-head views attn.W_Q, W_K, W_V ([n_heads, d_model, d_head or d_head_v]) are products across the latent
RMSNorm, through its gain g (RMSNorm(z) = z / rms(z) * g):
    W_Q[h] = (W_Q_a * g_q) @ W_Q_b[h]      x @ W_Q[h] = q_h * rms(x @ W_Q_a)
    W_V[h] = (W_KV_a * g_kv) @ W_V_b[h]    x @ W_V[h] = v_h * rms(x @ W_KV_a)
    W_K[h] = [(W_KV_a * g_kv) @ W_K_b[h], W_K_rope]
So each equals the model's projection up to one positive per-token factor (the norm's rms, eps included)
shared by every head; in W_K that factor is on the no-rope columns only, while its last d_head_rope columns
are the exact (pre-rotary) rotary key, the same for every head. Without q_lora_rank W_Q is q_proj, exact.

Experts: DeepSeek's per-expert names are Qwen-MoE's (adapters/families/qwen_moe.py); n_shared_experts shared
experts are stored fused as one MLP (`mlp.shared_experts`), ungated; the first first_k_dense_replace layers
are dense (cfg.moe_layers). V3 adds `gate.e_score_correction_bias`, added to the router's sigmoid scores to
choose experts but not to weight them (mlp.router_select_bias).
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..config import ModelConfig, Note
from ..layout import Layout, Tensors
from ..registry import register
from ..transforms import heads_in, same, transpose
from .gpt_oss import yarn_attention_factor
from .llama import ATTN, L, ROUTER, Llama
from .qwen_moe import MLP, SHARED_EXPERTS, Qwen2Moe, moe_layers, per_expert_rules, shared_rules

KV_A, KV_NORM, KV_B = ATTN + "kv_a_proj_with_mqa.weight", ATTN + "kv_a_layernorm.weight", ATTN + "kv_b_proj.weight"
Q_A, Q_NORM_A, Q_B = ATTN + "q_a_proj.weight", ATTN + "q_a_layernorm.weight", ATTN + "q_b_proj.weight"
Q_FULL, O = ATTN + "q_proj.weight", ATTN + "o_proj.weight"
SELECT_BIAS = MLP + "gate.e_score_correction_bias"
INDEXER = r"self_attn\.indexer\."  # DeepSeek-V3.2


# ---- the factors ---------------------------------------------------------------------------------
def _latent(part: int):
    """kv_a_proj_with_mqa [kv_lora_rank + d_head_rope, d_model] -> W_KV_a [d_model, kv_lora_rank] (0) or
    W_K_rope [d_model, d_head_rope] (1)."""
    def run(cfg, w):
        return np.ascontiguousarray((w[:cfg.kv_lora_rank] if part == 0 else w[cfg.kv_lora_rank:]).T)
    run.__name__ = f"latent({part})"
    return run


def _kv_b(part: int):
    """kv_b_proj [n_heads*(d_nope + d_head_v), kv_lora_rank] -> W_K_b [n_heads, kv_lora_rank, d_nope] (0) or
    W_V_b [n_heads, kv_lora_rank, d_head_v] (1)."""
    def run(cfg, w):
        nope = cfg.d_head - cfg.d_head_rope
        per_head = w.reshape(cfg.n_heads, nope + cfg.d_head_v, w.shape[-1])  # (n_heads, d_nope + d_head_v, rank)
        return np.ascontiguousarray((per_head[:, :nope] if part == 0 else per_head[:, nope:]).transpose(0, 2, 1))
    run.__name__ = f"kv_b({part})"
    return run


def _heads_out_v(cfg, w: np.ndarray) -> np.ndarray:
    """o_proj [d_model, n_heads*d_head_v] -> W_O [n_heads, d_head_v, d_model]."""
    return np.ascontiguousarray(w.T.reshape(cfg.n_heads, cfg.d_head_v, w.shape[0]))


# ---- the per-head views: products through the latent norm's gain -----------------------------------
def _query_view(cfg, q_a, gain, q_b) -> np.ndarray:
    """(W_Q_a * g) @ W_Q_b[h]: [d_model, q_lora_rank] @ [n_heads, q_lora_rank, d_head] -> [n_heads, d_model, d_head]."""
    return np.ascontiguousarray((q_a.T * gain) @ heads_in()(cfg, q_b))


def _key_view(cfg, kv_a, gain, kv_b) -> np.ndarray:
    """[(W_KV_a * g) @ W_K_b[h], W_K_rope] -> [n_heads, d_model, d_head]: the rotary key repeated for every head."""
    nope = _latent(0)(cfg, kv_a) * gain @ _kv_b(0)(cfg, kv_b)  # (n_heads, d_model, d_nope)
    rope = np.broadcast_to(_latent(1)(cfg, kv_a), (cfg.n_heads, *_latent(1)(cfg, kv_a).shape))  # (n, d_model, rope)
    return np.concatenate([nope, rope], axis=-1)


def _value_view(cfg, kv_a, gain, kv_b) -> np.ndarray:
    """(W_KV_a * g) @ W_V_b[h] -> [n_heads, d_model, d_head_v]."""
    return np.ascontiguousarray(_latent(0)(cfg, kv_a) * gain @ _kv_b(1)(cfg, kv_b))


MLA_RULES = {
    "blocks.{l}.attn.W_Q_a": (Q_A, transpose),  # [q_lora_rank, d_model]
    "blocks.{l}.attn.q_a_norm.w": (Q_NORM_A, same),
    "blocks.{l}.attn.W_Q_b": (Q_B, heads_in()),  # [n_heads*d_head, q_lora_rank]
    "blocks.{l}.attn.W_KV_a": (KV_A, _latent(0)),  # [kv_lora_rank + d_head_rope, d_model]
    "blocks.{l}.attn.W_K_rope": (KV_A, _latent(1)),
    "blocks.{l}.attn.kv_a_norm.w": (KV_NORM, same),
    "blocks.{l}.attn.W_K_b": (KV_B, _kv_b(0)),
    "blocks.{l}.attn.W_V_b": (KV_B, _kv_b(1)),
    "blocks.{l}.attn.W_O": (O, _heads_out_v),
    "blocks.{l}.attn.b_O": (ATTN + "o_proj.bias", same),
    # per-head views: a tuple of sources is handed to the transform together
    "blocks.{l}.attn.W_K": ((KV_A, KV_NORM, KV_B), _key_view),
    "blocks.{l}.attn.W_V": ((KV_A, KV_NORM, KV_B), _value_view),
}
_Q_VIEW = ((Q_A, Q_NORM_A, Q_B), _query_view)
_Q_EXACT = (Q_FULL, heads_in())  # DeepSeek-V2-Lite: no query latent
_OUTSIDE_ATTN = {s: r for s, r in Llama.rules.items() if ".attn." not in s}  # norms, dense MLP, ends


@register
class DeepseekV2(Qwen2Moe):
    """Like Qwen2-MoE's experts (shared ones ungated under shared_experts), with MLA in place of Llama's attention."""
    arch = "deepseek_v2"
    model_types = ("deepseek_v2",)
    layer_anchor = KV_A
    layout = Layout(requires=(Llama.anchor, KV_A, KV_B, ATTN + "o_proj.weight", L + "input_layernorm.weight"),
                    forbids=(SELECT_BIAS,))
    rules = {**_OUTSIDE_ATTN, **MLA_RULES, "blocks.{l}.mlp.W_router": (ROUTER, transpose),
             **per_expert_rules(), **shared_rules(SHARED_EXPERTS)}
    KNOWN_HEADS = {}

    @classmethod
    def rules_for(cls, cfg: ModelConfig, tensors: Tensors):
        table = super().rules_for(cfg, tensors)
        query = {"blocks.{l}.attn.W_Q": _Q_VIEW if cfg.q_lora_rank else _Q_EXACT}
        return replace(table, rules={**table.rules, **query})

    @classmethod
    def infer(cls, tensors: Tensors) -> dict:
        """MLA's sizes off the shapes: kv_b holds n*(nope + v) rows, q n*(nope + rope), o_proj n*v columns."""
        out = super().infer(tensors)
        kv_a, kv_norm, kv_b, o = (tensors.shape(t) for t in (KV_A, KV_NORM, KV_B, O))
        q, q_norm = tensors.shape(Q_B) or tensors.shape(Q_FULL), tensors.shape(Q_NORM_A)
        out["q_lora_rank"] = q_norm[0] if q_norm else None
        if not (kv_a and kv_norm and kv_b and o and q):
            return out
        rope = kv_a[0] - kv_norm[0]
        n, rest = divmod(q[0] - kv_b[0] + o[1], rope) if rope > 0 else (0, 1)
        if n > 0 and not rest and not o[1] % n and not q[0] % n:
            out.update(n_heads=n, n_kv_heads=n, d_head=q[0] // n, d_head_v=o[1] // n)
        shared = tensors.shape(SHARED_EXPERTS + "gate_proj.weight", (moe_layers(tensors, cls.count_layers(tensors))
                                                                     or (0,))[0])
        if shared and out.get("d_expert"):
            out["n_shared_experts"] = shared[0] // out["d_expert"]
        return {**out, "kv_lora_rank": kv_norm[0], "d_head_rope": rope}

    @classmethod
    def head_dims(cls, n_heads: int, cfg: ModelConfig, tensors: Tensors) -> tuple[int, int]:
        q = tensors.shape(Q_B) or tensors.shape(Q_FULL)
        if not q or q[0] % n_heads:
            raise ValueError(f"the query projection has {q[0] if q else '?'} rows, not a multiple of {n_heads}")
        return q[0] // n_heads, n_heads  # every head has its own key and value

    @classmethod
    def facts(cls, cfg: ModelConfig, hf: dict, tensors: Tensors) -> ModelConfig:
        cfg = super().facts(cfg, hf, tensors)
        if hf.get("qk_nope_head_dim") and cfg.d_head_rope:  # config's head_dim is the rotary part only
            cfg = replace(cfg, d_head=int(hf["qk_nope_head_dim"]) + cfg.d_head_rope)
        cfg = replace(cfg, rotary_dim=cfg.d_head_rope, n_kv_heads=cfg.n_heads, d_head_v=cfg.d_head_v or cfg.d_head)
        query = ("W_Q is q_proj, exact; W_K and W_V are" if not cfg.q_lora_rank else "attn.W_Q, W_K and W_V are")
        cfg = cfg.with_notes(Note("maths", (
            f"Multi-head latent attention: {query} products through the latent RMSNorm's gain ((W_KV_a * g) @ "
            "W_V_b[h]), each equal to the model's projection up to the norm's 1/rms: one positive factor per token, "
            f"shared by every head (on W_K's no-rope columns only). W_K's last {cfg.d_head_rope} columns are the "
            f"rotary key, one for every head. Queries and keys are d_head = {cfg.d_head} wide, values and W_O "
            f"d_head_v = {cfg.d_head_v}.")))
        return cls._scales(cfg, hf).with_notes(*(Note("maths", t) for t in cls._routing(hf)))

    @classmethod
    def _scales(cls, cfg: ModelConfig, hf: dict) -> ModelConfig:
        """YaRN with mscale_all_dim scales every score by mscale(factor, mscale_all_dim)^2 (transformers'
        yarn_apply_mscale); its cos/sin factor scales the rotary part of q and k only."""
        rope = hf.get("rope_parameters") or hf.get("rope_scaling") or {}
        factor, all_dim = float(rope.get("factor") or 1.0), rope.get("mscale_all_dim")
        if (rope.get("rope_type") or rope.get("type") or "default") != "default" and all_dim and factor > 1:
            m = 0.1 * float(all_dim) * math.log(factor) + 1.0
            cfg = replace(cfg, attn_scale=m * m / math.sqrt(cfg.d_head)).with_notes(Note(
                "maths", f"Attention scores are q.k times {m * m:.4g} / sqrt(d_head) (YaRN's mscale_all_dim)."))
        rotary = yarn_attention_factor(hf)
        if rotary != 1.0:
            cfg = cfg.with_notes(Note("maths", f"YaRN scales the rotary part of every query and key by {rotary:.4g}."))
        return cfg

    @classmethod
    def _routing(cls, hf: dict) -> list[str]:
        scale = hf.get("routed_scaling_factor")
        method = hf.get("topk_method") or "greedy"
        return [f"Experts are chosen from the router's softmax ({method}) and their weights multiplied by "
                f"routed_scaling_factor = {scale}."] if scale else []


@register
class DeepseekV3(DeepseekV2):
    """Like DeepSeek-V2, plus the router's selection bias; its router scores are sigmoids, chosen by groups."""
    arch = "deepseek_v3"
    model_types = ("deepseek_v3", "kimi_k2")
    layout = Layout(requires=(*DeepseekV2.layout.requires, SELECT_BIAS), forbids=(ATTN + "indexer.wk.weight",))
    rules = {**DeepseekV2.rules, "blocks.{l}.mlp.router_select_bias": (SELECT_BIAS, same)}  # [n_experts]

    @classmethod
    def _routing(cls, hf: dict) -> list[str]:
        if not hf:
            return []
        return [f"The router scores experts by sigmoid(x @ W_router); experts are chosen by score + "
                f"router_select_bias within the best {hf.get('topk_group')} of {hf.get('n_group')} groups, weighted "
                f"by their scores{' renormalised' if hf.get('norm_topk_prob') else ''} and multiplied by "
                f"routed_scaling_factor = {hf.get('routed_scaling_factor')}."]


@register
class DeepseekV32(DeepseekV3):
    """Like DeepSeek-V3, plus a lightning indexer that picks which keys each query attends to (sparse attention)."""
    arch = "deepseek_v32"
    model_types = ("deepseek_v32",)
    layout = Layout(requires=(*DeepseekV3.layout.requires, ATTN + "indexer.wk.weight"))
    ignored = {**DeepseekV3.ignored, INDEXER: (
        "attention", "DeepSeek-V3.2's lightning indexer: scores keys to choose the top-k each query attends to; "
                     "outside the schema")}
    # Which keys survive the indexer depends on the input: the weights alone cannot show the sparse pattern.


@register
class Glm4MoeLite(DeepseekV3):
    """GLM-4.7-Flash (glm4_moe_lite): DeepSeek-V3's names and maths under another model_type."""
    arch = "glm4_moe_lite"
    model_types = ("glm4_moe_lite",)
