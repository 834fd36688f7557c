"""Statistics of every stored tensor of a model in one streaming pass with bounded memory: the engine
of the health topic (topics.health).

    from topics.scan import scan
    stats = scan(open_model("bench/data/llama7b"))   # list[TensorStats], checkpoint order

Each tensor's byte range is read in fixed-size chunks into a reused buffer and folded into a
moment accumulator (`analyses.tensor_stats.Moments`), so memory is a few chunks per worker
whatever the model's size; two workers scan independent tensors at once. How depends on size:
- Large models (LARGE_MODEL_BYTES and up) with numba: bf16, fp16 and fp32 chunks go as stored
  (`Checkpoint.iter_stored_chunks`) to one compiled pass each (`analyses.fused`), on two threads,
  which the kernel lets run at once (it releases the GIL; Python is ~5% of a 256K-value chunk).
  Measured on a 7B bf16 model: 0.64-0.71x `cat`'s throughput, against 0.37-0.46x for the numpy
  path below. numba costs the process ~0.45 s and ~64 MB once, hence not for small models.
- Otherwise numpy (`Moments(fast=True)`: float32 shifted power sums over all-finite chunks; its
  module doc gives the verified error bound) on float32 chunks. Each numpy call takes a few
  microseconds, and two threads handing the GIL to each other that often ran no faster than one
  (measured: 0.55-0.60 vs 0.57 Gvalues/s; two processes 1.25), so a large model without numba
  is scanned by two worker processes; a small one, a torch .bin, or a pool that cannot start
  uses threads. BLAS is pinned to one thread per worker: each worker's short dot products are
  faster alone than split over a busy machine's cores.
"""
from __future__ import annotations

import contextlib
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Callable, Iterator

from analyses import fused
from analyses.tensor_stats import BLOCK as SAFE_BLOCK, Moments, TensorStats

try:  # installed with scikit-learn
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

# values read per chunk by the numpy path: 256 KB of float32 (+ 128 KB of bf16 bits) per worker, so
# the read, the decode and the statistics' passes all run in L2 (measured on a 7B bf16 model, one
# worker: 1.10 ns a value, against 1.17 for 128K-value chunks, 1.29 for 256K and 1.52 for 512K)
CHUNK_ELEMS = 1 << 16
# ... and by the compiled path, which reads each value once: 512 KB of bf16 (7B bf16 scan: 0.66x
# `cat` at 256K values; 0.55x at 128K, 0.65x at 512K, 0.62x at 1M)
COMPILED_CHUNK_ELEMS = 1 << 18
# float64 block of the accumulator: larger once BLAS is pinned to one thread (see analyses.tensor_stats)
BLOCK = 32768 if threadpool_limits else SAFE_BLOCK

# Models from this size on take the compiled path, or worker processes without numba
# (start-up ~0.3 s each: spawn + numpy import)
LARGE_MODEL_BYTES = 512 << 20

Progress = Callable[[int, int, str], None]  # (tensors done, tensors in all, name just finished)


def tensor_scan(checkpoint, name: str, chunk_elems: int | None = None, block: int = BLOCK,
                compiled: bool = False) -> TensorStats:
    """One tensor's statistics, streamed when the checkpoint can (safetensors), else read whole.

    `compiled`: chunks of a dtype with a kernel go to it as stored (see the module doc).
    """
    e = checkpoint.entries[name]
    acc = Moments(block, fast=True)  # its float32 path wants BLAS on one thread: scan() pins it
    if compiled and e.dtype in fused.DTYPES and hasattr(checkpoint, "iter_stored_chunks"):
        for stored in checkpoint.iter_stored_chunks(name, chunk_elems or COMPILED_CHUNK_ELEMS):
            acc.add_stored(stored, e.dtype)
    elif hasattr(checkpoint, "iter_chunks"):
        for chunk in checkpoint.iter_chunks(name, chunk_elems or CHUNK_ELEMS, ordered=False):  # order-free
            acc.add(chunk)
    else:  # a torch .bin: its tensors are memory-mapped by torch already
        acc.add(checkpoint.read(name))
    return acc.result(name, tuple(e.shape), e.dtype)


def scan(model, progress: Progress | None = None, workers: int = 2,
         chunk_elems: int | None = None) -> list[TensorStats]:
    """Statistics of every stored tensor of `model` (tied aliases are not stored, so not listed).

    `progress(done, total, name)` is called from the calling thread after each tensor, so a
    Streamlit progress bar or a CLI line can be updated from it. `chunk_elems`: values per read
    (default: the chosen path's best, CHUNK_ELEMS or COMPILED_CHUNK_ELEMS).
    """
    checkpoint = model.checkpoint
    names = checkpoint.names()
    results: dict[str, TensorStats] = {}

    def finished(name: str, stats: TensorStats) -> None:
        results[name] = stats
        if progress is not None:
            progress(len(results), len(names), name)

    path = scan_path(checkpoint)
    compiled = path == COMPILED
    # Largest first, so the last tensor to finish is a small one and both workers stay busy.
    order = sorted(names, key=lambda n: -checkpoint.entries[n].nbytes)
    if workers > 1 and path == PROCESSES:
        try:
            with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                     initializer=_worker_init, initargs=(checkpoint,)) as pool:
                _collect(pool, ((n, (_worker_scan, n, chunk_elems)) for n in order), workers, finished)
            return [results[n] for n in names]
        except (BrokenProcessPool, OSError):  # no processes here (sandbox, frozen app): threads below
            pass
    with _one_blas_thread():
        if workers <= 1:
            for name in names:
                finished(name, tensor_scan(checkpoint, name, chunk_elems, compiled=compiled))
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="stats-scan") as pool:
                _collect(pool, ((n, (partial(tensor_scan, compiled=compiled), checkpoint, n, chunk_elems))
                                for n in order if n not in results), workers, finished)
    return [results[n] for n in names]


COMPILED, PROCESSES, THREADS = "numba kernel, threads", "numpy, worker processes", "numpy, threads"


def scan_path(checkpoint) -> str:
    """How `scan` reads this checkpoint: COMPILED, PROCESSES or THREADS (the module doc says why)."""
    total = sum(e.nbytes for e in checkpoint.entries.values())
    if total < LARGE_MODEL_BYTES or not hasattr(checkpoint, "iter_chunks"):
        return THREADS
    return COMPILED if fused.available() else PROCESSES


def _collect(pool, tasks: Iterator[tuple[str, tuple]], workers: int, finished: Callable) -> None:
    """Run (name, (function, *args)) tasks on `pool`, two in flight per worker, and call finished(name, stats)
    as each completes. Tasks are submitted only as others finish, so when `finished` raises (Streamlit stops
    a page's script from inside the progress callback when its user navigates away) at most the tensors in
    flight are read after it, never the rest of the model."""
    pending: dict = {}
    try:
        for name, (fn, *args) in tasks:
            pending[pool.submit(fn, *args)] = name
            while len(pending) >= 2 * workers:
                _finish_one(pending, finished)
        while pending:
            _finish_one(pending, finished)
    except BaseException:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=False, cancel_futures=True)
        raise


def _finish_one(pending: dict, finished: Callable) -> None:
    """Wait for the first of `pending` to complete, take it out, and report it."""
    done = next(as_completed(pending))
    finished(pending.pop(done), done.result())


_worker_checkpoint = None


def _worker_init(checkpoint) -> None:
    """In each worker process: the checkpoint (headers only, pickled once) and BLAS on one thread."""
    global _worker_checkpoint
    _worker_checkpoint = checkpoint
    limits = _one_blas_thread()
    limits.__enter__()  # for the life of the worker


def _worker_scan(name: str, chunk_elems: int | None) -> TensorStats:
    return tensor_scan(_worker_checkpoint, name, chunk_elems)


def _one_blas_thread():
    if threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")
