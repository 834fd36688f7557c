"""T5's relative position bias: which bucket each signed distance falls in, and the bias each head adds for it.

T5 adds W_rel[bucket(key - query), head] to every attention score. Half the buckets hold exact distances
(0, 1, 2, ...), the other half logarithmically wider ranges up to max_distance, beyond which all distances share
the last bucket. An encoder's buckets are bidirectional (half for keys after the query, half for keys before);
a decoder's are causal (keys after the query are masked, so only distances <= 0 have buckets).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def bucket(distance: np.ndarray, bidirectional: bool, n_buckets: int, max_distance: int) -> np.ndarray:
    """T5's bucket of each signed distance key - query (an int array of the same shape).

    bucket(np.arange(-3, 4), True, 32, 128) -> [3, 2, 1, 0, 17, 18, 19]
    """
    distance = np.asarray(distance, dtype=np.int64)
    out = np.zeros_like(distance)
    if bidirectional:
        n_buckets //= 2
        out += (distance > 0) * n_buckets  # keys after the query: the upper half
        distance = np.abs(distance)
    else:
        distance = -np.minimum(distance, 0)  # only keys at or before the query
    exact = n_buckets // 2
    # in float32 as T5 computes it, so a distance on a bucket edge rounds the same way; distance 0 takes the
    # exact branch, so its log is never used
    ratio = (np.maximum(distance, 1) / np.float32(exact)).astype(np.float32)
    log_ratio = np.log(ratio) / np.float32(np.log(max_distance / exact))
    large = exact + (log_ratio * np.float32(n_buckets - exact)).astype(np.int64)  # truncated, as T5 does
    return out + np.where(distance < exact, distance, np.minimum(large, n_buckets - 1))


@dataclass
class BiasByDistance:
    """One stack's (or layer's) relative position bias, read per head over signed distances."""
    w_rel: np.ndarray  # (n_buckets, n_heads), as stored
    distances: np.ndarray  # (n_distances,) signed key - query, ascending
    bias: np.ndarray  # (n_distances, n_heads): what each head adds to a score at that distance
    bidirectional: bool
    max_distance: int


def bias_by_distance(w_rel: np.ndarray, bidirectional: bool, max_distance: int,
                     reach: int | None = None) -> BiasByDistance:
    """The bias each head adds at every signed distance within `reach` (default: twice max_distance, so the
    flat tail past max_distance shows). A causal stack's distances run from -reach to 0."""
    reach = reach or 2 * max_distance
    distances = np.arange(-reach, reach + 1 if bidirectional else 1)
    buckets = bucket(distances, bidirectional, w_rel.shape[0], max_distance)
    return BiasByDistance(w_rel, distances, w_rel[buckets], bidirectional, max_distance)


@dataclass
class HeadPreference:
    """Where one head's bias is highest, and how strongly it prefers near over far keys."""
    head: int
    peak_distance: int  # the signed distance with the highest bias (the nearest one on ties)
    near_minus_far: float  # mean bias within |distance| <= 2, minus the mean at the farthest distances
    forward_minus_backward: float  # mean bias at distance > 0 minus at distance < 0 (NaN for a causal stack)


def head_preferences(b: BiasByDistance, near: int = 2) -> list[HeadPreference]:
    """Each head's preferred distance and direction, from its bias over signed distance."""
    d = b.distances
    near_rows, far_rows = np.abs(d) <= near, np.abs(d) >= b.max_distance
    out = []
    for h in range(b.bias.shape[1]):
        col = b.bias[:, h]  # (n_distances,)
        best = np.flatnonzero(col == col.max())
        peak = int(d[best[np.argmin(np.abs(d[best]))]])
        far = col[far_rows].mean() if far_rows.any() else np.nan
        direction = col[d > 0].mean() - col[d < 0].mean() if b.bidirectional else np.nan
        out.append(HeadPreference(h, peak, float(col[near_rows].mean() - far), float(direction)))
    return out
