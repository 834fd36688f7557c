"""How two checkpoints differ, tensor by tensor: size of the change, direction, and its rank.

A fine-tune that changed a matrix by a low-rank update (LoRA merged in, or a few directions
learned) shows a delta whose energy sits in a handful of singular values. The rank is that of the
matrix the layer applies ([d_model, n_heads * d_head] for Q/K/V), which the caller passes as 2-D:
any other reshape of a per-head tensor mixes heads into rows and reports a rank near n_heads.
A tensor with NaN or Inf on either side is not measured: its diff says which side holds what instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyses import spectral
from analyses.finite import nonfinite

ENERGY = 0.99  # rank_99: the directions holding this share of the change's energy


@dataclass
class TensorDiff:
    name: str
    shape: tuple[int, ...]  # as the schema holds it
    rel_change: float | None  # ||B - A||_F / ||A||_F; None (as every metric) when `nonfinite` is set
    cosine: float | None  # cosine similarity of the flattened tensors
    max_abs: float | None  # largest absolute element-wise change
    delta_effective_rank: float | None  # entropy effective rank of B - A as applied (2-D only; None if no change)
    delta_top1_energy: float | None  # share of ||B - A||_F^2 in its largest singular value (2-D only)
    rank_99: int | None = None  # directions holding 99% of ||B - A||_F^2 (2-D only; 0 for no change)
    nonfinite: str | None = None  # 'A holds 3 NaN (first at row 0, col 7)': why nothing was measured
    head: int | None = None  # the head of a per-head slot this row is about; None for the whole tensor
    matrix_shape: tuple[int, ...] | None = None  # the applied matrix the rank was taken on, e.g. (768, 768)

    @property
    def measured(self) -> bool:
        return self.nonfinite is None


def nonfinite_sides(a: np.ndarray, b: np.ndarray) -> str | None:
    """'A holds 3 NaN (first at ...); B holds 1 Inf (...)' for the sides with NaN or Inf; None when both are finite.

    One NaN or Inf makes every norm, the cosine and the SVD of the change NaN or Inf, so such a tensor is
    named rather than measured."""
    sides = [f"{side} holds {bad.words()}" for side, bad in (("A", nonfinite(a)), ("B", nonfinite(b))) if bad]
    return "; ".join(sides) or None


BLOCK_ELEMS = 1 << 21  # float64 values of one block of rows: 16 MB, so a 50k x 768 embedding is never copied whole


class NonFiniteBlock(ValueError):
    """A block handed to `diff_blocks` holds NaN or Inf: compare the whole arrays to say where."""


def tensor_diff(name: str, a: np.ndarray, b: np.ndarray, head: int | None = None) -> TensorDiff:
    """Compare two same-shaped arrays (float64 accumulation). 2-D arrays also get the rank of B - A, so pass
    a matrix as the layer applies it. Unmeasured if either side holds NaN or Inf.

    Streamed over blocks in float64 (`diff_blocks`), so memory stays at one block beside the two arrays."""
    if a.shape != b.shape:
        raise ValueError(f"{name}: shapes differ {a.shape} vs {b.shape}")
    bad = nonfinite_sides(a, b)
    if bad:
        return TensorDiff(name, tuple(a.shape), None, None, None, None, None, None, bad, head,
                          tuple(a.shape) if a.ndim == 2 else None)
    if a.ndim != 2:  # a vector (or a scalar): no rank; small, so subtracted whole
        a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
        norm_a, norm_b, norm_d = (float(np.linalg.norm(v)) for v in (a64, b64, b64 - a64))
        return TensorDiff(name, tuple(a.shape), _relative(norm_d, norm_a), _cosine(a64 @ b64, norm_a, norm_b),
                          float(np.max(np.abs(b64 - a64), initial=0.0)), None, None, None, None, head)
    rows, cols = a.shape
    if rows >= cols:
        blocks = ((a[lo:lo + k], b[lo:lo + k]) for k in [max(1, BLOCK_ELEMS // max(cols, 1))]
                  for lo in range(0, rows, k))
    else:  # the transpose's rows: the Gram on the smaller side, D D^T
        blocks = ((a[:, lo:lo + k].T, b[:, lo:lo + k].T) for k in [max(1, BLOCK_ELEMS // rows)]
                  for lo in range(0, cols, k))
    return diff_blocks(name, tuple(a.shape), blocks, head)


def diff_blocks(name: str, shape: tuple[int, ...], blocks, head: int | None = None) -> TensorDiff:
    """A matrix's TensorDiff from blocks (x, y) of A's and B's rows, each (k, m) with m the smaller side
    (a wide matrix gives blocks of its transpose's rows). The Gram of B - A is summed block by block in
    float64, so a reader can stream both tensors from disk. Raises NonFiniteBlock on NaN or Inf."""
    gram = None
    aa = bb = ab = 0.0
    max_abs = 0.0
    for x, y in blocks:
        x, y = np.asarray(x, dtype=np.float64), np.array(y, dtype=np.float64)  # (k, m); y becomes the change
        if not (np.isfinite(x).all() and np.isfinite(y).all()):
            raise NonFiniteBlock(name)
        gram = np.zeros((x.shape[1], x.shape[1])) if gram is None else gram
        aa, bb, ab = aa + np.vdot(x, x), bb + np.vdot(y, y), ab + np.vdot(x, y)
        y -= x
        max_abs = max(max_abs, float(np.abs(y).max(initial=0.0)))
        gram += y.T @ y
    norm_a, norm_b = np.sqrt(aa), np.sqrt(bb)
    norm_d = np.sqrt(max(float(np.trace(gram)), 0.0)) if gram is not None else 0.0  # ||D||_F^2 = trace(D^T D)
    eff = top1 = None
    rank = 0
    if norm_d > 0:
        s = _from_gram(gram)
        eff, top1, rank = effective_rank(s), float(s[0] ** 2 / np.sum(s ** 2)), rank_at(s)
    return TensorDiff(name, tuple(shape), _relative(norm_d, norm_a), _cosine(ab, norm_a, norm_b), max_abs, eff,
                      top1, rank, None, head, tuple(shape))


def _relative(norm_d: float, norm_a: float) -> float:
    return float(norm_d / norm_a) if norm_a > 0 else (0.0 if norm_d == 0 else float("inf"))


def _cosine(ab: float, norm_a: float, norm_b: float) -> float:
    return float(ab / (norm_a * norm_b)) if norm_a > 0 and norm_b > 0 else float("nan")


def _from_gram(gram: np.ndarray) -> np.ndarray:
    """Singular values (descending) of the matrix whose Gram this is, rounding noise zeroed as in singular_values."""
    n = gram.shape[0]
    s = np.sqrt(spectral.symmetric_eigenvalues(gram).clip(0.0))[::-1]
    s[s < s[0] * np.sqrt(n * np.finfo(np.float64).eps)] = 0.0
    return s


def singular_values(m: np.ndarray) -> np.ndarray:
    """Singular values, descending (analyses.spectral's Gram route, float64), rounding noise zeroed."""
    s = spectral.singular_values(m, precise=True).copy()
    # Eigenvalues of the Gram matrix carry an absolute error near eps * s_max^2, so singular
    # values below s_max * sqrt(n * eps) are rounding noise, not directions of the change.
    s[s < s[0] * np.sqrt(min(m.shape) * np.finfo(np.float64).eps)] = 0.0
    return s


def rank_at(s: np.ndarray, energy: float = ENERGY) -> int:
    """The fewest leading singular values (descending) that hold `energy` of sum(s^2); 0 for no change.

    Example: rank_at(np.array([3., 2., 0., 0.])) -> 2 (a rank-2 update)."""
    e = np.asarray(s, dtype=np.float64) ** 2
    total = e.sum()
    if total <= 0:
        return 0
    # a relative tolerance: a share of exactly 0.99 summed in float64 may land a hair below it
    return int(np.searchsorted(np.cumsum(e) / total, energy - 1e-12) + 1)


def effective_rank(s: np.ndarray) -> float:
    """exp(entropy) of the normalised singular values (Roy & Vetterli, 2007); see analyses.spectral."""
    return spectral.effective_rank(np.asarray(s, dtype=np.float64) ** 2)


def factor_singular_values(b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Singular values of the product b @ a ([m, r] @ [r, n]) through its factors, descending, in float64.

    With b = Q_b R_b and a^T = Q_a R_a (thin QR), b @ a = Q_b (R_b R_a^T) Q_a^T, so its singular values are
    those of the r x r core: no m x n matrix is formed (a LoRA update of a 4096 x 4096 weight costs r^3)."""
    qb_r = np.linalg.qr(np.asarray(b, dtype=np.float64), mode="r")
    qa_r = np.linalg.qr(np.asarray(a, dtype=np.float64).T, mode="r")
    s = np.linalg.svd(qb_r @ qa_r.T, compute_uv=False)
    return np.sort(s)[::-1]
