"""The Ray executor: the same numbers as the local one, row for row, and a worker killed mid-scan costs nothing.

One local Ray instance (2 CPUs, loopback, no dashboard) serves the whole module and is shut down after it.
"""
import os
import signal
import sys

import pytest

ray = pytest.importorskip("ray")

import report  # noqa: E402
from adapters import open_model  # noqa: E402
from tests.adapters.harness import build  # noqa: E402
from topics import results, spectral  # noqa: E402
from topics.ray_executor import RayExecutor, connect  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    connect(num_cpus=2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    """Grouped-query attention (4 heads, 2 kv heads), a gated MLP: every per-head kind and circuit."""
    folder = tmp_path_factory.mktemp("llama")
    build("llama", folder, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
          num_key_value_heads=2, vocab_size=128)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory):
    """GPT-2's fused, transposed Conv1D layout and learned positions."""
    folder = tmp_path_factory.mktemp("gpt2")
    build("gpt2", folder, n_embd=64, n_layer=2, n_head=4, n_positions=32, vocab_size=96)
    return str(folder)


def _metrics(source: str, out, executor: str) -> list[dict]:
    args = [source, "--out", str(out), "--only", "spectral,stats", "--shuffled", "--no-cache", "--quiet"]
    assert report.main(args + ["--executor", executor]) == 0
    return results.read(str(out / results.FILE))


@pytest.mark.parametrize("which", ["tiny_llama", "tiny_gpt2", "minilm_dir"])
def test_ray_report_writes_the_local_reports_metrics_exactly(which, request, tmp_path):
    source = request.getfixturevalue(which)
    local = _metrics(source, tmp_path / "local", "local")
    on_ray = _metrics(source, tmp_path / "ray", "ray")
    assert on_ray == local  # same rows, same order, same float64 values, nulls in the same places
    spectral_rows = [r for r in local if r["topic"] == "spectral"]
    assert {r["metric"] for r in spectral_rows} == set(results.SPECTRAL_METRICS)
    assert any(r["head"] is not None for r in spectral_rows) and any(r["head"] is None for r in spectral_rows)
    assert sum(r["value"] is not None and r["metric"] == "rand_alpha" for r in spectral_rows) > 0  # --shuffled ran
    assert {r["tensor"] for r in local if r["topic"] == "stats"} == set(open_model(source).raw_names())


def test_health_on_ray_finds_the_same_broken_tensors(tiny_gpt2, tmp_path):
    import shutil

    import numpy as np
    from safetensors.numpy import load_file, save_file

    from topics import health

    folder = tmp_path / "broken"
    shutil.copytree(tiny_gpt2, folder)
    tensors = load_file(str(folder / "model.safetensors"))
    tensors["transformer.h.1.mlp.c_fc.weight"][3, 5] = np.nan  # one NaN, found by position in this process
    tensors["transformer.h.0.attn.c_proj.weight"][:] = 0.0  # an all-zero matrix
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    model = open_model(str(folder))
    local, on_ray = health.compute(model), health.compute(model, executor=RayExecutor())
    assert on_ray == local
    assert {b.name for b in on_ray.broken} == {"transformer.h.1.mlp.c_fc.weight", "transformer.h.0.attn.c_proj.weight"}


def die_once(marker: str, fn, args):
    """A task that kills its own worker process the first time it runs (SIGKILL: no cleanup, no exception),
    as a node lost or the OOM killer would; Ray then runs it again in a fresh worker."""
    if not os.path.exists(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return fn(*args)


class KillsOneWorker(RayExecutor):
    """The Ray executor, whose `victim`-th task kills its worker on its first attempt."""

    def __init__(self, marker: str, victim: int):
        super().__init__()
        object.__setattr__(self, "marker", marker)
        object.__setattr__(self, "victim", victim)

    def map(self, tasks, total, progress=None, what="matrices"):
        wrapped = ((die_once, (self.marker, fn, args)) if i == self.victim else (fn, args)
                   for i, (fn, args) in enumerate(tasks))
        return super().map(wrapped, total, progress or (lambda f, t: None), what)


def _keys(rows: list[dict]) -> list[tuple]:
    return [(r["level"], r["layer"], r["slot"], r["head"]) for r in rows]


def test_a_worker_killed_mid_scan_loses_no_row_and_duplicates_none(tiny_llama, tmp_path):
    model = open_model(tiny_llama)
    marker = str(tmp_path / "killed")
    expected = spectral.compute(model)
    survived = spectral.compute(model, executor=KillsOneWorker(marker, victim=3))
    assert os.path.exists(marker)  # a worker really died: its pid was written just before SIGKILL
    pid = int(open(marker).read())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert _keys(survived.slots) == _keys(expected.slots) and len(set(_keys(survived.slots))) == len(survived.slots)
    assert _keys(survived.heads) == _keys(expected.heads) and len(set(_keys(survived.heads))) == len(survived.heads)
    assert survived.slots == expected.slots and survived.heads == expected.heads


def test_executor_ray_without_ray_says_how_to_install_it(tiny_gpt2, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as when it is not installed
    assert report.main([tiny_gpt2, "--out", str(tmp_path), "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install -r requirements-cluster.txt" in err and "Traceback" not in err
    assert not os.path.exists(tmp_path / "report.json")


def test_ray_address_without_ray_executor_is_refused(tiny_gpt2, tmp_path, capsys):
    assert report.main([tiny_gpt2, "--out", str(tmp_path), "--ray-address", "auto"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
