"""Spectral diagnostics against independent oracles: numpy's SVD, Marchenko-Pastur's formula, Pareto samples,
explicit circuit products. The model-level rows are tested in tests/topics/test_spectral.py."""
import numpy as np
import pytest

from analyses.powerlaw import fit_power_law
from analyses.spectral import (
    batched_eigenvalues,
    circuit_eigenvalues,
    diagnose,
    effective_rank,
    eigenvalues,
    mp_fit,
    shuffled,
    singular_values,
)


@pytest.mark.parametrize("shape", [(300, 70), (70, 300), (200, 200), (1000, 250)])
def test_singular_values_match_svd(shape):
    w = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    expected = np.linalg.svd(w.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(singular_values(w, precise=True), expected, rtol=1e-10, atol=1e-10)
    # the float32 Gram path: eigenvalue error ~1e-6 of the largest, which is what the tail fit reads
    np.testing.assert_allclose(eigenvalues(w, precise=False)[::-1], expected ** 2, atol=2e-5 * expected[0] ** 2)


def test_batched_eigenvalues_match_svd():
    stack = np.random.default_rng(2).standard_normal((5, 90, 16))
    for i in range(5):
        np.testing.assert_allclose(batched_eigenvalues(stack)[i][::-1],
                                   np.linalg.svd(stack[i], compute_uv=False) ** 2, rtol=1e-9)


@pytest.mark.parametrize("d_model,d_head", [(96, 16), (40, 8)])
def test_circuits_match_the_explicit_product(d_model, d_head):
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((4, d_model, d_head)), rng.standard_normal((4, d_model, d_head))
    got = circuit_eigenvalues(a, b)
    for h in range(4):
        s = np.linalg.svd(a[h] @ b[h].T, compute_uv=False)  # the d_model x d_model product
        np.testing.assert_allclose(got[h][::-1], s[:d_head] ** 2, rtol=1e-9)
        assert s[d_head:].max() < 1e-10 * s[0]  # rank d_head: nothing is lost by the small factors


def test_mp_edge_of_a_gaussian_matrix():
    n, m, sigma = 2000, 500, 0.02
    w = np.random.default_rng(4).normal(0, sigma, (n, m))
    evals = eigenvalues(w, precise=True)
    fit = mp_fit(evals, n)
    formula = sigma ** 2 * n * (1 + np.sqrt(m / n)) ** 2  # lambda_+ = N sigma^2 (1 + sqrt(1/Q))^2, Q = N/M
    assert fit.edge == pytest.approx(formula, rel=0.02)
    assert fit.sigma == pytest.approx(sigma, rel=0.01)
    assert fit.spikes == 0
    assert evals.max() == pytest.approx(formula, rel=0.03)  # the largest eigenvalue sits at the edge


def test_random_matrix_diagnostics():
    """A Gaussian matrix: no spikes, nothing above its shuffled copy, and an alpha WeightWatcher calls
    under-trained (> 6): the MP bulk's edge falls off like a square root, steeper than any power law."""
    w = np.random.default_rng(5).standard_normal((1500, 500)).astype(np.float32)
    d = diagnose(w)
    assert d.mp_spikes == 0 and d.rand_mp_spikes == 0
    assert d.alpha > 6 and d.rand_alpha > 6
    assert d.learned_spikes <= 2  # same distribution, so the two largest eigenvalues are a coin toss
    assert d.stable_rank == pytest.approx(np.sum(w.astype(np.float64) ** 2) / np.linalg.norm(w, 2) ** 2, rel=1e-4)
    assert d.log_frobenius_norm == pytest.approx(np.log10(np.sum(w.astype(np.float64) ** 2)), abs=1e-5)


def test_planted_spikes_are_found_and_shuffling_removes_them():
    rng = np.random.default_rng(6)
    w = rng.standard_normal((1200, 400))
    u, v = np.linalg.qr(rng.standard_normal((1200, 3)))[0], np.linalg.qr(rng.standard_normal((400, 3)))[0]
    w += u @ np.diag([300.0, 200.0, 150.0]) @ v.T  # three strong directions learned "from data"
    d = diagnose(w)
    assert d.mp_spikes == 3 and d.learned_spikes == 3 and d.rand_mp_spikes == 0


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.5])
def test_power_law_fit_recovers_pareto_exponent(alpha):
    # numpy's pareto(a) + 1 is Pareto with pdf ~ x^-(a+1) on [1, inf): density exponent alpha = a + 1
    x = (np.random.default_rng(7).pareto(alpha - 1, 20000) + 1) * 3.0
    fit = fit_power_law(x)
    assert fit.alpha == pytest.approx(alpha, abs=0.1)
    assert fit.xmin < 3.5 and fit.ks_distance < 0.02


def test_power_law_fit_matches_a_direct_loop():
    """The vectorised KS scan against the textbook loop (candidates = every point but the last)."""
    x = np.sort(np.random.default_rng(8).lognormal(0, 1, 300))
    best = (np.inf, None)
    for i in range(len(x) - 1):
        tail = x[i:]
        a = 1 + len(tail) / np.log(tail / x[i]).sum()
        d = np.max(np.abs(1 - (tail / x[i]) ** (1 - a) - np.arange(len(tail)) / len(tail)))
        best = min(best, (d, a))
    fit = fit_power_law(x)
    assert fit.ks_distance == pytest.approx(best[0], rel=1e-9) and fit.alpha == pytest.approx(best[1], rel=1e-9)


def test_effective_rank_and_shuffle():
    assert effective_rank(np.ones(10)) == pytest.approx(10.0)
    assert effective_rank(np.array([0.0, 0.0, 4.0])) == pytest.approx(1.0)
    w = np.arange(12.0).reshape(3, 4)
    assert sorted(shuffled(w).ravel()) == sorted(w.ravel()) and shuffled(w).shape == w.shape
    assert fit_power_law(np.array([1.0, 0.0])) is None


def test_streamed_eigenvalues_match_the_whole_matrix():
    """The Gram summed over blocks of rows (reused buffers, flat) gives the whole matrix's ESD."""
    from analyses.spectral import streamed_eigenvalues
    w = np.random.default_rng(8).standard_normal((3000, 256)).astype(np.float32)
    buf = np.empty(700 * 256, np.float32)

    def blocks():
        for start in range(0, 3000, 700):
            part = w[start:start + 700].ravel()
            buf[:part.size] = part
            yield buf[:part.size]  # one buffer, overwritten each time, as Checkpoint.iter_chunks does
    want = np.linalg.svd(w.astype(np.float64), compute_uv=False)[::-1] ** 2
    np.testing.assert_allclose(streamed_eigenvalues(blocks(), 256), want, rtol=1e-4, atol=1e-5 * want[-1])
