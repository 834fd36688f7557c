"""The torch path of the spectral scan (a GPU's, run here on the CPU with WEIGHTS_LINALG=torch) against
numpy/scipy's: the same eigenvalues to the rounding of the precision both choose, the same diagnostics."""
import os

import numpy as np
import pytest

from analyses import spectral as numpy_path
from tests.adapters.harness import build
from topics import gpu_linalg, spectral, spectral_rows


@pytest.fixture
def torch_path(monkeypatch):
    monkeypatch.setenv("WEIGHTS_LINALG", "torch")
    gpu_linalg.device.cache_clear()
    yield
    gpu_linalg.device.cache_clear()


def _close(a, b, rel_to_max: float):
    assert a.shape == b.shape and a.dtype == np.float64
    np.testing.assert_allclose(a, b, rtol=0, atol=rel_to_max * b.max())


@pytest.mark.parametrize("shape,tol", [((300, 200), 1e-5), ((200, 300), 1e-5), ((120, 64), 1e-12)])
def test_eigenvalues_equal_scipys(torch_path, shape, tol):
    assert gpu_linalg.active()
    w = np.random.default_rng(0).normal(0, 0.02, size=shape).astype(np.float32)
    expected = numpy_path.eigenvalues(w)
    _close(gpu_linalg.eigenvalues(w), expected, tol)  # float32 above 192 columns, float64 below: both paths
    oracle = np.sort(np.linalg.svd(w.astype(np.float64), compute_uv=False) ** 2)  # an SVD, not a Gram
    _close(gpu_linalg.eigenvalues(w), oracle, tol)


def test_huge_values_are_squared_in_float64(torch_path):
    w = np.random.default_rng(1).normal(size=(256, 200)).astype(np.float32) * 1e17  # a float32 Gram overflows
    oracle = np.sort(np.linalg.svd(w.astype(np.float64), compute_uv=False) ** 2)
    got = gpu_linalg.eigenvalues(w)
    assert np.isfinite(got).all()
    _close(got, oracle, 1e-10)


def test_streamed_eigenvalues_equal_numpys(torch_path):
    w = np.random.default_rng(2).normal(0, 0.02, size=(3000, 256)).astype(np.float32)
    blocks = [w[i:i + 700] for i in range(0, len(w), 700)]
    _close(gpu_linalg.streamed_eigenvalues(iter(blocks), 256), numpy_path.streamed_eigenvalues(iter(blocks), 256), 1e-5)


def test_the_scan_on_torch_reads_as_the_numpy_scan(torch_path, tmp_path, monkeypatch):
    _, model = build("llama", tmp_path, hidden_size=256, intermediate_size=384, num_hidden_layers=1,
                     num_attention_heads=4, num_key_value_heads=2, vocab_size=512)
    on_torch = spectral.compute(model)
    monkeypatch.setenv("WEIGHTS_LINALG", "numpy")
    gpu_linalg.device.cache_clear()
    assert not gpu_linalg.active()
    on_numpy = spectral.compute(model)
    assert [(r["layer"], r["slot"]) for r in on_torch.slots] == [(r["layer"], r["slot"]) for r in on_numpy.slots]
    for a, b in zip(on_torch.slots, on_numpy.slots):
        for metric in ("stable_rank", "log_spectral_norm", "log_frobenius_norm", "effective_rank"):
            assert a[metric] == pytest.approx(b[metric], rel=1e-4), (a["slot"], metric)
    key = spectral_rows.slot_keys(model)[0]  # the embedding, 512 x 256: float32 on both paths
    monkeypatch.setenv("WEIGHTS_LINALG", "torch")
    gpu_linalg.device.cache_clear()
    evals, n = spectral_rows.slot_eigenvalues(model, key)
    _close(evals, numpy_path.eigenvalues(spectral_rows.slot_matrix(model, key)), 1e-5)


@pytest.mark.skipif(os.path.exists("/dev/nvidiactl"), reason="a GPU driver is present: auto chooses torch")
def test_auto_keeps_the_numpy_path_without_a_gpu(monkeypatch):
    monkeypatch.delenv("WEIGHTS_LINALG", raising=False)
    gpu_linalg.device.cache_clear()
    assert gpu_linalg.device() is None
    gpu_linalg.device.cache_clear()
