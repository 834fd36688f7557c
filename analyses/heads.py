"""Attention heads, built from the per-head schema (never from a fused matrix cut into blocks).

A head h owns W_Q[h] (d_model, d_head) and W_O[h] (d_head, d_model); with grouped-query
attention it shares W_K[g], W_V[g] with the other heads of its group, g = h // (n_heads // n_kv_heads).
Its two circuits are rank-d_head d_model x d_model matrices:
    QK[h] = W_Q[h] @ W_K[g].T        (which residual directions attend to which)
    OV[h] = W_V[g] @ W_O[h]          (what an attended-to token writes back)
They are never formed: both are A @ B.T with thin A, B (d_model, d_head), so their Frobenius
norm comes from the d_head x d_head Gram matrices and their singular values from R_A @ R_B.T
(analyses.thin_products).

A head whose own weights (W_Q[h], W_O[h] and its kv head's W_K, W_V) hold NaN or Inf gets NaN
statistics and is left out of clustering: its norms and circuits mix every entry, so nothing of it
is meaningful, while the layer's other heads are computed as usual (`finite_heads`). Statistics
are taken in float64, so values near float32's limit do not overflow.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from analyses._scipy import distance, hierarchy, stats
from analyses.attention import LayerWeights
from analyses.matrices import block_edges, block_means
from analyses.thin_products import thin_product_norm, thin_product_singular_values

SLOTS = ("W_Q", "W_K", "W_V", "W_O")
STATISTICS = {  # key -> label shown to users
    "norm_Q": "‖W_Q‖ (Frobenius)", "norm_K": "‖W_K‖ (Frobenius, of its kv head)",
    "norm_V": "‖W_V‖ (Frobenius, of its kv head)", "norm_O": "‖W_O‖ (Frobenius)",
    "std_Q": "std of W_Q", "std_K": "std of W_K (its kv head)", "std_V": "std of W_V (its kv head)",
    "std_O": "std of W_O",
    "qk_norm": "‖W_Q W_Kᵀ‖ (QK circuit, Frobenius)", "ov_norm": "‖W_V W_O‖ (OV circuit, Frobenius)",
    "qk_top": "top singular value of the QK circuit", "ov_top": "top singular value of the OV circuit",
}


def head_labels(n_heads: int, layer: int | None = None) -> list[str]:
    """['H0', 'H1', ...] or, to tell layers apart, ['L3H0', 'L3H1', ...]."""
    prefix = "" if layer is None else f"L{layer}"
    return [f"{prefix}H{h}" for h in range(n_heads)]


# ---- circuits ------------------------------------------------------------------------------
def qk_parts(w: LayerWeights) -> tuple[np.ndarray, np.ndarray]:
    """QK[h] = A[h] @ B[h].T with A = W_Q[h], B = W_K[kv(h)]: both (n_heads, d_model, d_head)."""
    return w.W_Q, w.W_K[w.kv()]


def ov_parts(w: LayerWeights) -> tuple[np.ndarray, np.ndarray]:
    """OV[h] = A[h] @ B[h].T with A = W_V[kv(h)], B = W_O[h].T: both (n_heads, d_model, d_head)."""
    return w.W_V[w.kv()], np.swapaxes(w.W_O, 1, 2)


def finite_heads(w: LayerWeights) -> np.ndarray:
    """(n_heads,) bool: whether every weight a head reads (its kv head's included) is finite."""
    kv = w.kv()
    ok = [np.isfinite(a.reshape(a.shape[0], -1)).all(axis=1) for a in (w.W_Q, w.W_K[kv], w.W_V[kv], w.W_O)]
    return np.logical_and.reduce(ok)


def layer_statistics(w: LayerWeights) -> dict[str, np.ndarray]:
    """Every statistic of STATISTICS for each head of one layer: key -> (n_heads,); NaN for a head with NaN
    or Inf weights (see the module doc)."""
    ok = finite_heads(w)
    if not ok.all():
        kv = w.kv()[ok]
        sub = LayerWeights(w.W_Q[ok], w.W_K[kv], w.W_V[kv], w.W_O[ok]) if ok.any() else None
        out = {k: np.full(len(ok), np.nan) for k in STATISTICS}
        if sub is not None:
            for k, v in layer_statistics(sub).items():
                out[k][ok] = v
        return out
    kv = w.kv()
    per_head = {"Q": w.W_Q, "K": w.W_K[kv], "V": w.W_V[kv], "O": w.W_O}  # K, V: the kv head each head reads
    out = {}
    for s, arr in per_head.items():
        flat = arr.reshape(arr.shape[0], -1).astype(np.float64)  # (n_heads, d_model*d_head)
        out[f"norm_{s}"] = np.linalg.norm(flat, axis=1)
        out[f"std_{s}"] = flat.std(axis=1)
    out["qk_norm"] = thin_product_norm(*qk_parts(w))
    out["ov_norm"] = thin_product_norm(*ov_parts(w))
    out["qk_top"] = thin_product_singular_values(*qk_parts(w))[:, 0]
    out["ov_top"] = thin_product_singular_values(*ov_parts(w))[:, 0]
    return out


# ---- per-head features for clustering ------------------------------------------------------
FEATURES = {  # key -> label shown to users
    "weights": "W_Q, W_K, W_V, W_O of the head, flattened and standardised",
    "W_Q": "W_Q only", "W_K": "W_K only (shared within a kv group)", "W_V": "W_V only (shared within a kv group)",
    "W_O": "W_O only",
    "spectra": "QK and OV circuit singular-value profiles",
    "qk_spectrum": "QK circuit singular-value profile", "ov_spectrum": "OV circuit singular-value profile",
}


def head_features(w: LayerWeights, kind: str = "weights") -> np.ndarray:
    """(n_heads, n_features): what belongs to each head, unstandardised (see `standardise`)."""
    kv = w.kv()
    blocks = {"W_Q": w.W_Q, "W_K": w.W_K[kv], "W_V": w.W_V[kv], "W_O": w.W_O}
    n = w.n_heads
    if kind == "weights":
        return np.concatenate([blocks[s].reshape(n, -1) for s in SLOTS], axis=1)  # (n_heads, 4*d_model*d_head)
    if kind in blocks:
        return blocks[kind].reshape(n, -1)
    spectra = {"qk_spectrum": lambda: thin_product_singular_values(*qk_parts(w)),
               "ov_spectrum": lambda: thin_product_singular_values(*ov_parts(w))}
    if kind == "spectra":
        return np.concatenate([spectra["qk_spectrum"](), spectra["ov_spectrum"]()], axis=1)  # (n_heads, 2*d_head)
    if kind in spectra:
        return spectra[kind]()
    raise ValueError(f"unknown feature {kind!r}; choose one of {list(FEATURES)}")


def feature_size(kind: str, d_model: int, d_head: int) -> int:
    """How many numbers `head_features` gives per head, to check memory before building them."""
    return {"weights": 4 * d_model * d_head, "spectra": 2 * d_head, "qk_spectrum": d_head,
            "ov_spectrum": d_head}.get(kind, d_model * d_head)


FEATURE_BUDGET = 32_000_000  # numbers of features held at once for clustering (float32: 128 MB)


def affordable_feature(kind: str, n_heads: int, d_model: int, d_head: int) -> str:
    """`kind`, or the small 'spectra' profiles when `kind` for n_heads heads would exceed FEATURE_BUDGET."""
    return kind if n_heads * feature_size(kind, d_model, d_head) <= FEATURE_BUDGET else "spectra"


def standardise(features: np.ndarray) -> np.ndarray:
    """Each column to mean 0, std 1 across heads; a constant column becomes 0 (it tells heads nothing apart)."""
    mean = features.mean(axis=0, dtype=np.float64)
    std = features.std(axis=0, dtype=np.float64)
    return ((features - mean) / np.where(std > 0, std, 1.0)).astype(np.float32)  # float32: all-layer features are large


# ---- Ward clustering of heads ----------------------------------------------------------------
@dataclass
class Clustering:
    labels: list[str]  # one per head clustered: 'H3', or 'L3H7' across layers
    linkage: np.ndarray  # (n-1, 4) scipy's Ward linkage of the standardised features
    nearest: np.ndarray  # (n,) Euclidean distance to the nearest other head, in that feature space
    neighbour: np.ndarray  # (n,) index of that nearest head
    dropped: list[str] = field(default_factory=list)  # heads left out: their features hold NaN or Inf

    def cut(self, k: int) -> np.ndarray:
        """(n,) cluster ids 1..k: the tree cut into at most k clusters."""
        return hierarchy.fcluster(self.linkage, t=k, criterion="maxclust")

    def members(self, k: int) -> list[list[str]]:
        """The heads of each cluster of `cut(k)`, cluster 1 first."""
        ids = self.cut(k)
        return [[self.labels[i] for i in np.flatnonzero(ids == c)] for c in sorted(set(ids))]


COLUMN_BLOCK = 8192  # columns standardised at a time: 144 heads x 8192 float64 is 9 MB


def standardised_distances(features: np.ndarray, block: int = COLUMN_BLOCK) -> np.ndarray:
    """pdist(standardise(features)), condensed (n*(n-1)/2,), without a full-size copy of `features`.

    Columns are standardised block by block in float64, and squared distances come from each block's
    Gram matrix, |a|^2 + |b|^2 - 2 a.b (one BLAS call per block: ~10x pdist on 144 heads x 196,608
    features). The terms are O(columns) and the distances O(sqrt(columns)), so the cancellation costs
    ~1e-12 relative (tested against pdist). Peak memory: one float64 block.
    """
    n, p = features.shape
    gram = np.zeros((n, n))
    for a in range(0, p, block):
        z = features[:, a:a + block].astype(np.float64)  # (n, block)
        z -= z.mean(axis=0)
        std = np.sqrt(np.square(z).mean(axis=0))
        z /= np.where(std > 0, std, 1.0)
        gram += z @ z.T
    sq = np.diag(gram)
    d2 = sq[:, None] + sq[None, :] - 2.0 * gram
    return np.sqrt(np.maximum(distance.squareform(d2, checks=False), 0.0))


def clusterable(features: np.ndarray) -> np.ndarray:
    """(n,) bool: the heads (rows) whose features are all finite, which `ward` clusters."""
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(features.sum(dtype=np.float64)):
            return np.ones(len(features), bool)
    return np.isfinite(features).all(axis=1)


def ward(features: np.ndarray, labels: list[str]) -> Clustering:
    """Ward linkage of heads (rows of `features`, unstandardised); heads with NaN or Inf features are left out
    (`dropped`); needs at least two heads left."""
    ok = clusterable(features)
    dropped = [label for label, good in zip(labels, ok) if not good]
    if dropped:
        features, labels = features[ok], [label for label, good in zip(labels, ok) if good]
    if len(features) < 2:
        raise ValueError("clustering needs at least two heads with finite weights")
    dists = standardised_distances(features)  # condensed; Ward on it == Ward on the standardised points
    square = distance.squareform(dists)
    np.fill_diagonal(square, np.inf)
    tree = hierarchy.linkage(dists, method="ward")
    return Clustering(list(labels), tree, square.min(axis=1), square.argmin(axis=1), dropped)


def dendrogram_links(c: Clustering, k: int, max_leaves: int = 200) -> tuple[list[dict], list[dict]]:
    """(links, leaves) to draw: each link an (x, y)-(x2, y2) segment with the cluster it lies in
    (0 above the cut), each leaf its x, label and cluster. Trees over `max_leaves` show the last merges only."""
    n = len(c.labels)
    truncate = "lastp" if n > max_leaves else None
    tree = hierarchy.dendrogram(c.linkage, p=max_leaves, truncate_mode=truncate, labels=c.labels, no_plot=True)
    ids = c.cut(k)
    leaf_cluster = [int(ids[_a_member(c.linkage, node, n)]) for node in tree["leaves"]]
    xs = 5.0 + 10.0 * np.arange(len(leaf_cluster))  # scipy's leaf positions
    heights = np.sort(c.linkage[:, 2])
    cut_height = np.inf if k <= 1 else (heights[-k] + heights[-k + 1]) / 2 if k < n else -np.inf
    links = []
    for ix, iy in zip(tree["icoord"], tree["dcoord"]):
        inside = leaf_cluster[int(np.searchsorted(xs, ix[0] - 1e-6))] if iy[1] < cut_height else 0
        links += [{"x": ix[j], "y": iy[j], "x2": ix[j + 1], "y2": iy[j + 1], "cluster": inside} for j in range(3)]
    leaves = [{"x": x, "label": label, "cluster": cl} for x, label, cl in zip(xs, tree["ivl"], leaf_cluster)]
    return links, leaves


def _a_member(Z: np.ndarray, node: int, n: int) -> int:
    """One original head under a tree node (nodes >= n are merges, row node - n of Z)."""
    while node >= n:
        node = int(Z[node - n, 0])
    return node


# ---- heatmap tiles -----------------------------------------------------------------------------
def head_tiles(stack: np.ndarray, max_cells: int) -> np.ndarray:
    """(n, a, b) per-head matrices -> (n, r, c) block means (analyses.matrices' blocks), n*r*c <= max_cells.

    The short (d_head) axis gets sqrt(budget / 4) bins and the long (d_model) axis the rest, so
    a tile keeps some resolution along both axes however lopsided the head's matrix is."""
    n, a, b = stack.shape
    per_head = max(1, max_cells // n)
    short = max(1, min(min(a, b), int(np.sqrt(per_head / 4))))
    long = max(1, min(max(a, b), per_head // short))
    r, c = (long, short) if a >= b else (short, long)
    return block_means(stack, block_edges(a, r), block_edges(b, c))  # (n, <= r, <= c)


# ---- readings (markdown computed from the numbers) -------------------------------------------
def statistics_reading(values: np.ndarray, label: str) -> str:
    """Extremes, the most uneven layer, and the trend with depth of one statistic (n_layers, n_heads).
    NaN entries (heads with NaN or Inf weights) are left out and counted."""
    n_layers, n_heads = values.shape
    known = ~np.isnan(values)
    if not known.any():
        return f"**{label}**: no head has finite weights, so there is nothing to read."
    hi = np.unravel_index(np.where(known, values, -np.inf).argmax(), values.shape)
    lo = np.unravel_index(np.where(known, values, np.inf).argmin(), values.shape)
    text = (f"**{label}**: largest at **L{hi[0]}H{hi[1]}** ({values[hi]:.3g}), smallest at "
            f"**L{lo[0]}H{lo[1]}** ({values[lo]:.3g})")
    text += f", a ratio of {values[hi] / values[lo]:.2f}×." if values[lo] > 0 else "."
    rows = known.any(axis=1)  # layers with at least one head to read
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.array([values[l][known[l]].mean() if rows[l] else np.nan for l in range(n_layers)])
        spread = np.array([values[l][known[l]].std() if rows[l] else np.nan for l in range(n_layers)])
        spread = spread / np.where(means != 0, np.abs(means), 1)
    if n_heads > 1:
        worst = int(np.nanargmax(spread))
        text += f" Heads differ most within layer {worst} (std/mean {spread[worst]:.2f})."
    depth = np.flatnonzero(rows)
    if len(depth) >= 3 and np.ptp(means[depth]) > 0:
        rho = stats.spearmanr(depth, means[depth]).statistic
        trend = "grows with depth" if rho > 0.5 else "shrinks with depth" if rho < -0.5 else "has no steady trend with depth"
        top = int(depth[np.argmax(means[depth])])
        peak = f", peaking in layer {top}" if depth[0] < top < depth[-1] else ""
        text += (f" The layer mean {trend} (Spearman ρ = {rho:+.2f}): {means[depth[0]]:.3g} in layer {depth[0]}, "
                 f"{means[depth[-1]]:.3g} in layer {depth[-1]}{peak}.")
    unknown = values.size - int(known.sum())
    if unknown:
        text += f" ⚠️ {unknown} head{'s' * (unknown != 1)} with NaN or Inf weights {'have' if unknown != 1 else 'has'} no value here."
    return text


def clustering_reading(c: Clustering, k: int, apart_ratio: float = 1.5) -> str:
    """Which heads cluster together, the closest pair, and whether one head stands apart."""
    groups = c.members(k)
    listed = "; ".join(f"**{i + 1}** ({len(g)}): " + ", ".join(g[:8]) + ("…" if len(g) > 8 else "")
                       for i, g in enumerate(groups))
    text = f"Cut into {len(groups)} clusters: {listed}."
    a = int(c.nearest.argmin())
    text += f" The closest pair is **{c.labels[a]}** and **{c.labels[c.neighbour[a]]}** (distance {c.nearest[a]:.3g})."
    far = int(c.nearest.argmax())
    ratio = c.nearest[far] / max(float(np.median(c.nearest)), 1e-12)
    if ratio >= apart_ratio:
        text += (f" **{c.labels[far]}** stands apart: its nearest neighbour ({c.labels[c.neighbour[far]]}) is "
                 f"{ratio:.1f}× farther than the median head's.")
    else:
        text += (f" No head stands far apart: the most isolated, {c.labels[far]}, is {ratio:.1f}× the median "
                 f"nearest-neighbour distance.")
    layers = [label.split("H")[0] for label in c.labels]
    if all(l.startswith("L") for l in layers) and len(set(layers)) > 1:
        shared = [g for g in groups if len(g) > 1]
        pure = sum(len({label.split("H")[0] for label in g}) == 1 for g in shared)
        if shared:
            text += f" {pure} of the {len(shared)} clusters with several heads hold heads of a single layer."
    return text
