"""Mixture-of-experts numerics: how a layer's experts compare, and the router's weight per expert.

Pure numpy/scipy; topics/experts.py reads the experts one at a time into these.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from analyses._scipy import distance as spatial, hierarchy  # scipy through one module: see analyses/_scipy.py

METRICS = {  # per-expert metric -> what it measures
    "std": "standard deviation of the expert's weights",
    "frobenius": "Frobenius norm ‖W‖_F: the expert's overall size",
    "max_abs": "largest |weight|",
    "alpha": "power-law exponent of the eigenvalue spectrum (2-6: well trained; > 6: under-trained)",
    "stable_rank": "‖W‖_F² / ‖W‖₂²: how many directions carry the weight",
}


def router_norms(w_router: np.ndarray) -> np.ndarray:
    """The L2 norm of each expert's router column; w_router (d_model, n_experts) -> (n_experts,).

    The router's logit for expert e is x · W_router[:, e], so a column much shorter than the rest gives that
    expert smaller logits on every input: it is chosen less (a candidate dead expert); a much longer one,
    more (a candidate hot expert)."""
    return np.sqrt(np.einsum("de,de->e", w_router.astype(np.float64), w_router.astype(np.float64)))


def matrix_metrics(w: np.ndarray, spectral: bool) -> dict[str, float]:
    """METRICS of one expert's matrix (finite values only for the plain statistics; NaN when it has none)."""
    finite = w[np.isfinite(w)].astype(np.float64)
    out = {"std": float(finite.std()) if finite.size else np.nan,
           "frobenius": float(np.sqrt((finite ** 2).sum())) if finite.size else np.nan,
           "max_abs": float(np.abs(finite).max()) if finite.size else np.nan}
    if spectral:
        from analyses.spectral import diagnose
        if finite.size == w.size and finite.size:
            d = diagnose(w, with_shuffled=False)
            out.update(alpha=d.alpha if d.alpha is not None else np.nan, stable_rank=d.stable_rank)
        else:
            out.update(alpha=np.nan, stable_rank=np.nan)
    return out


@dataclass
class Similarity:
    """How alike one layer's experts are: cosine of their flattened weights, and a clustering order."""
    cosine: np.ndarray  # (n_experts, n_experts)
    order: np.ndarray  # experts in average-linkage clustering order (similar experts next to each other)
    rows_used: int  # input rows compared (all of them unless the experts were too large to hold at once)
    rows_total: int


def similarity(gram: np.ndarray, rows_used: int, rows_total: int) -> Similarity:
    """From the Gram matrix G[i, j] = <W_i, W_j> of flattened experts: cosines and a clustering order.
    Experts with a zero (or non-finite) norm get NaN cosines and sit at the end of the order."""
    gram = np.asarray(gram, dtype=np.float64)
    norms = np.sqrt(np.clip(np.diag(gram), 0, None))
    good = np.isfinite(norms) & (norms > 0)
    cosine = np.full(gram.shape, np.nan)
    cosine[np.ix_(good, good)] = gram[np.ix_(good, good)] / np.outer(norms[good], norms[good])
    idx = np.flatnonzero(good)
    if idx.size > 2:
        distance = np.clip(1 - cosine[np.ix_(idx, idx)], 0, 2)
        np.fill_diagonal(distance, 0)
        distance = (distance + distance.T) / 2
        order = idx[hierarchy.leaves_list(hierarchy.linkage(spatial.squareform(distance, checks=False), "average"))]
    else:
        order = idx
    return Similarity(cosine, np.concatenate([order, np.flatnonzero(~good)]), rows_used, rows_total)


def off_diagonal(cosine: np.ndarray) -> np.ndarray:
    """The finite cosines between different experts, each pair once."""
    upper = cosine[np.triu_indices_from(cosine, 1)]
    return upper[np.isfinite(upper)]
