"""analyses.matrices against direct numpy loops, on random data (real weights: tests/topics/test_matrices.py)."""
import numpy as np
import pytest

from analyses.matrices import downsample, grid_for_cells, matrix_stats


def _oracle(window, row_edges, col_edges, offset, method):
    """One block at a time: the slow, obvious way."""
    out = np.empty((len(row_edges) - 1, len(col_edges) - 1))
    for i, (r0, r1) in enumerate(zip(row_edges[:-1], row_edges[1:])):
        for j, (c0, c1) in enumerate(zip(col_edges[:-1], col_edges[1:])):
            block = window[r0 - offset[0]:r1 - offset[0], c0 - offset[1]:c1 - offset[1]].astype(np.float64)
            out[i, j] = block.mean() if method == "mean" else block.flat[np.argmax(np.abs(block))]
    return out


@pytest.mark.parametrize("method", ["mean", "maxabs"])
@pytest.mark.parametrize("shape,grid", [((37, 53), (5, 7)), ((10, 10), (10, 10)), ((1, 300), (1, 40))])
def test_blocks_match_a_loop_over_blocks(method, shape, grid):
    window = np.random.default_rng(1).normal(size=shape).astype(np.float32)
    blocks = downsample(window, grid, method, offset=(100, 7))
    assert blocks.row_edges[0] == 100 and blocks.row_edges[-1] == 100 + shape[0]
    assert blocks.col_edges[0] == 7 and blocks.col_edges[-1] == 7 + shape[1]
    assert blocks.values.shape[0] <= grid[0] and blocks.values.shape[1] <= grid[1]
    assert np.all(np.diff(blocks.row_edges) > 0) and np.all(np.diff(blocks.col_edges) > 0)
    np.testing.assert_allclose(blocks.values, _oracle(window, blocks.row_edges, blocks.col_edges, (100, 7), method),
                               rtol=1e-6, atol=1e-7)
    assert blocks.reduced == (grid != shape)


def test_maxabs_keeps_the_sign_of_the_extreme():
    window = np.array([[0.1, -5.0], [2.0, 3.0]], dtype=np.float32)
    assert downsample(window, (1, 1), "maxabs").values[0, 0] == -5.0
    assert downsample(window, (1, 1), "mean").values[0, 0] == pytest.approx(0.025)


@pytest.mark.parametrize("shape", [(50257, 768), (768, 50257), (1, 50257), (768, 2304), (64, 64), (40, 100),
                                   (63, 63), (4001, 1), (5, 3)])
def test_grid_never_exceeds_the_cell_budget_and_small_windows_stay_whole(shape):
    grid = grid_for_cells(*shape, max_cells=4000)
    assert grid[0] * grid[1] <= 4000 and grid[0] <= shape[0] and grid[1] <= shape[1]
    blocks = downsample(np.zeros(shape, np.float32), grid)
    assert blocks.values.size <= 4000
    assert blocks.reduced == (shape[0] * shape[1] > 4000)
    if shape == (50257, 768):  # balanced, not 8 columns of square blocks
        assert blocks.values.shape[1] >= 60


def test_stats_match_numpy_norms():
    rng = np.random.default_rng(2)
    window = rng.normal(size=(50, 80))
    window[17] *= 10  # one loud row
    s = matrix_stats(window, offset=(200, 5))
    rn, cn = np.linalg.norm(window, axis=1), np.linalg.norm(window, axis=0)
    assert s.top_rows[0] == (217, pytest.approx(rn[17]))
    assert [i for i, _ in s.top_rows] == [200 + i for i in np.argsort(-rn)[:3]]
    assert [i for i, _ in s.top_cols] == [5 + i for i in np.argsort(-cn)[:3]]
    assert s.row_norm_cv == pytest.approx(rn.std() / rn.mean())
    assert s.abs_max == pytest.approx(np.abs(window).max()) and s.std == pytest.approx(window.std())


def test_iid_noise_matches_its_baseline():
    s = matrix_stats(np.random.default_rng(3).normal(size=(400, 500)))
    assert s.row_norm_cv / s.iid_row_norm_cv == pytest.approx(1, abs=0.3)  # the baseline is right


def _broken(seed=4):
    """A 20 × 30 window with NaN and ±Inf at known places."""
    w = np.random.default_rng(seed).normal(size=(20, 30)).astype(np.float32)
    w[3, 4] = w[11, 11] = np.nan
    w[10, 10], w[18, 2] = np.inf, -np.inf
    return w


def test_block_mean_over_a_nan_is_nan_and_over_an_inf_is_that_inf():
    w = _broken()
    b = downsample(w, (5, 5), "mean")  # 4 × 6 blocks: (3, 4) in block (0, 0), (10, 10) in (2, 1), (18, 2) in (4, 0)
    assert np.isnan(b.values[0, 0]) and np.isnan(b.values[2, 1])  # (2, 1) holds a NaN and +Inf
    assert b.values[4, 0] == -np.inf
    finite = np.isfinite(b.values)
    want = w.reshape(5, 4, 5, 6).astype(np.float64).mean(axis=(1, 3))
    np.testing.assert_allclose(b.values[finite], want[finite], rtol=1e-6)


def test_block_maxabs_keeps_an_inf_and_marks_a_nan():
    w = _broken()
    b = downsample(w, (5, 5), "maxabs")
    assert b.values[2, 1] == np.inf  # the block holds a NaN and +Inf: the Inf is its largest magnitude
    assert b.values[4, 0] == -np.inf and np.isnan(b.values[0, 0])
    blocks = w.reshape(5, 4, 5, 6).transpose(0, 2, 1, 3).reshape(5, 5, -1)
    for i, j in zip(*np.nonzero(np.isfinite(b.values))):
        block = blocks[i, j]
        assert not np.isnan(block).any() and b.values[i, j] == block[np.argmax(np.abs(block))]


def test_stats_skip_nan_and_inf_and_say_where_the_first_is():
    w = _broken()
    s = matrix_stats(w, (100, 200))
    assert (s.nonfinite.nan, s.nonfinite.inf, s.nonfinite.first) == (2, 2, (103, 204))
    kept = np.where(np.isfinite(w), w, 0).astype(np.float64)
    finite = w[np.isfinite(w)].astype(np.float64)
    assert s.n_finite == 596 and s.abs_max == pytest.approx(np.abs(finite).max())
    assert s.mean == pytest.approx(finite.mean()) and s.std == pytest.approx(finite.std())
    rn = np.linalg.norm(kept, axis=1)
    assert s.top_rows[0] == (100 + int(np.argmax(rn)), pytest.approx(rn.max()))
    assert np.isfinite(s.row_norm_cv) and s.degenerate is None


def test_stats_of_broken_and_flat_windows():
    assert np.isnan(matrix_stats(np.full((3, 4), np.nan)).mean) and matrix_stats(np.full((3, 4), np.nan)).n_finite == 0
    assert matrix_stats(np.zeros((3, 4))).degenerate == "all zero"
    assert matrix_stats(np.full((3, 4), 0.5)).degenerate.startswith("constant")
    clean = matrix_stats(np.random.default_rng(0).normal(size=(3, 4)))
    assert clean.nonfinite is None and clean.degenerate is None and clean.n_finite == 12
