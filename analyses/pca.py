"""PCA of a weight matrix: StandardScaler, then PCA, rows as samples unless the caller transposes.

Done with one symmetric eigen-decomposition of the smaller Gram matrix of the standardised
matrix (its eigenvalues are the squared singular values), so every layer of a model is quick.
Agrees with sklearn's `PCA().fit(StandardScaler().fit_transform(x))` (see tests/analyses/test_pca.py).

    result = layer_pca(0, w)            # explained_ratio, cumulative, n_for_threshold, scores
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from analyses.spectral import symmetric_eigenvalues

THRESHOLD = 0.9  # the share of variance whose component count is reported


@dataclass
class LayerPCA:
    layer: int
    n_samples: int
    n_features: int
    explained_ratio: np.ndarray  # (min(n_samples, n_features),), descending, sums to 1
    cumulative: np.ndarray
    n_for_threshold: int  # components needed to explain `threshold` of the variance
    threshold: float
    scores: np.ndarray | None = None  # (n_samples, 2): each sample on PC1, PC2
    components: np.ndarray | None = None  # (2, n_features), sign: largest |loading| positive (as sklearn)

    @property
    def n_components(self) -> int:
        return len(self.explained_ratio)


def standardise(values: np.ndarray) -> np.ndarray:
    """Columns to zero mean, unit variance (ddof=0); a constant column is only centred, as StandardScaler."""
    x = np.asarray(values, dtype=np.float64)
    std = x.std(axis=0)
    std[std < 10 * np.finfo(np.float64).eps] = 1.0
    return (x - x.mean(axis=0)) / std


def components_for(cumulative: np.ndarray, threshold: float = THRESHOLD) -> int:
    """The fewest leading components whose cumulative share reaches `threshold`."""
    reached = np.flatnonzero(cumulative >= threshold - 1e-9)  # float sums may land a hair under 1.0
    return int(reached[0]) + 1 if len(reached) else len(cumulative)


def layer_pca(layer: int, values: np.ndarray, with_scores: bool = True, threshold: float = THRESHOLD) -> LayerPCA:
    """PCA of `values` (samples x features) after standardising its columns."""
    z = standardise(values)
    n, p = z.shape
    small_side_is_samples = n <= p
    gram = z @ z.T if small_side_is_samples else z.T @ z  # (k, k), k = min(n, p)
    eigvals = np.clip(symmetric_eigenvalues(gram.copy())[::-1], 0, None)  # squared singular values, descending
    ratio = eigvals / eigvals.sum() if eigvals.sum() > 0 else np.zeros_like(eigvals)
    cumulative = np.cumsum(ratio)
    result = LayerPCA(layer, n, p, ratio, cumulative, components_for(cumulative, threshold), threshold)
    if with_scores:
        k = min(2, len(eigvals))
        # only the top two eigenvectors: a full eigh costs several times the eigenvalues alone
        eigvecs = linalg.eigh(gram, subset_by_index=[len(eigvals) - k, len(eigvals) - 1])[1][:, ::-1]
        sing = np.sqrt(eigvals[:k])
        if small_side_is_samples:
            u = eigvecs[:, :k]
            v = (z.T @ u) / np.where(sing > 0, sing, 1)  # V = Z^T U / s
        else:
            v = eigvecs[:, :k]
        flip = np.sign(v[np.argmax(np.abs(v), axis=0), np.arange(k)])
        v = v * np.where(flip == 0, 1, flip)
        result.components, result.scores = v.T, z @ v
    return result
