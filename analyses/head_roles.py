"""What a head does, read from its weights alone: TransformerLens's circuit scores, never forming a vocab x vocab matrix.

OV circuit in token space (a token t attended to adds row t of this to the logits):
    OV_full[h] = W_E @ W_V[h] @ W_O[h] @ W_U        (d_vocab, d_vocab), never formed
Its non-zero eigenvalues are those of the small matrix
    W_O[h] @ (W_U @ W_E) @ W_V[h]                   (d_head, d_head)
because eig(XY) and eig(YX) share their non-zero values (X = W_E W_V, Y = W_O W_U). W_U @ W_E (d_model,
d_model) is formed once per model. The copying score is TransformerLens's (`OV.eigenvalues`, "A Mathematical
Framework for Transformer Circuits"): Re(sum lambda) / sum |lambda|, +1 for a head whose OV circuit is a positive
multiple of the identity on token space (it copies what it attends to), -1 for one that suppresses it.

QK circuit over learned positions (how much a query at position i attends to a key at position j, tokens aside):
    QK_pos[h] = W_pos @ W_Q[h] @ W_K[h].T @ W_pos.T (n_ctx, n_ctx), from two (n_ctx, d_head) factors
The previous-token score is the mean attention weight, after the softmax over allowed keys (j <= i when causal),
that position i puts on i - 1. Like TransformerLens's weight-only circuits these leave out LayerNorm and biases.
"""
from __future__ import annotations

import numpy as np


def token_loop(W_E: np.ndarray, W_U: np.ndarray) -> np.ndarray:
    """W_U @ W_E: (d_model, d_vocab) @ (d_vocab, d_model) -> (d_model, d_model), float64; shared by every head."""
    return np.asarray(W_U, np.float64) @ np.asarray(W_E, np.float64)


def ov_eigenvalues(W_V: np.ndarray, W_O: np.ndarray, loop: np.ndarray) -> np.ndarray:
    """Non-zero eigenvalues of each head's W_E W_V W_O W_U: W_V (n, d_model, d_head), W_O (n, d_head, d_model),
    loop = token_loop(W_E, W_U). Returns (n, d_head) complex; NaN for a head whose circuit holds NaN or Inf (broken
    weights, or products past float64's range), which has no eigenvalues."""
    with np.errstate(all="ignore"):
        small = np.asarray(W_O, np.float64) @ loop @ np.asarray(W_V, np.float64)  # (n, d_head, d_head)
    out = np.full(small.shape[:2], np.nan, dtype=complex)
    finite = np.isfinite(small).all(axis=(1, 2))
    if finite.any():
        out[finite] = np.linalg.eigvals(small[finite])
    return out


def copying_score(eigenvalues: np.ndarray) -> np.ndarray:
    """TransformerLens's copying score, Re(sum lambda) / sum |lambda| per row: (n, k) -> (n,) in [-1, 1]; NaN when
    every eigenvalue is zero."""
    total = np.abs(eigenvalues).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, eigenvalues.sum(axis=-1).real / total, np.nan)


def positive_share(eigenvalues: np.ndarray, rel_tol: float = 1e-9) -> np.ndarray:
    """Share of each row's non-zero eigenvalues whose real part is positive: (n, k) -> (n,) in [0, 1]. A real part
    within rounding of zero (a rotation's ±i) counts as not positive."""
    size = np.abs(eigenvalues)
    floor = rel_tol * size.max(axis=-1, keepdims=True).clip(min=np.finfo(float).tiny)  # rounding, not signal
    with np.errstate(invalid="ignore", divide="ignore"):
        return (eigenvalues.real > floor).sum(axis=-1) / (size > floor).sum(axis=-1)


def positional_attention(W_pos: np.ndarray, W_Q: np.ndarray, W_K: np.ndarray, scale: float,
                         causal: bool) -> np.ndarray:
    """Attention pattern from positions alone: softmax_j(scale * (W_pos W_Q[h]) . (W_pos W_K[h])_j) over the
    allowed keys. W_pos (n_pos, d_model), W_Q, W_K (n, d_model, d_head) (K per query head) -> (n, n_pos, n_pos)."""
    pos = np.asarray(W_pos, np.float64)
    q = pos @ np.asarray(W_Q, np.float64)  # (n, n_pos, d_head)
    k = pos @ np.asarray(W_K, np.float64)  # (n, n_pos, d_head)
    scores = scale * (q @ np.swapaxes(k, 1, 2))  # (n, n_pos query, n_pos key)
    if causal:
        n_pos = len(pos)
        scores = np.where(np.tri(n_pos, dtype=bool), scores, -np.inf)
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    return weights / weights.sum(axis=-1, keepdims=True)


def previous_token_score(pattern: np.ndarray) -> np.ndarray:
    """Mean weight position i puts on i - 1, over i >= 1: (n, n_pos, n_pos) -> (n,) in [0, 1]."""
    return np.diagonal(pattern, offset=-1, axis1=1, axis2=2).mean(axis=-1)


def self_score(pattern: np.ndarray) -> np.ndarray:
    """Mean weight a position puts on itself, over positions i >= 1 (position 0 has no choice when causal)."""
    return np.diagonal(pattern, axis1=1, axis2=2)[:, 1:].mean(axis=-1)


def ov_token_factors(W_E: np.ndarray, W_U: np.ndarray, W_V: np.ndarray, W_O: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """OV_full = A @ B.T with A = W_E W_V (d_vocab, d_head) and B = (W_O W_U).T (d_vocab, d_head), for one head."""
    A = np.asarray(W_E, np.float32) @ np.asarray(W_V, np.float32)  # (d_vocab, d_head)
    B = (np.asarray(W_O, np.float32) @ np.asarray(W_U, np.float32)).T  # (d_vocab, d_head)
    return A, B


def top_copied(A: np.ndarray, B: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(ids, values) of the k largest diagonal entries of A @ B.T, the logit a token adds to itself when the head
    attends to it: O(d_vocab d_head), the d_vocab x d_vocab matrix is never formed."""
    diag = np.einsum("td,td->t", A, B)  # (d_vocab,)
    ids = np.argsort(diag)[::-1][:k]
    return ids, diag[ids]


def top_mapping(A: np.ndarray, B: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, float]:
    """The strongest direction of A @ B.T (its top singular pair, from the thin factors): (the k tokens it reads
    most, the k tokens it writes most, the singular value). Signs are fixed so reading the first token raises the
    second. A = Q_a R_a with R_a = sqrt(A^T A) from its eigendecomposition (a BLAS Gram: ~15x numpy's QR of a
    (d_vocab, d_head) matrix), likewise B, and the top pair of the small R_a R_b^T lifts back through Q_a, Q_b."""
    qa, ra = _thin_q_r(A)  # (d_vocab, r_a), (r_a, d_head)
    qb, rb = _thin_q_r(B)
    u, s, vt = np.linalg.svd(ra @ rb.T)
    read, write = qa @ u[:, 0], qb @ vt[0]  # (d_vocab,) each; A @ B.T ~ s0 * outer(read, write)
    flip = np.sign(read[np.argmax(np.abs(read))]) or 1.0
    read, write = read * flip, write * flip
    return np.argsort(read)[::-1][:k], np.argsort(write)[::-1][:k], float(s[0])


def _thin_q_r(A: np.ndarray, rel_tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """A (m, k) = Q @ R with Q (m, r) orthonormal columns, R (r, k), r the numerical rank, via eigh of A^T A."""
    A = np.asarray(A, np.float64)
    e, v = np.linalg.eigh(A.T @ A)  # (k,), (k, k)
    keep = e > rel_tol * max(e.max(), np.finfo(float).tiny)
    root = np.sqrt(e[keep])
    return (A @ v[:, keep]) / root, root[:, None] * v[:, keep].T
