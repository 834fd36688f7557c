"""The spectral topic's rows: one per schema matrix, per (layer, head, per-head matrix), per stored tensor.

A row is a plain dict (level, layer, slot, head, name, then every field of analyses.spectral.Diagnostics),
ready for a cache, a chart or JSON. A head's row is found by its (layer, slot, head) fields; only rows of
whole matrices carry a `name` (the schema or stored name), which is how users know them.

A matrix with NaN or Inf values, or all zero or constant (no spectrum to fit: rank 0 or 1), gets a
skipped row instead: {level, layer, slot, head, name, skipped: the reason} and no metrics. A layer's
per-head rows are skipped together when one of its attention weights holds NaN or Inf (the circuits
mix them). `is_skipped(row)` tells them apart.
"""
from __future__ import annotations

import zlib
from dataclasses import asdict

import numpy as np

from adapters import schema
from adapters.views import to_2d
from analyses import finite
from analyses.attention import kv_index
from analyses.spectral import (
    Diagnostics,
    batched_eigenvalues,
    circuit_eigenvalues,
    diagnose,
    eigenvalues,
    from_eigenvalues,
    shuffled,
    streamed_eigenvalues,
)
from topics import gpu_linalg
from topics.executor import LOCAL, Executor, Progress, opened, quiet

MIN_EVALS = 8  # WeightWatcher's default min_evals: fewer eigenvalues say nothing about a tail
# The schema slots that are linear maps worth a spectrum (norms and biases are vectors; the embedding's
# norm, token types and the router are left out), in the order the table lists them.
DIAGNOSED_LAYER_SLOTS = (*schema.ATTN_WEIGHTS, "mlp.W_in", "mlp.W_gate", "mlp.W_out")
DIAGNOSED_GLOBAL_SLOTS = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U")
assert set(DIAGNOSED_LAYER_SLOTS) <= set(schema.LAYER_SLOTS) and set(DIAGNOSED_GLOBAL_SLOTS) <= set(schema.GLOBAL_SLOTS)
# per-head matrix -> the slot its rows carry. QK = W_Q[h] W_K[kv(h)]^T, OV = W_V[kv(h)] W_O[h]: circuits,
# which are no schema slots, so they are written beside attn's weights.
HEAD_KINDS = {"W_Q": "attn.W_Q", "W_K": "attn.W_K", "W_V": "attn.W_V", "W_O": "attn.W_O",
              "QK": "attn.QK", "OV": "attn.OV"}
CIRCUITS = ("QK", "OV")  # a product of two factors: its bulk is no Marchenko-Pastur bulk


def seed_for(name: str) -> int:
    """The shuffled copy's seed, from the matrix's name: the page (one layer at a time) and the report
    (the whole model) shuffle each matrix the same way, so they show the same baseline."""
    return zlib.crc32(name.encode())


def head_seed(layer: int) -> int:
    """The seed of one layer's shuffled per-head copies (all heads of a layer are shuffled together)."""
    return 1000 + layer


def _row(level: str, layer: int | None, slot: str, head: int | None, name: str | None,
         d: Diagnostics | str) -> dict:
    """A row of metrics, or a skipped row when `d` is the reason (a str)."""
    where = {"level": level, "layer": layer, "slot": slot, "head": head, "name": name}
    return {**where, "skipped": d} if isinstance(d, str) else {**where, **asdict(d)}


def is_skipped(row: dict) -> bool:
    return "skipped" in row


# ---- schema matrices ---------------------------------------------------------------------------
def slot_keys(model, layers: set | None = None) -> list[schema.Key]:
    """Every matrix the slot-level table covers, embeddings first; `layers` limits it to those layer
    indices (None in it: the embeddings and unembedding)."""
    keys = [schema.Key(s) for s in DIAGNOSED_GLOBAL_SLOTS[:2] if model.has(s)]
    by_layer = {s: model.layers(s) for s in DIAGNOSED_LAYER_SLOTS}
    for layer in range(model.cfg.n_layers or 0):
        keys += [schema.Key(s, layer) for s in DIAGNOSED_LAYER_SLOTS if layer in by_layer[s]]
    if model.has("unembed.W_U") and not model.cfg.tied_embeddings:  # tied: W_E transposed, same spectrum
        keys.append(schema.Key("unembed.W_U"))
    return [k for k in keys if layers is None or k.layer in layers]


def slot_rows(model, with_shuffled: bool, executor: Executor = LOCAL, progress: Progress = quiet,
              layers: set | None = None) -> list[dict]:
    """One row per schema matrix (embeddings, each layer's W_Q ... W_out, unembedding) of `layers`."""
    keys = slot_keys(model, layers)
    target = executor.handle(model)  # the model, or (remote tasks) how a worker opens it
    tasks = ((_diagnose_slot, (target, key, with_shuffled)) for key in keys)
    results = executor.map(tasks, len(keys), progress, "matrices")
    return [_row("slot", k.layer, k.slot, None, str(k), d) for k, d in zip(keys, results) if d]


def _diagnose_slot(model, key: schema.Key, with_shuffled: bool) -> Diagnostics | str | None:
    """The slot's diagnostics; why it is skipped (a str); None when it has too few eigenvalues to say anything.
    `model` may be a ModelRef (a remote task): opened here, so only this slot's tensors are read."""
    model = opened(model)
    reason = skip_reason(model, key)
    if reason:
        return reason
    evals, n_rows = slot_eigenvalues(model, key)
    if len(evals) < MIN_EVALS:
        return None
    if evals[-1] == 0:  # a streamed slot is checked here, from its Gram matrix
        return "all zero"
    # the shuffle needs the whole matrix, read again here: a streamed slot is never whole otherwise
    rand = eigenvalues(shuffled_slot(model, key)) if with_shuffled else None
    return from_eigenvalues(evals, n_rows, rand)


def skip_reason(model, key: schema.Key) -> str | None:
    """Why one slot has no spectrum: NaN or Inf (counted chunk by chunk for a streamed slot, so it is never
    whole in memory), all zero or constant (rank 0 or 1: no tail to fit; checked for slots read whole); or None."""
    raw = _streamed_source(model, key)
    if raw is not None:
        parts, offset = [], 0
        for chunk in model.checkpoint.iter_chunks(raw, _STREAM_BLOCK):
            parts.append((offset, finite.nonfinite(chunk)))
            offset += chunk.size
        bad = finite.merge(parts, tuple(model.checkpoint.entries[raw].shape))
        return f"holds {bad.words()} (stored as `{raw}`)" if bad else None
    w = slot_matrix(model, key)
    return finite.skip_reason(w) or finite.degenerate(w)


def slot_matrix(model, key: schema.Key) -> np.ndarray:
    """A schema slot as one 2-D matrix, per-head slots with their heads side by side."""
    return to_2d(key.slot, model.weight(str(key)))


def shuffled_slot(model, key: schema.Key) -> np.ndarray:
    """The element-wise shuffled copy of a slot the table's rand_* numbers come from."""
    return shuffled(slot_matrix(model, key), seed_for(str(key)))


# A tall matrix of at least this many values, stored as is or transposed (embeddings, unembeddings),
# has its Gram matrix summed over blocks of rows read one at a time: a 7B model's 32000 x 4096
# embedding is never whole in memory (524 MB as float32), only 16 MB of it at a time.
STREAM_FROM = 1 << 23
_STREAM_BLOCK = 1 << 22  # values per block of rows


def slot_eigenvalues(model, key: schema.Key) -> tuple[np.ndarray, int]:
    """(ESD, N) of one schema slot, ascending: the table's and the chart's numbers come from here.
    Its Gram matrix and eigenvalues run through torch on the GPU when there is one (topics/gpu_linalg.py)."""
    raw = _streamed_source(model, key)
    if raw is not None:
        shape = model.checkpoint.entries[raw].shape
        rows = max(1, _STREAM_BLOCK // shape[1])
        stream = gpu_linalg.streamed_eigenvalues if gpu_linalg.active() else streamed_eigenvalues
        return stream(model.checkpoint.iter_chunks(raw, rows * shape[1]), shape[1]), shape[0]
    w = slot_matrix(model, key)
    return (gpu_linalg.eigenvalues(w) if gpu_linalg.active() else eigenvalues(w)), max(w.shape)


def _streamed_source(model, key: schema.Key) -> str | None:
    """The stored tensor a slot's Gram matrix is summed from block by block (see STREAM_FROM); None: read whole."""
    raw = model.plain_source(str(key))
    if raw is None or not hasattr(model.checkpoint, "iter_chunks"):
        return None
    shape = model.checkpoint.entries[raw].shape
    tall = len(shape) == 2 and shape[0] >= shape[1] and shape[0] * shape[1] >= STREAM_FROM
    return raw if tall else None


# ---- heads and their circuits ------------------------------------------------------------------
def head_layers(model, layers: set | None = None) -> list[int]:
    """The layers with a per-head view whose heads have enough eigenvalues (d_head >= MIN_EVALS)."""
    cfg = model.cfg
    if not cfg.n_heads or not cfg.d_head or cfg.d_head < MIN_EVALS:
        return []
    return [l for l in model.layers("attn.W_Q") if layers is None or l in layers]


def head_rows(model, with_shuffled: bool, executor: Executor = LOCAL, progress: Progress = quiet,
              layers: set | None = None) -> list[dict]:
    """One row per (layer, head, kind) for kind in HEAD_KINDS; empty when the model has no per-head view."""
    cfg = model.cfg
    chosen = head_layers(model, layers)
    if executor.remote:  # the worker reads the layer's attention weights itself: no arrays cross the network
        target = executor.handle(model)
        tasks = ((_remote_layer_heads, (target, cfg.n_kv_heads, cfg.d_model, layer, with_shuffled)) for layer in chosen)
    else:
        tasks = ((_layer_heads, (_attn_weights(model, layer), cfg.n_kv_heads, cfg.d_model, layer, with_shuffled))
                 for layer in chosen)
    return [row for rows in executor.map(tasks, len(chosen), progress, "layers") for row in rows]


def head_eigenvalues(model, layer: int, seed: int | None = None) -> dict[str, np.ndarray]:
    """kind -> (n_heads, k) ESDs of one layer's per-head matrices and circuits; shuffled copies if `seed`.

    Each head's slice is shuffled on its own; a circuit's baseline is the product of its shuffled
    factors (shuffling the D x D product itself would make it full rank: a different object).
    """
    return _head_esds(_attn_weights(model, layer), model.cfg.n_kv_heads, seed)


def _attn_weights(model, layer: int) -> dict[str, np.ndarray]:
    """kind -> one layer's per-head weights: W_Q (n_heads, d_model, d_head), W_K, W_V (n_kv_heads, ...),
    W_O (n_heads, d_head, d_model)."""
    return {kind: model.weight(schema.name(HEAD_KINDS[kind], layer)) for kind in ("W_Q", "W_K", "W_V", "W_O")}


def _head_esds(w: dict, n_kv_heads: int | None, seed: int | None = None) -> dict[str, np.ndarray]:
    n_heads = len(w["W_Q"])
    if seed is not None:
        rng = np.random.default_rng(seed)
        w = {k: rng.permuted(v.reshape(v.shape[0], -1), axis=1).reshape(v.shape) for k, v in w.items()}
    kv = kv_index(n_heads, n_kv_heads or n_heads)  # (n_heads,) the kv head each head reads
    out = {k: batched_eigenvalues(v) for k, v in w.items()}
    out["W_K"], out["W_V"] = out["W_K"][kv], out["W_V"][kv]  # one row per query head
    out["QK"] = circuit_eigenvalues(w["W_Q"], w["W_K"][kv])  # (n_heads, d_model, d_head) each
    out["OV"] = circuit_eigenvalues(w["W_V"][kv], w["W_O"].transpose(0, 2, 1))
    return out


def head_skip_reason(w: dict, layer: int) -> tuple[str, str] | None:
    """(the slot of the first attention weight with NaN or Inf, why) for one layer; None when all are finite."""
    for kind in ("W_Q", "W_K", "W_V", "W_O"):
        reason = finite.skip_reason(w[kind])
        if reason:
            return HEAD_KINDS[kind], f"{reason}: every head of layer {layer} skipped"
    return None


def _remote_layer_heads(target, n_kv_heads: int | None, d_model: int, layer: int, with_shuffled: bool) -> list[dict]:
    """_layer_heads in a worker that opens the model (a ModelRef) and reads one layer's attention weights."""
    return _layer_heads(_attn_weights(opened(target), layer), n_kv_heads, d_model, layer, with_shuffled)


def _layer_heads(w: dict, n_kv_heads: int | None, d_model: int, layer: int, with_shuffled: bool) -> list[dict]:
    skip = head_skip_reason(w, layer)
    if skip:
        slot, reason = skip
        return [_row("head", layer, slot, None, schema.name(slot, layer), reason)]
    real = _head_esds(w, n_kv_heads)
    rand = _head_esds(w, n_kv_heads, seed=head_seed(layer)) if with_shuffled else None
    rows = []
    for kind, slot in HEAD_KINDS.items():
        for h in range(len(real[kind])):
            d = from_eigenvalues(real[kind][h], d_model, rand[kind][h] if rand else None, mp=kind not in CIRCUITS)
            rows.append(_row("head", layer, slot, h, None, d))
    return rows


# ---- stored tensors (what WeightWatcher sees) ----------------------------------------------------
def stored_names(model, max_rows: int | None = None) -> list[str]:
    """Raw tensors WeightWatcher would analyse: 2-D, >= MIN_EVALS eigenvalues, N <= max_rows if given."""
    out = []
    for name in model.raw_names():
        shape = model.checkpoint.entries[name].shape
        if len(shape) == 2 and min(shape) >= MIN_EVALS and (max_rows is None or max(shape) <= max_rows):
            out.append(name)
    return out


def stored_rows(model, names: list[str] | None = None, with_shuffled: bool = True,
                executor: Executor = LOCAL, progress: Progress = quiet) -> list[dict]:
    """One row per stored 2-D tensor as the checkpoint holds it (GPT-2's fused c_attn stays fused)."""
    names = stored_names(model) if names is None else names
    if executor.remote:
        target = executor.handle(model)
        tasks = ((_remote_stored, (target, name, with_shuffled, i)) for i, name in enumerate(names))
    else:
        tasks = ((diagnose, (model.raw(name), with_shuffled, i)) for i, name in enumerate(names))
    results = executor.map(tasks, len(names), progress, "tensors")
    return [_row("stored", None, name, None, name, d) for name, d in zip(names, results)]


def _remote_stored(target, name: str, with_shuffled: bool, seed: int):
    """diagnose() of one stored tensor, read by the worker that opens the model (a ModelRef)."""
    return diagnose(opened(target).raw(name), with_shuffled, seed)
