"""Where a heavy topic's independent tasks run: a local thread pool, or a Ray cluster (topics/ray_executor.py).

    target = executor.handle(model)                                 # what a task carries to name the model
    results = executor.map(tasks, total, progress, "matrices")      # tasks: (function, args) pairs
    model = opened(target)                                          # in the task: the model itself

An executor changes where the work runs, never the result, so it is not part of any cache key.
A local task carries the open Model; a remote one a ModelRef (files + config + head count + stack), from
which each worker opens the checkpoint itself and reads only the tensors its task needs.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass

from threadpoolctl import threadpool_limits  # ships with scikit-learn

Progress = Callable[[float, str], None]


def quiet(fraction: float, text: str) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class Executor:
    """A pool of `threads` threads (None: one per CPU), each calling BLAS on one thread.

    Why: the tasks are many mid-sized LAPACK calls. Multi-threaded BLAS on each of them is slower than
    one thread per task (threads spin-wait on shared cores: eigvalsh of a 384 x 384 Gram measured 4x
    slower, a stacked QR 60x), while numpy releases the GIL, so a pool of single-threaded calls keeps
    every core busy. report.py's second process uses threads=1, as its main process keeps the other
    core busy (measured: 2 threads there made the whole report ~10% slower).
    """
    threads: int | None = None
    remote = False  # whether tasks run in other processes (then they carry a ModelRef, never arrays)

    def handle(self, model):
        """What a task carries to find the model: the open Model itself, as tasks run in this process."""
        return model

    def map(self, tasks: Iterable[tuple[Callable, tuple]], total: int, progress: Progress = quiet,
            what: str = "matrices") -> list:
        """Run (function, args) tasks; results in task order. `tasks` is consumed lazily, so the weights
        they carry are read in this thread, at most 2 per worker in flight."""
        workers = self.threads or os.cpu_count() or 1
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


@dataclass(frozen=True)
class ModelRef:
    """A model as another process opens it again: its files and config (`Located`, without the objects that
    keep an upload alive), the caller's head count and the stack viewed. Small: it pickles in microseconds."""
    located: object  # adapters.sources.Located
    n_heads: int | None
    stack: str

    @classmethod
    def of(cls, model) -> ModelRef:
        import dataclasses

        if model.located.kind == "upload":  # its spooled file lives only in this process's session
            from adapters import LoadError
            raise LoadError("An uploaded file cannot be scanned on other machines; save it to a folder every "
                            "worker sees and open that folder instead.")
        return cls(dataclasses.replace(model.located, keepalive=[]), model.requested_heads,
                   getattr(model, "stack", "blocks"))

    @property
    def key(self) -> tuple:
        return (self.located.identity, self.located.adapter, self.n_heads, self.stack)


_OPENED: dict = {}  # ModelRef.key -> Model, one per worker process: a worker's later tasks reuse its open files


def opened(target):
    """The Model a task names: `target` itself, or the ModelRef's model opened in this process (once)."""
    if not isinstance(target, ModelRef):
        return target
    model = _OPENED.get(target.key)
    if model is None:
        from adapters import open_located

        _OPENED.clear()  # one model per worker at a time: its headers are all it keeps
        model = _OPENED[target.key] = open_located(target.located, target.n_heads).view(target.stack)
    return model


LOCAL = Executor()
