"""Where a heavy topic's independent tasks run: a local thread pool today (Ray or a GPU can be others).

    results = Executor().map(tasks, total, progress, "matrices")   # tasks: (function, args) pairs

An executor changes where the work runs, never the result, so it is not part of any cache key.
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


LOCAL = Executor()
