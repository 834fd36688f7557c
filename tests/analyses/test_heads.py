"""analyses.heads against independent oracles: explicit d_model x d_model circuits, numpy SVD,
scipy/sklearn called directly. Heads read from real checkpoints are tested in tests/topics/test_heads.py."""
import numpy as np
import pytest
from scipy.cluster.hierarchy import dendrogram, fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

from analyses import heads
from analyses.attention import LayerWeights

N_HEADS, N_KV, D_MODEL, D_HEAD = 6, 2, 20, 4


def gqa_layer(seed: int = 0) -> LayerWeights:
    """Random GQA weights; each kv head has its own scale so a wrong head -> kv mapping shows."""
    rng = np.random.default_rng(seed)
    kv_scale = np.array([1.0, 3.0])[:, None, None]
    return LayerWeights(rng.normal(size=(N_HEADS, D_MODEL, D_HEAD)).astype(np.float32),
                        (rng.normal(size=(N_KV, D_MODEL, D_HEAD)) * kv_scale).astype(np.float32),
                        (rng.normal(size=(N_KV, D_MODEL, D_HEAD)) * kv_scale[::-1]).astype(np.float32),
                        rng.normal(size=(N_HEADS, D_HEAD, D_MODEL)).astype(np.float32))


def explicit_circuits(w: LayerWeights):
    """QK and OV of every head as full (d_model, d_model) matrices; kv heads repeated as transformers does."""
    group = w.W_Q.shape[0] // w.W_K.shape[0]
    K, V = np.repeat(w.W_K, group, axis=0), np.repeat(w.W_V, group, axis=0)  # (n_heads, d_model, d_head)
    qk = [w.W_Q[h].astype(np.float64) @ K[h].T for h in range(len(K))]
    ov = [V[h].astype(np.float64) @ w.W_O[h] for h in range(len(K))]
    return qk, ov, K, V


def test_every_statistic_matches_explicit_matrices():
    w = gqa_layer()
    qk, ov, K, V = explicit_circuits(w)
    oracle = {"qk_norm": [np.linalg.norm(m, "fro") for m in qk], "ov_norm": [np.linalg.norm(m, "fro") for m in ov],
              "qk_top": [np.linalg.svd(m, compute_uv=False)[0] for m in qk],
              "ov_top": [np.linalg.svd(m, compute_uv=False)[0] for m in ov]}
    for name, arr in (("Q", w.W_Q), ("K", K), ("V", V), ("O", w.W_O)):
        oracle[f"norm_{name}"] = [np.linalg.norm(arr[h]) for h in range(N_HEADS)]
        oracle[f"std_{name}"] = [np.std(arr[h].astype(np.float64)) for h in range(N_HEADS)]
    got = heads.layer_statistics(w)
    assert set(got) == set(oracle) == set(heads.STATISTICS)
    for key in oracle:
        np.testing.assert_allclose(got[key], oracle[key], rtol=1e-5, err_msg=key)


@pytest.mark.parametrize("d_model, d_head", [(20, 4), (3, 5)])  # (3, 5): circuits of rank below d_head
def test_circuit_singular_values_match_svd(d_model, d_head):
    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(2, 3, d_model, d_head))
    got = heads.thin_product_singular_values(A, B)
    for i in range(3):
        expected = np.linalg.svd(A[i] @ B[i].T, compute_uv=False)[:got.shape[1]]  # (d_model, d_model) formed
        np.testing.assert_allclose(got[i], expected, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(heads.thin_product_norm(A, B), np.sqrt((got ** 2).sum(axis=1)), rtol=1e-8)


def independent_features(w: LayerWeights, kind: str) -> np.ndarray:
    """Head h's feature written out by hand, kv head h // group."""
    group = N_HEADS // N_KV
    rows = []
    for h in range(N_HEADS):
        parts = {"W_Q": w.W_Q[h].ravel(), "W_K": w.W_K[h // group].ravel(), "W_V": w.W_V[h // group].ravel(),
                 "W_O": w.W_O[h].ravel()}
        rows.append(np.concatenate(list(parts.values())) if kind == "weights" else parts[kind])
    return np.array(rows)


@pytest.mark.parametrize("kind", ["weights", "W_Q", "W_K", "W_O"])
def test_ward_linkage_matches_scipy_on_independent_features(kind):
    w = gqa_layer(2)
    x = StandardScaler().fit_transform(independent_features(w, kind).astype(np.float64))
    c = heads.ward(heads.head_features(w, kind), heads.head_labels(N_HEADS))
    np.testing.assert_allclose(c.linkage, linkage(x, method="ward"), rtol=1e-4, atol=1e-4)
    for k in (2, 3):
        assert c.cut(k).tolist() == fcluster(linkage(x, method="ward"), k, "maxclust").tolist()
    dist, _ = NearestNeighbors(n_neighbors=2).fit(x).kneighbors(x)
    np.testing.assert_allclose(c.nearest, dist[:, 1], rtol=1e-4)
    # heads sharing a kv head tie at distance 0, so check the neighbour by its distance, not its index
    assert all(c.neighbour != np.arange(N_HEADS))
    np.testing.assert_allclose(np.linalg.norm(x - x[c.neighbour], axis=1), dist[:, 1], rtol=1e-4, atol=1e-6)


def test_spectra_features_are_the_circuits_singular_values():
    w = gqa_layer(3)
    qk, ov, _, _ = explicit_circuits(w)
    expected = [np.concatenate([np.linalg.svd(a, compute_uv=False)[:D_HEAD], np.linalg.svd(b, compute_uv=False)[:D_HEAD]])
                for a, b in zip(qk, ov)]
    np.testing.assert_allclose(heads.head_features(w, "spectra"), expected, rtol=1e-5, atol=1e-8)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_dendrogram_links_colour_each_cluster(k):
    rng = np.random.default_rng(4)
    features = np.concatenate([rng.normal(loc=5 * i, size=(4, 3)) for i in range(3)])  # three clear groups
    c = heads.ward(features, [f"H{i}" for i in range(12)])
    links, leaves = heads.dendrogram_links(c, k)
    assert [leaf["label"] for leaf in leaves] == dendrogram(c.linkage, labels=c.labels, no_plot=True)["ivl"]
    ids = dict(zip(c.labels, c.cut(k)))
    assert all(leaf["cluster"] == ids[leaf["label"]] for leaf in leaves)
    assert sum(link["cluster"] == 0 for link in links) == 3 * (k - 1)  # the k-1 merges above the cut
    for link in links:
        if link["cluster"]:  # every leaf under a coloured link belongs to its cluster
            lo, hi = sorted((link["x"], link["x2"]))
            assert {leaf["cluster"] for leaf in leaves if lo - 1e-9 <= leaf["x"] <= hi} <= {link["cluster"]}


def test_dendrogram_truncates_large_trees():
    c = heads.ward(np.random.default_rng(5).normal(size=(30, 4)), [f"H{i}" for i in range(30)])
    links, leaves = heads.dendrogram_links(c, 4, max_leaves=10)
    assert len(leaves) == 10 and len(links) == 3 * 9
    assert sorted({leaf["cluster"] for leaf in leaves}) == [1, 2, 3, 4]


def test_tiles_are_block_means_and_fit_the_budget():
    stack = np.arange(3 * 24 * 8, dtype=np.float64).reshape(3, 24, 8) ** 1.5
    # 64 cells a head: 4 bins on the short axis, 16 asked on the long one, which gives 12 equal blocks of 2
    np.testing.assert_allclose(heads.head_tiles(stack, 3 * 64), stack.reshape(3, 12, 2, 4, 2).mean(axis=(2, 4)))
    uneven = np.random.default_rng(6).normal(size=(2, 25, 7)).astype(np.float32)
    tiles = heads.head_tiles(uneven, 2 * 40)  # 13 x 3 asked: blocks of 2 x 3 rows and columns, the last shorter
    by_hand = [[[uneven[h, r:r + 2, c:c + 3].mean(dtype=np.float64) for c in range(0, 7, 3)] for r in range(0, 25, 2)]
               for h in range(2)]
    np.testing.assert_allclose(tiles, by_hand, rtol=1e-6)
    for shape in [(12, 768, 64), (12, 64, 768), (32, 4096, 128), (2, 32, 16), (64, 8, 8)]:
        tiles = heads.head_tiles(np.zeros(shape, np.float32), 4999)
        assert tiles.size <= 4999 and tiles.shape[0] == shape[0], shape
        assert (tiles.shape[1] >= tiles.shape[2]) == (shape[1] >= shape[2])  # orientation kept


def test_readings_name_the_extremes_and_the_trend():
    values = np.array([[1.0, 2.0], [3.0, 9.0], [5.0, 10.0]])
    text = heads.statistics_reading(values, "‖W‖")
    assert "largest at **L2H1** (10)" in text and "smallest at **L0H0** (1)" in text
    assert "grows with depth" in text and "Spearman ρ = +1.00" in text
    features = np.array([[0.0], [0.1], [0.2], [10.0]])
    text = heads.clustering_reading(heads.ward(features, ["H0", "H1", "H2", "H3"]), 2)
    assert "**H3** stands apart" in text and "**1** (3): H0, H1, H2" in text


@pytest.mark.parametrize("block", [7, 8192])
def test_standardised_distances_match_pdist_of_standardised_columns(block):
    """Oracle: scipy's pdist on sklearn's StandardScaler output (float64 throughout)."""
    rng = np.random.default_rng(0)
    features = (rng.normal(size=(30, 2000)) * rng.uniform(0.1, 3, size=2000)).astype(np.float32)
    features[:, 7] = 2.0  # a constant column: centred to zero, as StandardScaler
    features[3] = features[4] + 1e-3  # two nearly equal heads: the Gram form must not cancel them away
    want = pdist(StandardScaler().fit_transform(features.astype(np.float64)))
    np.testing.assert_allclose(heads.standardised_distances(features, block), want, rtol=1e-9)
    c = heads.ward(features, [f"H{i}" for i in range(30)])
    np.testing.assert_allclose(c.linkage, linkage(want, "ward"), rtol=1e-9)
    assert c.neighbour[3] == 4 and c.neighbour[4] == 3
