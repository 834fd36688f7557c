"""Non-finite and degenerate values in a weight array: how many NaN and Inf, where the first one is,
and whether a matrix is all zero or constant; the shared checks every analysis makes first.

    bad = nonfinite(w)          # None when every value is finite
    bad.words()                 # '5 NaN (first at row 0, col 7)'
    degenerate(w)               # 'all zero', 'constant (every value 0.5)' or None
    finite(w)                   # the finite values, flat (w itself, unflattened copy-free, when all are finite)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_AXES = {2: ("row", "col"), 3: ("head", "row", "col")}  # names of a matrix's axes, and a per-head stack's


@dataclass(frozen=True)
class NonFinite:
    """The non-finite values of one array."""
    nan: int
    inf: int  # +Inf and -Inf together
    first: tuple[int, ...]  # index of the first one in C order

    def where(self) -> str:
        """'row 0, col 7' for a matrix, 'head 2, row 0, col 7' for a per-head stack, 'index 5' otherwise."""
        if len(self.first) in _AXES:
            return ", ".join(f"{axis} {i}" for axis, i in zip(_AXES[len(self.first)], self.first))
        return f"index {self.first[0]}" if len(self.first) == 1 else f"index {self.first}"

    def words(self) -> str:
        """'5 NaN and 2 Inf (first at row 0, col 7)'."""
        counts = [f"{n:,} {kind}" for n, kind in ((self.nan, "NaN"), (self.inf, "Inf")) if n]
        return f"{' and '.join(counts)} (first at {self.where()})"


def nonfinite(values: np.ndarray) -> NonFinite | None:
    """The NaN and Inf counts of `values` and where the first one is; None when every value is finite.

    One reduction decides the common all-finite case (a NaN or Inf makes the float64 sum non-finite;
    float32 values cannot overflow it), so a healthy matrix costs one pass.
    """
    x = np.asarray(values)
    if x.dtype.kind != "f" or x.size == 0:
        return None
    with np.errstate(invalid="ignore", over="ignore"):
        if np.isfinite(np.add.reduce(x, axis=None, dtype=np.float64)):
            return None
    bad = ~np.isfinite(x)
    if not bad.any():  # only float64 input near its limit overflows the sum
        return None
    n_nan = int(np.count_nonzero(np.isnan(x)))
    first = np.unravel_index(int(np.argmax(bad)), x.shape)
    return NonFinite(n_nan, int(np.count_nonzero(bad)) - n_nan, tuple(int(i) for i in first))


def merge(parts: list[tuple[int, NonFinite | None]], shape: tuple[int, ...]) -> NonFinite | None:
    """One NonFinite from those of consecutive flat chunks, each given with its offset in the tensor."""
    found = [(offset, p) for offset, p in parts if p is not None]
    if not found:
        return None
    offset, head = found[0]
    first = np.unravel_index(offset + head.first[0], shape) if shape else ()
    return NonFinite(sum(p.nan for _, p in found), sum(p.inf for _, p in found), tuple(int(i) for i in first))


def finite(values: np.ndarray) -> np.ndarray:
    """The finite values of `values`, flattened (a view when all are finite)."""
    x = np.asarray(values).reshape(-1)
    return x if nonfinite(x) is None else x[np.isfinite(x)]


def degenerate(values: np.ndarray) -> str | None:
    """'empty', 'all zero' or 'constant (every value 0.5)' for an array with no spread; None otherwise."""
    x = np.asarray(values)
    if x.size == 0:
        return "empty (no values)"
    lo, hi = x.min(), x.max()
    if lo != hi:
        return None
    return "all zero" if lo == 0 else f"constant (every value {float(lo):.4g})"


def skip_reason(values: np.ndarray) -> str | None:
    """Why a decomposition (eigenvalues, SVD, PCA) of `values` is skipped: its NaN or Inf values; None when it can run.

    A decomposition mixes every entry into every eigenvalue, so one NaN or Inf leaves nothing meaningful
    to compute on the remaining values: the matrix is skipped, never patched.
    """
    bad = nonfinite(values)
    return f"holds {bad.words()}" if bad else None
