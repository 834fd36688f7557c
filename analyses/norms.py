"""Norm gains (the elementwise scales of LayerNorm / RMSNorm): where they single out a few dimensions.

Trained transformers often grow a handful of residual dimensions whose norm gains stand far from the
rest in most layers (BERT's "outlier dimensions", Kovaleva et al. 2021; the massive activations of
LLMs, Sun et al. 2024). Such a dimension is found here from the weights alone: in each norm, a gain is
an outlier when its robust z-score |g - median| / (1.4826 * MAD) exceeds OUTLIER_Z; a dimension that is
an outlier in many norms is structure, not chance.

    z = robust_z(gains)                       # (n_norms, d_model)
    found = outlier_dimensions(gains)         # [OutlierDim(dim, count, max_z, ...)], most norms first
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

OUTLIER_Z = 6.0  # a normal gain exceeds 6 robust sigmas with probability ~2e-9
_MAD_TO_SIGMA = 1.482602218505602  # 1 / Phi^-1(3/4): MAD of a normal distribution * this = its standard deviation


@dataclass(frozen=True)
class OutlierDim:
    dim: int
    count: int  # norms in which this dimension's gain is an outlier
    max_z: float  # its largest robust z-score over those norms
    mean_gain: float  # its gain averaged over the norms (finite values)
    median_gain: float  # the typical dimension's gain, averaged over the norms


def signed_robust_z(gains: np.ndarray) -> np.ndarray:
    """(n, d) -> (n, d) (g - median(row)) / (1.4826 * MAD(row)), float64; NaN where g is not finite.

    A row whose MAD is 0 (most gains equal, as at initialisation) has z = 0 where g equals the median
    and +-inf elsewhere: any departure from a constant row is an outlier.
    """
    g = np.asarray(gains, dtype=np.float64)
    finite = np.isfinite(g)
    masked = np.where(finite, g, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a row with no finite gain has no median: NaN, said
        median = np.nanmedian(masked, axis=1, keepdims=True)  # (n, 1)
        dev = masked - median
        spread = _MAD_TO_SIGMA * np.nanmedian(np.abs(dev), axis=1, keepdims=True)
        z = np.where(spread > 0, dev / np.where(spread > 0, spread, 1.0), np.sign(dev) * np.where(dev != 0, np.inf, 0))
    return np.where(finite, z, np.nan)


def robust_z(gains: np.ndarray) -> np.ndarray:
    """|signed_robust_z(gains)|: how far each gain is from its norm's median, in robust standard deviations."""
    return np.abs(signed_robust_z(gains))


def outlier_dimensions(gains: np.ndarray, threshold: float = OUTLIER_Z, top: int = 10) -> list[OutlierDim]:
    """Dimensions whose gain is an outlier (robust z > threshold) in at least one norm, the most norms first
    (ties: the larger z), at most `top` of them."""
    g = np.asarray(gains, dtype=np.float64)
    if not np.isfinite(g).any():
        return []
    z = robust_z(g)
    flagged = np.nan_to_num(z, nan=0.0) > threshold  # (n, d)
    counts = flagged.sum(axis=0)  # (d,)
    peak = np.nanmax(np.where(flagged, z, -np.inf), axis=0)
    order = np.lexsort((-peak, -counts))  # by count, then by peak z, both descending
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no finite gain have no median
        typical = float(np.nanmean(np.nanmedian(np.where(np.isfinite(g), g, np.nan), axis=1)))
    out = []
    for dim in order[:top]:
        if counts[dim] == 0:
            break
        column = g[:, dim][np.isfinite(g[:, dim])]
        out.append(OutlierDim(int(dim), int(counts[dim]), float(peak[dim]),
                              float(column.mean()) if column.size else float("nan"), typical))
    return out
