"""One layer's attention weights in the per-head schema, and which key/value head each query head reads.

A module of its own, numpy only: the report's spectral worker needs the kv index but none of the
scipy clustering and statistics that analyses.heads imports (~45 MB and a few tenths of a second).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class LayerWeights:
    """One layer's attention weights in the schema's shapes."""
    W_Q: np.ndarray  # (n_heads, d_model, d_head)
    W_K: np.ndarray  # (n_kv_heads, d_model, d_head)
    W_V: np.ndarray  # (n_kv_heads, d_model, d_head)
    W_O: np.ndarray  # (n_heads, d_head, d_model)

    @property
    def n_heads(self) -> int:
        return self.W_Q.shape[0]

    def kv(self) -> np.ndarray:
        """(n_heads,) the key/value head each query head reads."""
        return kv_index(self.W_Q.shape[0], self.W_K.shape[0])


def kv_index(n_heads: int, n_kv_heads: int) -> np.ndarray:
    """Grouped-query attention: head h uses kv head h // (n_heads // n_kv_heads); MHA is the identity."""
    if n_heads % n_kv_heads:
        raise ValueError(f"n_heads={n_heads} is not a multiple of n_kv_heads={n_kv_heads}")
    return np.arange(n_heads) // (n_heads // n_kv_heads)
