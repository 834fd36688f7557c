"""Any schema slot or raw tensor as a labelled 2-D matrix, for heatmaps, histograms, PCA, spectra.

Per-head slots are laid out with heads side by side along their d_head axis, so the matrix
keeps the schema's [input, output] orientation:
    W_Q, W_K, W_V (heads, d_model, d_head) -> (d_model, heads*d_head)
    W_O           (heads, d_head, d_model) -> (heads*d_head, d_model)
`blocks.{l}.attn.W_QKV` is a derived name: W_Q, W_K and W_V of layer l side by side (the
'attention input projections' that GPT-2 stores fused as c_attn).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import schema

RAW = "raw:"  # prefix for raw checkpoint tensor names in a matrix list
QKV = "attn.W_QKV"


@dataclass
class Matrix:
    values: np.ndarray  # 2-D float32
    rows: str  # what the row axis is
    cols: str  # what the column axis is
    title: str


def qkv(model, layer: int) -> np.ndarray:
    """(d_model, (n_heads + 2*n_kv_heads) * d_head): Q, K, V columns of one layer side by side."""
    parts = [to_2d(w, model.weight(f"blocks.{layer}.{w}")) for w in ("attn.W_Q", "attn.W_K", "attn.W_V")]
    return np.concatenate(parts, axis=1)


def to_2d(slot: str, arr: np.ndarray) -> np.ndarray:
    """A schema slot's array as its [input, output] matrix; 1-D vectors become a single row. All experts of an
    expert slot sit side by side like heads: W_in (n_experts, d_model, d_expert) -> (d_model, n*d_expert),
    W_out (n_experts, d_expert, d_model) -> (n*d_expert, d_model)."""
    slot = schema.split_expert(slot)[0]
    if slot in ("attn.W_O", "mlp.experts.W_out") and arr.ndim == 3:
        return arr.reshape(-1, arr.shape[-1])  # (n_heads, d_head, d_model) -> (n_heads*d_head, d_model)
    if arr.ndim == 3:
        n, a, b = arr.shape
        return np.ascontiguousarray(arr.transpose(1, 0, 2).reshape(a, n * b))  # (d_model, n_heads*d_head)
    if arr.ndim == 1:
        return arr[None, :]
    return arr


def _axes(slot: str) -> tuple[str, str]:
    slot, expert = schema.split_expert(slot)
    if slot in ("mlp.experts.W_in", "mlp.experts.W_gate"):
        return "d_model (input)", "d_expert (output)" if expert is not None else "expert × d_expert (output)"
    if slot == "mlp.experts.W_out":
        return "d_expert (input)" if expert is not None else "expert × d_expert (input)", "d_model (output)"
    if slot == "mlp.W_router":
        return "d_model (input)", "expert (output)"
    if slot in ("attn.W_Q", "attn.W_K", "attn.W_V", QKV):
        return "d_model (input)", "head × d_head (output)"
    if slot == "attn.W_O":
        return "head × d_head (input)", "d_model (output)"
    if slot in ("mlp.W_in", "mlp.W_gate"):
        return "d_model (input)", "d_mlp (output)"
    if slot == "mlp.W_out":
        return "d_mlp (input)", "d_model (output)"
    if slot == "embed.W_E":
        return "token", "d_model"
    if slot == "pos_embed.W_pos":
        return "position", "d_model"
    if slot == "unembed.W_U":
        return "d_model (input)", "token (output)"
    return "row", "column"


def matrix_names(model, include_raw: bool = True) -> list[str]:
    """Every name `matrix()` accepts: schema slots, the derived W_QKV per layer, then raw tensors."""
    names = []
    for l in range(model.cfg.n_layers or 0):
        if model.has(f"blocks.{l}.attn.W_Q"):
            names.append(f"blocks.{l}.{QKV}")
    names += [n for n in model.names() if not n.endswith((".b", ".w")) and "attn.b_" not in n]
    if include_raw:
        names += [RAW + n for n in model.raw_names() if len(model.checkpoint.entries[n].shape) >= 2]
    return names


def matrix(model, name: str) -> Matrix:
    """A name from `matrix_names` as a labelled 2-D matrix."""
    if name.startswith(RAW):
        raw = name[len(RAW):]
        arr = model.raw(raw)
        rows, cols = model.family.raw_axes(raw, arr.shape)
        return Matrix(arr.reshape(arr.shape[0], -1), rows, cols, f"{raw} (as stored)")
    layer, slot = schema.split_layer(name)
    values = qkv(model, layer) if slot == QKV else to_2d(slot, model.weight(name))
    rows, cols = _axes(slot)
    return Matrix(values, rows, cols, name)


def shared_names(a, b) -> list[str]:
    """Names both models have with equal shapes: schema names when both are read through the same
    family (so a sharded fine-tune and its base line up), raw tensor names otherwise."""
    if a.arch == b.arch and a.arch != "generic":
        names = [n for n in a.names() if b.has(n)]
        return [n for n in names if _shape(a, n) == _shape(b, n)]
    ea, eb = a.checkpoint.entries, b.checkpoint.entries
    return [RAW + n for n in ea if n in eb and ea[n].shape == eb[n].shape]


def _shape(model, name: str) -> tuple[int, ...]:
    raw = model.sources(name)[-1]
    return tuple(model.checkpoint.entries[raw].shape)


def tensor(model, name: str) -> np.ndarray:
    """A schema name or a 'raw:' name as an array."""
    return model.raw(name[len(RAW):]) if name.startswith(RAW) else model.weight(name)
