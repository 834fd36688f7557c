"""topics.scan and the 7B benchmark's code path, on a scaled-down Llama-shaped checkpoint of a few MB."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import scipy.stats

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import make_7b  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("llama_tiny"))
    info = make_7b.make(out, scale=8, layers=2, shard_bytes=8 << 20)
    assert len(info["files"]) > 1  # sharded, with an index, like the real one
    return out


def test_checkpoint_has_llama_shapes_and_index(tiny):
    from adapters import open_model
    model = open_model(tiny)
    index = json.load(open(os.path.join(tiny, "model.safetensors.index.json")))
    assert set(index["weight_map"]) == set(model.raw_names())
    assert index["metadata"]["total_size"] == sum(e.nbytes for e in model.checkpoint.entries.values())
    e = model.checkpoint.entries
    assert e["model.layers.1.mlp.gate_proj.weight"].shape == (11008 // 8, 4096 // 8)
    assert e["lm_head.weight"].shape == (32000 // 8, 4096 // 8) and e["lm_head.weight"].dtype == "BF16"
    assert len(model.raw_names()) == 2 + 2 * 9 + 1


def test_iter_chunks_reassembles_read(tiny):
    from adapters import open_model
    ckpt = open_model(tiny).checkpoint
    name = "model.layers.0.mlp.down_proj.weight"
    chunks = [c.copy() for c in ckpt.iter_chunks(name, 100_003)]
    assert len(chunks) > 1 and all(c.dtype == np.float32 for c in chunks)
    np.testing.assert_array_equal(np.concatenate(chunks), ckpt.read(name).ravel())
    assert len({id(c.base if c.base is not None else c) for c in ckpt.iter_chunks(name, 100_003)}) == 1


@pytest.mark.parametrize("chunk", [100_003, 100_004])  # an odd chunk decodes in order, an even one in halves
def test_unordered_chunks_hold_the_same_values(tiny, chunk):
    """iter_chunks(ordered=False), the scan's: each chunk's values are the ordered chunk's, rearranged."""
    from adapters import open_model
    ckpt = open_model(tiny).checkpoint
    name = "model.layers.0.mlp.down_proj.weight"  # bf16
    assert ckpt.entries[name].dtype == "BF16"
    ordered = [c.copy() for c in ckpt.iter_chunks(name, chunk)]
    unordered = [c.copy() for c in ckpt.iter_chunks(name, chunk, ordered=False)]
    assert [c.size for c in unordered] == [c.size for c in ordered]
    for a, b in zip(ordered, unordered):
        np.testing.assert_array_equal(np.sort(a), np.sort(b))
    if chunk % 2 == 0:  # the even positions first, then the odd ones
        np.testing.assert_array_equal(unordered[0], np.concatenate([ordered[0][0::2], ordered[0][1::2]]))


@pytest.mark.parametrize("path", ["numpy", "compiled"])
def test_scan_matches_numpy(tiny, path, monkeypatch):
    from adapters import open_model
    from analyses import fused
    from topics import scan
    model = open_model(tiny)
    calls = []
    if path == "compiled":  # the path of a large model where numba is installed
        if not fused.available():
            pytest.skip("numba is not installed")
        monkeypatch.setattr(scan, "LARGE_MODEL_BYTES", 0)
        real = fused.power_sums
        monkeypatch.setattr(fused, "power_sums", lambda *a: calls.append(1) or real(*a))
    seen = []
    stats = scan.scan(model, progress=lambda done, total, name: seen.append((done, total)))
    assert [s.name for s in stats] == model.raw_names()
    assert seen[-1] == (len(stats), len(stats))
    # the float32 path's documented bound (analyses/tensor_stats.py), or float64 accuracy for the compiled one
    tol = 1e-5 if path == "numpy" else 1e-8
    assert len(calls) >= (len(stats) if path == "compiled" else 0)
    for s in stats:
        x = model.raw(s.name).astype(np.float64).ravel()
        assert s.count == x.size and s.nan == s.inf == 0 and (s.min, s.max) == (x.min(), x.max())
        skew, kurt = scipy.stats.skew(x), scipy.stats.kurtosis(x)
        assert abs(s.mean - x.mean()) <= tol / 10 * x.std()
        assert s.std == pytest.approx(x.std(), rel=tol)
        assert abs(s.skew - skew) <= tol * (1 + abs(skew))
        assert abs(s.kurtosis - kurt) <= tol * (kurt + 3)


def test_scan_memory_stays_bounded(tiny):
    """The scan's peak RSS grows by far less than a float64 copy of the model would need."""
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "scan_7b.py"), "--path", tiny,
                          "--phase", "stats"], capture_output=True, text=True, check=True).stdout
    r = json.loads(out.strip().splitlines()[-1])
    float64_copy_mb = r["values"] * 8 / 2**20
    assert r["values"] > 8_000_000
    assert r["rss_mb"] - r["rss_before_mb"] < min(40, float64_copy_mb / 2), r


def test_bench_script_runs_end_to_end(tiny):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "scan_7b.py"), "--path", tiny, "--k", "8"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    assert "stats scan" in out and "cat:" in out and "exact Gram+eigvalsh" in out


def test_iter_chunks_agrees_with_read_for_every_dtype(tmp_path):
    from safetensors.numpy import save_file
    from adapters.checkpoint import Checkpoint
    rng = np.random.default_rng(0)
    tensors = {"f16": rng.standard_normal((300, 7)).astype(np.float16), "f64": rng.standard_normal(1001),
               "f32": rng.standard_normal((33, 3)).astype(np.float32), "i64": np.arange(999, dtype=np.int64),
               "bool": np.array([True, False] * 50), "u8": np.arange(256, dtype=np.uint8),
               "empty": np.zeros((0, 4), np.float32)}
    path = str(tmp_path / "all.safetensors")
    save_file(tensors, path)
    ckpt = Checkpoint([path])
    for name in tensors:
        chunks = [c.copy() for c in ckpt.iter_chunks(name, 97)]
        got = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        np.testing.assert_array_equal(got, ckpt.read(name).ravel(), err_msg=name)
        stored = [c.copy() for c in ckpt.iter_stored_chunks(name, 97)]  # as stored: the same bits
        assert all(c.size <= 97 for c in stored) and sum(c.size for c in stored) == tensors[name].size
        if stored:
            np.testing.assert_array_equal(np.concatenate(stored), tensors[name].ravel(), err_msg=name)


def test_scan_in_worker_processes_equals_threads(tiny, monkeypatch):
    """Without numba, large models are scanned by worker processes; the answer is the threads' one, in order."""
    from adapters import open_model
    from analyses import fused
    from topics import scan
    model = open_model(tiny)
    threads = scan.scan(model, chunk_elems=65_536)
    monkeypatch.setattr(fused, "_kernels", {})  # as where numba is missing (the workers load nothing either)
    monkeypatch.setattr(scan, "LARGE_MODEL_BYTES", 0)
    seen = []
    procs = scan.scan(model, progress=lambda done, total, name: seen.append(done), chunk_elems=65_536)
    assert procs == threads and seen == list(range(1, len(threads) + 1))


@pytest.mark.parametrize("large", [False, True])
def test_scan_stops_reading_when_its_caller_goes_away(tiny, monkeypatch, large):
    """Streamlit stops a page's script from inside the progress callback when its user navigates
    away: the scan raises at once, and the tensors still queued are never read."""
    from adapters import open_model
    from topics import scan
    model = open_model(tiny)
    if large:  # the compiled path where numba is installed, else the worker processes
        monkeypatch.setattr(scan, "LARGE_MODEL_BYTES", 0)
    started = []
    real = scan.tensor_scan
    monkeypatch.setattr(scan, "tensor_scan", lambda ck, name, *a, **k: started.append(name) or real(ck, name, *a, **k))

    class NavigatedAway(Exception):
        pass

    def progress(done, total, name):
        if done == 2:
            raise NavigatedAway

    with pytest.raises(NavigatedAway):
        scan.scan(model, progress=progress)
    total = len(model.raw_names())
    if scan.fused.available() or not large:  # threads: counted here (processes run elsewhere)
        assert 2 <= len(started) <= 2 + 2 + 2 < total, started  # done, being read, at most one queued each
