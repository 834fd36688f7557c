"""The report's engine, shared by report.py's command line and the app's "Build the report": which topics make the
sections, computing them (the heaviest in a second process, or on an executor), the section cache, and writing
report.json and report.html.

    sections = build(model, log=print, cache=SectionCache())
    write(model, sections, "out/")
"""
from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import sys
import time

# The report's sections, in the order it shows them: report.json key -> the topic (topics/) that computes it.
# reporting/<key>.py turns the topic's result into a Section: section(result) -> Section.
SECTIONS = {"architecture": "architecture", "positional": "positional", "distributions": "distributions",
            "layers": "layers", "pca": "pca", "heads": "heads",
            "head_roles": "head_roles", "experts": "experts", "norms": "norms",
            "spectral": "spectral",
            "stats": "health"}
TOPICS = list(SECTIONS)


def jsonable(value):
    """numpy scalars and arrays to plain JSON; NaN and Inf to null so any JSON parser reads the file."""
    import numpy as np

    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict
        return jsonable(asdict(value))
    return value


# The heaviest topic's numbers are computed in a second process while this one does the other topics,
# so both cores work: its topic's compute(model, **options) runs there (numbers only, sent back
# pickled) and its section(result) (reading and charts) here. Threads would not do: its many
# LAPACK calls and the other topics' many small numpy calls fight over the GIL (measured on GPT-2
# small: heads 1.3 s alone, 4.5 s beside spectral on a second thread).
SECOND_PROCESS = "spectral"


def build(model, topics=TOPICS, log=lambda msg: None, cache=None, options: dict | None = None,
          executor=None) -> list:
    """Every topic's Section, in `topics` order; from and into `cache` (a reporting.cache.SectionCache) if given.

    `options` maps a topic to keyword arguments of its compute(), e.g. {"spectral": {"shuffled": True}};
    they are part of the cache key.

    BLAS is pinned to one thread: these are many mid-sized matrices, for which multi-threaded OpenBLAS
    on a busy 2-core machine is several times slower than one thread (a stacked QR of 12 heads measured
    20x, a 768 x 768 eigvalsh 2x). SECOND_PROCESS, when it is not cached and other topics are to be
    done too, runs in a worker process that opens the same files (the spectral topic keeps a pool of
    threads of its own there). With a remote `executor` (topics.ray_executor.RayExecutor) the topics that take
    one run their tasks on it instead, and no second process is started: Ray does the parallel work.
    """
    from threadpoolctl import threadpool_limits  # ships with scikit-learn

    options = options or {}
    with threadpool_limits(1, user_api="blas"):
        remote = getattr(executor, "remote", False)
        away = _SecondProcess() if remote else _start_second_process(model, topics, cache, options)
        try:
            done = {t: _section(model, t, cache, log, options.get(t, {}), executor) for t in topics
                    if t != away.topic}
            if away.topic:
                done[away.topic] = away.finish(model, cache, log)
        except BaseException:  # an error or Ctrl-C here: do not wait for the worker's topic to finish
            away.cancel()
            raise
    return [done[t] for t in topics]


def _section(model, topic: str, cache, log, options: dict, executor=None):
    start = time.perf_counter()
    section = cache.load(model, topic, options) if cache else None
    if section is not None:
        log(f"{topic:<14} {time.perf_counter() - start:6.2f} s (cached)")
        return section
    section = _present(topic, _compute(model, topic, options, executor, log))
    store(model, topic, section, cache, options)
    log(f"{topic:<14} {time.perf_counter() - start:6.2f} s")
    return section


def _compute(model, topic: str, options: dict, executor=None, log=None):
    """The topic's numbers: topics.<SECTIONS[topic]>.compute(model, **options), on `executor` if it takes one
    (a remote executor's progress goes to `log`, at most every 5 seconds)."""
    compute = importlib.import_module(f"topics.{SECTIONS[topic]}").compute
    if executor is not None and "executor" in inspect.signature(compute).parameters:
        if getattr(executor, "remote", False) and log is not None:
            return compute(model, **options, executor=executor, progress=_every(5.0, topic, log))
        return compute(model, **options, executor=executor)
    return compute(model, **options)


def _every(seconds: float, topic: str, log):
    """A progress(fraction, text) callback that logs one line per `seconds` and the last one."""
    state = {"at": 0.0}

    def progress(fraction: float, text: str) -> None:
        now = time.perf_counter()
        if now - state["at"] >= seconds or fraction >= 1:
            state["at"] = now
            log(f"{topic:<14} {fraction:4.0%} {text}")
    return progress


def _present(topic: str, result):
    """The topic's Section: reporting.<topic>.section(result) (reading, JSON data and charts)."""
    return importlib.import_module(f"reporting.{topic}").section(result)


def store(model, topic: str, section, cache, options: dict) -> None:
    """Into `cache` under `topic` (any section key, e.g. 'compare'), if a cache is given, in the stored form, which
    is also what write() needs: JSON data, chart specs."""
    if cache:
        from reporting.cache import spec

        section.data, section.charts = jsonable(section.data), [spec(c) for c in section.charts]
        cache.store(model, topic, section, options)


class _SecondProcess:
    """SECOND_PROCESS's numbers computed in a worker process; `topic` is None when they are not."""

    def __init__(self, topic=None, options=None, pool=None, future=None):
        self.topic, self.options, self.pool, self.future = topic, options, pool, future
        self.start = time.perf_counter()

    def finish(self, model, cache, log):
        """The worker's section (stored in `cache`), or this process's own if the worker could not run."""
        from concurrent.futures.process import BrokenProcessPool

        try:
            result, peak_mb = self.future.result()
        except (BrokenProcessPool, OSError):  # killed or never started: compute it here instead
            return _section(model, self.topic, cache, log, self.options)
        finally:
            self.pool.shutdown()
        section = _present(self.topic, result)
        store(model, self.topic, section, cache, self.options)
        log(f"{self.topic:<14} {time.perf_counter() - self.start:6.2f} s (second process, peak RSS {peak_mb:.0f} MB)")
        return section


    def cancel(self) -> None:
        """Stop the worker now (Python 3.14 has terminate_workers(); before it, its processes are ended here)."""
        if self.pool is None:
            return
        if hasattr(self.pool, "terminate_workers"):
            self.pool.terminate_workers()
            return
        processes = list((getattr(self.pool, "_processes", None) or {}).values())  # shutdown() forgets them
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()


def _start_second_process(model, topics, cache, options) -> _SecondProcess:
    topic, opts = SECOND_PROCESS, options.get(SECOND_PROCESS, {})
    if (topic not in topics or len(topics) < 2 or (os.cpu_count() or 1) < 2 or model.located.kind == "upload"
            or (cache and cache.load(model, topic, opts) is not None)):
        return _SecondProcess()
    import dataclasses
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    located = dataclasses.replace(model.located, keepalive=[])  # files and config: all a worker needs
    try:
        pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        future = pool.submit(_worker_numbers, located, model.requested_heads, topic, opts,
                             getattr(model, "stack", "blocks"))
    except OSError:  # no processes here (a sandbox): every topic in this one
        return _SecondProcess()
    return _SecondProcess(topic, opts, pool, future)


def _worker_numbers(located, n_heads, topic: str, options: dict, stack: str = "blocks"):
    """In the worker: (the topic's compute(model, **options), the worker's peak RSS in MB)."""
    from threadpoolctl import threadpool_limits

    from adapters import open_located
    from topics.executor import Executor

    model = open_located(located, n_heads).view(stack)
    with threadpool_limits(1, user_api="blas"):
        result = _compute(model, topic, options, Executor(threads=1))  # the main process keeps the other core busy
    return result, _peak_rss_mb()


def _peak_rss_mb() -> float:
    """This process's peak RSS (Linux's VmHWM; ru_maxrss elsewhere, in KB on Linux, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmHWM:"))
    except (OSError, StopIteration):
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return rss / (1 << 20 if sys.platform == "darwin" else 1 << 10)



def write(model, sections, out: str, bundle: str | None = None) -> tuple[str, str]:
    """report.json and report.html in `out`; `bundle` is the Vega script (built here when None, ~1.3 s)."""
    from bundled import source_label
    from reporting.html import render

    os.makedirs(out, exist_ok=True)
    # stack: whose layers the sections describe ("blocks", or "encoder" / "vision" with --stack); stacks: all
    doc = {"model": {"source": model.source, "arch": model.arch, "cfg": model.cfg.to_dict(),
                     "stack": getattr(model, "stack", "blocks"), "stacks": model.views()}}
    notice = getattr(model.located, "notice", None)  # e.g. the Hub was down and the cached commit was opened
    if notice:
        doc["model"]["notice"] = notice
    for s in sections:
        doc[s.key] = jsonable(s.data)
    json_path, html_path = os.path.join(out, "report.json"), os.path.join(out, "report.html")
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
    c = model.cfg
    subtitle = f"{model.arch} · {c.n_layers} layers · d_model {c.d_model} · {c.n_heads} heads · {model.source}"
    if len(model.views()) > 1:
        subtitle += (f" · the {getattr(model, 'stack', 'blocks')} stack of {', '.join(model.views())} "
                     "(--stack chooses)")
    if notice:
        subtitle += f" · {notice}"
    # errors=: a tensor name may hold a lone surrogate (valid in a JSON header, not encodable as UTF-8)
    with open(html_path, "w", encoding="utf-8", errors="backslashreplace") as f:
        f.write(render(f"Weights report: {source_label(model.source)}", subtitle, sections, bundle))
    return json_path, html_path

