"""A heavy topic's tasks on Ray: one Ray task per matrix (or per layer of heads), anywhere the cluster runs them.

    executor = RayExecutor()                          # a local Ray instance on this machine, no dashboard
    executor = RayExecutor("ray://head:10001")        # or an existing cluster (a Ray address, KubeRay's service)
    result = spectral.compute(model, executor=executor)

Tasks carry a ModelRef (topics/executor.py), never arrays: each worker opens the checkpoint's files itself
and reads only its own tensors' byte ranges, so a task's memory is that of one matrix and nothing large crosses
the object store. A worker that dies (killed, out of memory, its node lost) has its task run again
(`max_retries`); a task that raises is not retried, its error is the scan's.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from adapters import LoadError
from topics.executor import ModelRef, Progress, quiet

INSTALL = "pip install -r requirements-cluster.txt"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # what a worker imports the tasks from
# What a remote cluster gets of this repository (Ray's working_dir upload): the code, not the tests or caches.
_UPLOAD_EXCLUDES = [".git", "tests", "bench", "**/__pycache__", "*.safetensors", "*.bin", "*.gguf"]


def require_ray():
    """The ray module, or a LoadError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise LoadError(f"--executor ray needs Ray, which is not installed here: {INSTALL}") from None
    return ray


def connect(address: str | None = None, num_cpus: int | None = None):
    """Ray, connected: to `address` (a cluster), or to a local instance started here. Reused
    when this process is already connected (a test's own ray.init, or an earlier scan)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    if address:  # the cluster's workers import this repository's code from Ray's upload of it
        env = {"working_dir": REPO, "excludes": _UPLOAD_EXCLUDES}
        ray.init(address=address, runtime_env=env, log_to_driver=False)
    else:  # this machine: the workers import the code from here. Ray's own servers bind the machine's address
        # (it replaces 127.0.0.1 with it: ray._private.services.resolve_ip_for_localhost), behind Ray's token auth
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": REPO}})
    return ray


def _call(fn: Callable, args: tuple):
    """What each Ray task runs: one (function, args) task, BLAS on one thread (a task is one core's work)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1, user_api="blas"):
        return fn(*args)


@dataclass(frozen=True)
class RayExecutor:
    """Tasks as Ray tasks on `address` (None: a local instance); each asks for a GPU when the cluster has one."""
    address: str | None = None
    max_retries: int = 3  # runs of a task whose worker died, after the first
    num_cpus: int | None = None  # of a local instance (None: every core)
    remote = True

    def handle(self, model) -> ModelRef:
        return ModelRef.of(model)

    def map(self, tasks: Iterable[tuple[Callable, tuple]], total: int, progress: Progress = quiet,
            what: str = "matrices") -> list:
        """Run (function, args) tasks on the cluster; results in task order. Every task is submitted at once
        (Ray queues them by the resources each asks for); progress is reported as they finish."""
        ray = connect(self.address, self.num_cpus)
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else 0
        remote = ray.remote(num_cpus=1, num_gpus=gpus, max_retries=self.max_retries, retry_exceptions=False)(_call)
        refs = [remote.remote(fn, args) for fn, args in tasks]
        pending, done_count = list(refs), 0
        while pending:
            finished, pending = ray.wait(pending, num_returns=1)
            done_count += len(finished)
            progress(done_count / max(total, 1), f"{done_count} of {total} {what}")
        return ray.get(refs)
