"""Position similarity on the patch grid against a numpy oracle, and the 2-D claim against W_pos built with a
known structure (and without one)."""
import numpy as np
import pytest

from analyses import vision as vis


def _oracle_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def _two_d_positions(rows: int, cols: int, d: int, seed: int = 0) -> np.ndarray:
    """W_pos patch rows = a vector per row (first half of the dimensions) + a vector per column (second half):
    positions in the same row or column share half of their vector."""
    rng = np.random.default_rng(seed)
    row_vec, col_vec = rng.normal(size=(rows, d // 2)), rng.normal(size=(cols, d // 2))
    return np.array([np.concatenate([row_vec[r], col_vec[c]]) for r in range(rows) for c in range(cols)])


def test_maps_equal_cosines_computed_one_pair_at_a_time():
    rng = np.random.default_rng(1)
    rows, cols = 3, 5
    patches = rng.normal(size=(rows * cols, 8))
    anchors = vis.anchor_positions((rows, cols), 7)
    assert anchors.tolist() == [[r, c] for r in range(rows) for c in range(cols)]
    s = vis.grid_similarity(patches, (rows, cols), anchors)
    for a, (ar, ac) in enumerate(anchors):
        for r in range(rows):
            for c in range(cols):
                assert s.maps[a, r, c] == pytest.approx(_oracle_cosine(patches[ar * cols + ac], patches[r * cols + c]),
                                                        abs=1e-6)
    same = [_oracle_cosine(patches[i], patches[j]) for i in range(15) for j in range(15)
            if i != j and (i // cols == j // cols or i % cols == j % cols)]
    other = [_oracle_cosine(patches[i], patches[j]) for i in range(15) for j in range(15)
             if i // cols != j // cols and i % cols != j % cols]
    assert s.same_line == pytest.approx(np.mean(same)) and s.elsewhere == pytest.approx(np.mean(other))


def test_a_learned_two_d_layout_is_claimed():
    s = vis.grid_similarity(_two_d_positions(6, 6, 64), (6, 6), vis.anchor_positions((6, 6), 3))
    assert s.row_col_advantage > 0.3 and vis.is_two_dimensional(s)


def test_no_claim_without_two_d_structure():
    rng = np.random.default_rng(2)
    random = vis.grid_similarity(rng.normal(size=(36, 64)), (6, 6), vis.anchor_positions((6, 6), 3))
    assert not vis.is_two_dimensional(random) and not vis.is_local(random)
    # smooth in the flattened order only (a 1-D sequence), not along columns: no 2-D claim either
    t = np.arange(36)[:, None] / 36
    one_d = np.cos(np.pi * t * np.arange(1, 33)[None, :])
    assert not vis.is_two_dimensional(vis.grid_similarity(one_d, (6, 6), vis.anchor_positions((6, 6), 3)))


def test_smooth_positions_are_local():
    rows = cols = 6
    r, c = np.divmod(np.arange(36), cols)
    freqs = np.linspace(0.2, 1.0, 16)
    smooth = np.concatenate([np.cos(np.outer(r, freqs)), np.sin(np.outer(r, freqs)),
                             np.cos(np.outer(c, freqs)), np.sin(np.outer(c, freqs))], axis=1)
    s = vis.grid_similarity(smooth, (rows, cols), vis.anchor_positions((rows, cols), 3))
    assert vis.is_local(s) and vis.is_two_dimensional(s)


def test_filters_are_scaled_each_to_its_own_range():
    w = np.random.default_rng(3).normal(size=(5, 3, 4, 4))
    w[4] = 2.0  # a constant filter
    tiles = vis.filter_tiles(w, 5)
    for f in range(4):
        expected = (w[f] - w[f].min()) / (w[f].max() - w[f].min())
        np.testing.assert_allclose(tiles[f], expected)
    assert np.all(tiles[4] == 0.5)
