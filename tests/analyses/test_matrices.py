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
