"""Spectral diagnostics over a whole model: per schema slot, per head (and its QK / OV circuits), and per
stored tensor (what WeightWatcher sees).

The model is only read through its public interface (`cfg`, `has`, `weight`, `raw`, `raw_names`), so
this module imports nothing from adapters; rows are plain dicts, ready for a cache, a chart or JSON.
"""
from __future__ import annotations

import os
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict

import numpy as np
from threadpoolctl import threadpool_limits  # ships with scikit-learn

from .spectral import (
    Diagnostics,
    batched_eigenvalues,
    circuit_eigenvalues,
    diagnose,
    eigenvalues,
    from_eigenvalues,
    shuffled,
    streamed_eigenvalues,
)

MIN_EVALS = 8  # WeightWatcher's default min_evals: fewer eigenvalues say nothing about a tail
LAYER_SLOTS = ("attn.W_Q", "attn.W_K", "attn.W_V", "attn.W_O", "mlp.W_in", "mlp.W_gate", "mlp.W_out")
GLOBAL_SLOTS = ("embed.W_E", "pos_embed.W_pos", "unembed.W_U")
HEAD_KINDS = ("W_Q", "W_K", "W_V", "W_O", "QK", "OV")  # QK = W_Q[h] W_K[kv(h)]^T, OV = W_V[kv(h)] W_O[h]

Progress = Callable[[float, str], None]
# Threads of run_parallel's pool; None: one per CPU. report.py's second process sets 1, as its main
# process keeps the other core busy (measured: 2 threads there made the whole report ~10% slower).
POOL_THREADS: int | None = None


def _quiet(fraction: float, text: str) -> None:
    pass


def run_parallel(tasks: Iterable[tuple[Callable, tuple]], total: int, progress: Progress = _quiet,
                 what: str = "matrices") -> list:
    """Run (function, args) tasks on a thread pool, one BLAS thread each; results in task order.

    Why: these are many mid-sized LAPACK calls. Multi-threaded BLAS on each of them is slower than one
    thread per matrix (threads spin-wait on shared cores: eigvalsh of a 384 x 384 Gram measured 4x slower,
    a stacked QR 60x), while numpy releases the GIL, so a pool of single-threaded calls keeps every core busy.
    `tasks` is consumed lazily here, so weights are read in this thread, at most 2 per worker in flight.
    """
    workers = POOL_THREADS or os.cpu_count() or 1
    results: list = [None] * total
    done_count = 0
    with threadpool_limits(1), ThreadPoolExecutor(workers) as pool:
        pending: dict = {}

        def collect() -> None:
            nonlocal done_count
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                results[pending.pop(f)] = f.result()
                done_count += 1
            progress(done_count / max(total, 1), f"{done_count} of {total} {what}")

        for i, (fn, args) in enumerate(tasks):
            pending[pool.submit(fn, *args)] = i
            while len(pending) >= 2 * workers:
                collect()
        while pending:
            collect()
    return results


def seed_for(name: str) -> int:
    """The shuffled copy's seed, from the matrix's name: the page (one layer at a time) and the report
    (the whole model) shuffle each matrix the same way, so they show the same baseline."""
    return zlib.crc32(name.encode())


def head_seed(layer: int) -> int:
    """The seed of one layer's shuffled per-head copies (all heads of a layer are shuffled together)."""
    return 1000 + layer


def slot_names(model) -> list[tuple[int | None, str, str]]:
    """(layer, slot, schema name) of every matrix the slot-level table covers, embeddings first."""
    out = [(None, s, s) for s in GLOBAL_SLOTS[:2] if model.has(s)]
    for layer in range(model.cfg.n_layers or 0):
        out += [(layer, s, f"blocks.{layer}.{s}") for s in LAYER_SLOTS if model.has(f"blocks.{layer}.{s}")]
    if model.has("unembed.W_U") and not model.cfg.tied_embeddings:  # tied: W_E transposed, same spectrum
        out.append((None, "unembed.W_U", "unembed.W_U"))
    return out


def slot_matrix(model, name: str) -> np.ndarray:
    """A schema slot as one 2-D matrix: per-head slots with their heads side by side."""
    w = model.weight(name)
    if w.ndim == 3 and name.endswith("attn.W_O"):
        return w.reshape(-1, w.shape[-1])  # (n_heads, d_head, d_model) -> (n_heads*d_head, d_model)
    if w.ndim == 3:  # (heads, d_model, d_head) -> (d_model, heads*d_head); column order leaves s unchanged
        return w.transpose(1, 0, 2).reshape(w.shape[1], -1)
    return w


def _row(level: str, layer, slot: str, head, name: str, d: Diagnostics) -> dict:
    return {"level": level, "layer": layer, "slot": slot, "head": head, "name": name, **asdict(d)}


def diagnose_slots(model, with_shuffled: bool = True, progress: Progress = _quiet,
                   layers: set | None = None) -> list[dict]:
    """One row per schema matrix (embeddings, each layer's W_Q ... W_out, unembedding).

    `layers` limits it to those layer indices (None in it: the embeddings and unembedding)."""
    names = [n for n in slot_names(model) if layers is None or n[0] in layers]
    tasks = ((_diagnose_slot, (model, name, with_shuffled)) for _, _, name in names)
    results = run_parallel(tasks, len(names), progress, "matrices")
    return [_row("slot", layer, slot, None, name, d) for (layer, slot, name), d in zip(names, results) if d]


def _diagnose_slot(model, name: str, with_shuffled: bool) -> Diagnostics | None:
    evals, n_rows = slot_eigenvalues(model, name)
    if len(evals) < MIN_EVALS:
        return None
    # the shuffle needs the whole matrix, read again here: a streamed slot is never whole otherwise
    rand = eigenvalues(shuffled(slot_matrix(model, name), seed_for(name))) if with_shuffled else None
    return from_eigenvalues(evals, n_rows, rand)


# A tall matrix of at least this many values, stored as is or transposed (embeddings, unembeddings),
# has its Gram matrix summed over blocks of rows read one at a time: a 7B model's 32000 x 4096
# embedding is never whole in memory (524 MB as float32), only 16 MB of it at a time.
STREAM_FROM = 1 << 23
_STREAM_BLOCK = 1 << 22  # values per block of rows


def slot_eigenvalues(model, name: str) -> tuple[np.ndarray, int]:
    """(ESD, N) of one schema slot, ascending: the table's and the chart's numbers come from here."""
    raw = model.plain_source(name)
    entries = model.checkpoint.entries
    if raw is not None and hasattr(model.checkpoint, "iter_chunks"):
        shape = entries[raw].shape
        if len(shape) == 2 and shape[0] >= shape[1] and shape[0] * shape[1] >= STREAM_FROM:
            rows = max(1, _STREAM_BLOCK // shape[1])
            return streamed_eigenvalues(model.checkpoint.iter_chunks(raw, rows * shape[1]), shape[1]), shape[0]
    w = slot_matrix(model, name)
    return eigenvalues(w), max(w.shape)


def head_eigenvalues(model, layer: int, seed: int | None = None) -> dict[str, np.ndarray]:
    """kind -> (n_heads, k) ESDs of one layer's per-head matrices and circuits; shuffled copies if `seed`.

    Each head's slice is shuffled on its own; a circuit's baseline is the product of its shuffled
    factors (shuffling the D x D product itself would make it full rank: a different object).
    """
    return _head_esds(_attn_weights(model, layer), model.cfg.n_heads, model.cfg.n_kv_heads, seed)


def _head_esds(w: dict, n_heads: int, n_kv_heads: int | None, seed: int | None = None) -> dict[str, np.ndarray]:
    if seed is not None:
        rng = np.random.default_rng(seed)
        w = {k: rng.permuted(v.reshape(v.shape[0], -1), axis=1).reshape(v.shape) for k, v in w.items()}
    kv = np.arange(n_heads) // (n_heads // (n_kv_heads or n_heads))  # kv head of each head
    out = {k: batched_eigenvalues(v) for k, v in w.items()}
    out["W_K"], out["W_V"] = out["W_K"][kv], out["W_V"][kv]  # one row per query head
    out["QK"] = circuit_eigenvalues(w["W_Q"], w["W_K"][kv])  # (h, d_model, d_head) each
    out["OV"] = circuit_eigenvalues(w["W_V"][kv], w["W_O"].transpose(0, 2, 1))
    return out


def diagnose_heads(model, with_shuffled: bool = True, progress: Progress = _quiet,
                   layers: set | None = None) -> list[dict]:
    """One row per (layer, head, kind) for kind in HEAD_KINDS; empty when the model has no per-head view."""
    cfg = model.cfg
    layers = [l for l in range(cfg.n_layers or 0)
              if model.has(f"blocks.{l}.attn.W_Q") and (layers is None or l in layers)]
    if not cfg.n_heads or not cfg.d_head or cfg.d_head < MIN_EVALS:
        return []
    tasks = ((_layer_heads, (_attn_weights(model, layer), cfg.n_heads, cfg.n_kv_heads, cfg.d_model,
                             layer, with_shuffled)) for layer in layers)
    return [row for rows in run_parallel(tasks, len(layers), progress, "layers") for row in rows]


def _attn_weights(model, layer: int) -> dict[str, np.ndarray]:
    return {k: model.weight(f"blocks.{layer}.attn.{k}") for k in ("W_Q", "W_K", "W_V", "W_O")}


def _layer_heads(w: dict, n_heads: int, n_kv_heads: int | None, d_model: int, layer: int,
                 with_shuffled: bool) -> list[dict]:
    real = _head_esds(w, n_heads, n_kv_heads)
    rand = _head_esds(w, n_heads, n_kv_heads, seed=head_seed(layer)) if with_shuffled else None
    rows = []
    for kind in HEAD_KINDS:
        for h in range(n_heads):
            d = from_eigenvalues(real[kind][h], d_model, rand[kind][h] if rand else None,
                                 mp=kind not in ("QK", "OV"))  # a product of two factors is not MP
            rows.append(_row("head", layer, f"attn.{kind}", h, f"blocks.{layer}.attn.{kind}[{h}]", d))
    return rows


def stored_names(model, max_rows: int | None = None) -> list[str]:
    """Raw tensors WeightWatcher would analyse: 2-D, >= MIN_EVALS eigenvalues, N <= max_rows if given."""
    out = []
    for name in model.raw_names():
        shape = model.checkpoint.entries[name].shape
        if len(shape) == 2 and min(shape) >= MIN_EVALS and (max_rows is None or max(shape) <= max_rows):
            out.append(name)
    return out


def diagnose_stored(model, names: list[str] | None = None, with_shuffled: bool = True,
                    progress: Progress = _quiet) -> list[dict]:
    """One row per stored 2-D tensor as the checkpoint holds it (GPT-2's fused c_attn stays fused)."""
    names = stored_names(model) if names is None else names
    tasks = ((diagnose, (model.raw(name), with_shuffled, i)) for i, name in enumerate(names))
    results = run_parallel(tasks, len(names), progress, "tensors")
    return [_row("stored", None, name, None, name, d) for name, d in zip(names, results)]


def matrix_eigenvalues(model, name: str, head: int | None = None, kind: str | None = None,
                       shuffle: bool = False) -> tuple[np.ndarray, int]:
    """(ESD, N) of one slot (head None) or one head's `kind` (HEAD_KINDS); with `shuffle`, of the same
    shuffled copy the diagnostics tables use (same seed), so the chart and the table agree."""
    if head is None:
        if not shuffle:
            return slot_eigenvalues(model, name)
        w = shuffled(slot_matrix(model, name), seed_for(name))
        return eigenvalues(w), max(w.shape)
    layer = int(name.split(".")[1])
    return head_eigenvalues(model, layer, head_seed(layer) if shuffle else None)[kind][head], model.cfg.d_model
