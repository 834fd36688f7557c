"""Products of thin factors, A_i @ B_i.T for stacks A, B of shape (n, D, k) with k << D, never formed.

An attention head's circuits are such products (QK = W_Q W_K^T, OV = W_V W_O, with D = d_model and
k = d_head), so their norms and spectra cost O(n D k^2) instead of O(n D^2 k) for the product and
O(n D^3) for its SVD:
- ||A B^T||_F^2 = trace((A^T A)(B^T B)), from the two k x k Gram matrices;
- with A = Q_a R_a and B = Q_b R_b (QR), A B^T = Q_a (R_a R_b^T) Q_b^T, and Q_a, Q_b have orthonormal
  columns, so the k non-zero singular values of the D x D product are those of the k x k R_a R_b^T.

    s = thin_product_singular_values(W_Q, W_K[kv])   # (n_heads, d_head), descending
"""
from __future__ import annotations

import numpy as np


def thin_product_norm(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """||A_i @ B_i.T||_F for stacks A, B (n, D, k), in float64.

    Example: thin_product_norm(np.ones((1, 3, 1)), np.ones((1, 3, 1))) -> array([3.])
    """
    A, B = np.asarray(A, dtype=np.float64), np.asarray(B, dtype=np.float64)
    gram_a = np.swapaxes(A, 1, 2) @ A  # (n, k, k); batched BLAS, ~20x np.einsum's loop
    gram_b = np.swapaxes(B, 1, 2) @ B  # (n, k, k)
    return np.sqrt(np.maximum((gram_a * gram_b).sum(axis=(1, 2)), 0.0))  # both Grams are symmetric


def thin_product_singular_values(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Singular values of A_i @ B_i.T for stacks A, B (n, D, k): (n, min(D, k)), descending, float64.

    Exact up to rounding: when D >= k the product has rank at most k, so nothing beyond these is non-zero.
    Example: thin_product_singular_values(2 * np.eye(3)[None, :, :1], np.eye(3)[None, :, :1]) -> array([[2.]])
    """
    r_a = np.linalg.qr(np.asarray(A, dtype=np.float64), mode="r")  # (n, min(D, k), k)
    r_b = np.linalg.qr(np.asarray(B, dtype=np.float64), mode="r")
    return np.linalg.svd(r_a @ np.swapaxes(r_b, 1, 2), compute_uv=False)  # (n, min(D, k))
