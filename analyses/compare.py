"""How two checkpoints differ, tensor by tensor: size of the change, direction, and its rank.

A fine-tune that changed a matrix by a low-rank update (LoRA merged in, or a few directions
learned) shows a delta whose energy sits in a handful of singular values.
A tensor with NaN or Inf on either side is not measured: its diff says which side holds what instead.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyses import spectral
from analyses.finite import nonfinite


@dataclass
class TensorDiff:
    name: str
    shape: tuple[int, ...]
    rel_change: float | None  # ||B - A||_F / ||A||_F; None (as every metric) when `nonfinite` is set
    cosine: float | None  # cosine similarity of the flattened tensors
    max_abs: float | None  # largest absolute element-wise change
    delta_effective_rank: float | None  # entropy effective rank of B - A (2-D only)
    delta_top1_energy: float | None  # share of ||B - A||_F^2 in its largest singular value (2-D only)
    nonfinite: str | None = None  # 'A holds 3 NaN (first at row 0, col 7)': why nothing was measured

    @property
    def measured(self) -> bool:
        return self.nonfinite is None


def nonfinite_sides(a: np.ndarray, b: np.ndarray) -> str | None:
    """'A holds 3 NaN (first at ...); B holds 1 Inf (...)' for the sides with NaN or Inf; None when both are finite.

    One NaN or Inf makes every norm, the cosine and the SVD of the change NaN or Inf, so such a tensor is
    named rather than measured."""
    sides = [f"{side} holds {bad.words()}" for side, bad in (("A", nonfinite(a)), ("B", nonfinite(b))) if bad]
    return "; ".join(sides) or None


def tensor_diff(name: str, a: np.ndarray, b: np.ndarray) -> TensorDiff:
    """Compare two same-shaped tensors (float64 accumulation for the norms); unmeasured if either holds NaN or Inf."""
    if a.shape != b.shape:
        raise ValueError(f"{name}: shapes differ {a.shape} vs {b.shape}")
    bad = nonfinite_sides(a, b)
    if bad:
        return TensorDiff(name, tuple(a.shape), None, None, None, None, None, bad)
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    delta = b64 - a64
    norm_a, norm_b, norm_d = np.linalg.norm(a64), np.linalg.norm(b64), np.linalg.norm(delta)
    rel = float(norm_d / norm_a) if norm_a > 0 else (0.0 if norm_d == 0 else float("inf"))
    cos = float(a64 @ b64 / (norm_a * norm_b)) if norm_a > 0 and norm_b > 0 else float("nan")
    eff = top1 = None
    if a.ndim >= 2 and norm_d > 0:
        s = singular_values(delta.reshape(a.shape[0], -1))
        eff, top1 = effective_rank(s), float(s[0] ** 2 / np.sum(s ** 2))
    return TensorDiff(name, tuple(a.shape), rel, cos, float(np.max(np.abs(delta), initial=0.0)), eff, top1)


def singular_values(m: np.ndarray) -> np.ndarray:
    """Singular values, descending (analyses.spectral's Gram route, float64), rounding noise zeroed."""
    s = spectral.singular_values(m, precise=True).copy()
    # Eigenvalues of the Gram matrix carry an absolute error near eps * s_max^2, so singular
    # values below s_max * sqrt(n * eps) are rounding noise, not directions of the change.
    s[s < s[0] * np.sqrt(min(m.shape) * np.finfo(np.float64).eps)] = 0.0
    return s


def effective_rank(s: np.ndarray) -> float:
    """exp(entropy) of the normalised singular values (Roy & Vetterli, 2007); see analyses.spectral."""
    return spectral.effective_rank(np.asarray(s, dtype=np.float64) ** 2)

