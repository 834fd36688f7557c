"""Named transforms from a checkpoint tensor to a schema slot, shared by all adapters.

Every transform takes (cfg, w) and returns the slot's array. Weights are first brought to
torch's Linear layout `[out, in]` (Conv1D checkpoints are transposed by `conv1d`), so each
head rearrangement is written once.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from . import schema

Transform = Callable[..., np.ndarray]


def same(cfg, w: np.ndarray) -> np.ndarray:
    return w


def transpose(cfg, w: np.ndarray) -> np.ndarray:
    """Linear [out, in] -> schema [in, out] (W_in, W_out, W_U)."""
    return np.ascontiguousarray(w.T)


def plus_one(cfg, w: np.ndarray) -> np.ndarray:
    """Gemma-style RMSNorm stores w and scales by (1 + w); the schema holds the real scale."""
    return w + 1.0


def chain(*steps: Transform) -> Transform:
    def run(cfg, w):
        for step in steps:
            w = step(cfg, w)
        return w
    run.__name__ = " -> ".join(s.__name__ for s in steps)
    return run


def conv1d(cfg, w: np.ndarray) -> np.ndarray:
    """GPT-2's Conv1D stores [in, out]; bring it to Linear's [out, in]."""
    return w.T


def heads_in(count: str = "n_heads") -> Transform:
    """Linear [heads*d_head, d_model] -> [heads, d_model, d_head]; biases [heads*d_head] -> [heads, d_head]."""
    def run(cfg, w):
        n = getattr(cfg, count)
        if w.ndim == 1:
            return w.reshape(n, cfg.d_head)
        return np.ascontiguousarray(w.reshape(n, cfg.d_head, w.shape[1]).transpose(0, 2, 1))  # (n, d_model, d_head)
    run.__name__ = f"heads_in({count})"
    return run


def heads_out(cfg, w: np.ndarray) -> np.ndarray:
    """Linear [d_model, n_heads*d_head] -> W_O [n_heads, d_head, d_model]."""
    return np.ascontiguousarray(w.T.reshape(cfg.n_heads, cfg.d_head, w.shape[0]))


def rows(part: int, sizes: Callable) -> Transform:
    """Block `part` of a fused Linear weight (or bias) cut along the output axis into `sizes(cfg)`."""
    def run(cfg, w):
        bounds = np.cumsum([0, *sizes(cfg)])
        return w[bounds[part]:bounds[part + 1]]
    run.__name__ = f"rows({part})"
    return run


def qkv_sizes(cfg) -> list[int]:
    """Q, K, V blocks of a fused [q; k; v] projection, grouped-query aware."""
    return [cfg.n_heads * cfg.d_head, cfg.n_kv_heads * cfg.d_head, cfg.n_kv_heads * cfg.d_head]


def halves(cfg) -> list[int]:
    return [cfg.d_mlp, cfg.d_mlp]


def interleaved(part: int, parts: int = 3) -> Transform:
    """Fused qkv laid out per head as (head, qkv, d_head) on the output axis (NeoX, Bloom)."""
    def run(cfg, w):
        n = cfg.n_heads
        if w.ndim == 1:
            return w.reshape(n, parts, cfg.d_head)[:, part]  # (n, d_head)
        return np.ascontiguousarray(
            w.reshape(n, parts, cfg.d_head, w.shape[1])[:, part].transpose(0, 2, 1))  # (n, d_model, d_head)
    run.__name__ = f"interleaved({part})"
    return run


def from_position_zero(cfg, w: np.ndarray) -> np.ndarray:
    """Learned positions from position 0 on: OPT and RoBERTa store cfg.pos_offset rows before it."""
    return w[cfg.pos_offset:]


def fused_qkv(weight: str, bias: str, split: Callable[[int], Transform]) -> dict:
    """The six schema rows of one fused q/k/v tensor and its bias, cut by `split(part)` (0 q, 1 k, 2 v)."""
    rows = {}
    for part, letter in enumerate("QKV"):
        rows[f"blocks.{{l}}.attn.W_{letter}"] = (weight, split(part))
        rows[f"blocks.{{l}}.attn.b_{letter}"] = (bias, split(part))
    return rows


def megatron_block(layer: str, attention: str, split: Callable[[int], Transform]) -> dict:
    """The per-layer rows of the Megatron-style layout NeoX, Bloom and Falcon share, under source prefix
    `layer` ('h.{l}.'): input_layernorm, `attention`.query_key_value cut by `split`, `attention`.dense,
    post_attention_layernorm, mlp.dense_h_to_4h and mlp.dense_4h_to_h (Linear [out, in], biased)."""
    a = f"{layer}{attention}."
    return {
        "blocks.{l}.ln1.w": (layer + "input_layernorm.weight", same),
        "blocks.{l}.ln1.b": (layer + "input_layernorm.bias", same),
        **fused_qkv(a + "query_key_value.weight", a + "query_key_value.bias", split),
        "blocks.{l}.attn.W_O": (a + "dense.weight", heads_out),  # [d_model, n_heads*d_head]
        "blocks.{l}.attn.b_O": (a + "dense.bias", same),
        "blocks.{l}.ln2.w": (layer + "post_attention_layernorm.weight", same),  # the pre-MLP norm
        "blocks.{l}.ln2.b": (layer + "post_attention_layernorm.bias", same),
        "blocks.{l}.mlp.W_in": (layer + "mlp.dense_h_to_4h.weight", transpose),  # [d_mlp, d_model]
        "blocks.{l}.mlp.b_in": (layer + "mlp.dense_h_to_4h.bias", same),
        "blocks.{l}.mlp.W_out": (layer + "mlp.dense_4h_to_h.weight", transpose),  # [d_model, d_mlp]
        "blocks.{l}.mlp.b_out": (layer + "mlp.dense_4h_to_h.bias", same),
    }


# ---- vision transformers ----------------------------------------------------------------------------
def token(cfg, w: np.ndarray) -> np.ndarray:
    """A learned token stored with batch and sequence axes (ViT's cls_token (1, 1, d_model)) -> [d_model]."""
    return w.reshape(w.shape[-1])


def token_rows(cfg, w: np.ndarray) -> np.ndarray:
    """Learned rows stored with a batch axis (ViT's position_embeddings (1, n, d_model)) -> [n, d_model]."""
    return w.reshape(-1, w.shape[-1])


def tower_heads_in(cfg, w: np.ndarray) -> np.ndarray:
    """heads_in for a second tower of another width (CLIP's vision tower): cfg.vision_n_heads heads, d_head
    read off the stored rows. [heads*d_head, d_in] -> [heads, d_in, d_head]; a bias -> [heads, d_head]."""
    n = cfg.vision_n_heads
    if w.ndim == 1:
        return w.reshape(n, -1)
    return np.ascontiguousarray(w.reshape(n, w.shape[0] // n, w.shape[1]).transpose(0, 2, 1))


def tower_heads_out(cfg, w: np.ndarray) -> np.ndarray:
    """heads_out for the second tower: [d_model, heads*d_head] -> [heads, d_head, d_model]."""
    return np.ascontiguousarray(w.T.reshape(cfg.vision_n_heads, -1, w.shape[0]))


def prenorm_block(names: dict, stack: str = "blocks", split_in: Transform | None = None,
                  split_out: Transform | None = None) -> dict:
    """The per-layer rows of a pre-norm block of separate Linear layers (ViT, DINOv2, CLIP, SigLIP): `names`
    maps ln1, q, k, v, o, ln2, fc1, fc2 (and layer-scale ls1, ls2 where the family has them) to module paths
    with {l}; weight and bias are appended. `stack` is the schema stack the rows fill ('vision' for a tower)."""
    split_in, split_out = split_in or heads_in(), split_out or heads_out
    rows = {"ln1.w": ("ln1", "weight", same), "ln1.b": ("ln1", "bias", same),
            "attn.W_Q": ("q", "weight", split_in), "attn.b_Q": ("q", "bias", split_in),
            "attn.W_K": ("k", "weight", split_in), "attn.b_K": ("k", "bias", split_in),
            "attn.W_V": ("v", "weight", split_in), "attn.b_V": ("v", "bias", split_in),
            "attn.W_O": ("o", "weight", split_out), "attn.b_O": ("o", "bias", same),
            "ln2.w": ("ln2", "weight", same), "ln2.b": ("ln2", "bias", same),
            "mlp.W_in": ("fc1", "weight", transpose), "mlp.b_in": ("fc1", "bias", same),
            "mlp.W_out": ("fc2", "weight", transpose), "mlp.b_out": ("fc2", "bias", same),
            "attn.ls": ("ls1", None, same), "mlp.ls": ("ls2", None, same)}  # layer scale: a bare parameter
    return {schema.template(slot, stack): (names[role] + (f".{leaf}" if leaf else ""), fn)
            for slot, (role, leaf, fn) in rows.items() if role in names}
