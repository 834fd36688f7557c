"""Statistics of every stored tensor of a model in one streaming pass with bounded memory.

    from reporting.stats_scan import scan
    stats = scan(open_model("bench/data/llama7b"))   # list[TensorStats], checkpoint order

Each tensor's byte range is read in fixed-size chunks into a reused buffer
(`Checkpoint.iter_chunks`) and folded into a float64 moment accumulator
(`analyses.tensor_stats.Moments`), so memory is a few chunks per worker whatever the model's
size. Two workers scan independent tensors at once; numpy releases the GIL in the reads, the
casts and the dot products, so they overlap on two cores. BLAS is pinned to one thread for the
scan: each worker's short dot products are faster alone than split over a busy machine's cores.
"""
from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable

from analyses.tensor_stats import BLOCK as SAFE_BLOCK, Moments, TensorStats

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

CHUNK_ELEMS = 1 << 20  # values read per chunk: 4 MB of float32 (+ 2 MB of bf16 bits) per worker
# float64 block of the accumulator: larger once BLAS is pinned to one thread (see analyses.tensor_stats)
BLOCK = 32768 if threadpool_limits else SAFE_BLOCK

Progress = Callable[[int, int, str], None]  # (tensors done, tensors in all, name just finished)


def tensor_scan(checkpoint, name: str, chunk_elems: int = CHUNK_ELEMS, block: int = BLOCK) -> TensorStats:
    """One tensor's statistics, streamed when the checkpoint can (safetensors), else read whole."""
    e = checkpoint.entries[name]
    acc = Moments(block)
    if hasattr(checkpoint, "iter_chunks"):
        for chunk in checkpoint.iter_chunks(name, chunk_elems):
            acc.add(chunk)
    else:  # a torch .bin: its tensors are memory-mapped by torch already
        acc.add(checkpoint.read(name))
    return acc.result(name, tuple(e.shape), e.dtype)


def scan(model, progress: Progress | None = None, workers: int = 2,
         chunk_elems: int = CHUNK_ELEMS) -> list[TensorStats]:
    """Statistics of every stored tensor of `model` (tied aliases are not stored, so not listed).

    `progress(done, total, name)` is called from the calling thread after each tensor, so a
    Streamlit progress bar or a CLI line can be updated from it.
    """
    checkpoint = model.checkpoint
    names = checkpoint.names()
    results: dict[str, TensorStats] = {}

    def finished(name: str, stats: TensorStats) -> None:
        results[name] = stats
        if progress is not None:
            progress(len(results), len(names), name)

    with _one_blas_thread():
        if workers <= 1:
            for name in names:
                finished(name, tensor_scan(checkpoint, name, chunk_elems))
        else:
            # Largest first, so the last tensor to finish is a small one and both workers stay busy.
            order = sorted(names, key=lambda n: -checkpoint.entries[n].nbytes)
            with ThreadPoolExecutor(workers, thread_name_prefix="stats-scan") as pool:
                futures = {pool.submit(tensor_scan, checkpoint, n, chunk_elems): n for n in order}
                for future in as_completed(futures):
                    finished(futures[future], future.result())
    return [results[n] for n in names]


def _one_blas_thread():
    if threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
