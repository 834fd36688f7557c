"""Parameter budget: totals, by category, by layer; tied tensors counted once in 'unique'."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable, Protocol


class TensorRecord(Protocol):
    name: str
    shape: tuple[int, ...]
    dtype: str
    params: int
    nbytes: int
    category: str
    layer: int | None
    tied_to: str | None
    routed: bool
    stored: str  # the stored type ('BF16', 'F8_E4M3', 'MXFP4', 'Q4_K'); nbytes is its real size on disk


@dataclass
class ArchitectureSummary:
    params_stored: int  # every parameter tensor of the state dict, tied aliases included
    params_unique: int  # each stored array once
    bytes: int  # on disk, in each tensor's real dtype, tied aliases once
    by_category: dict[str, int]  # unique parameters per category
    by_layer: list[dict] = field(default_factory=list)  # {layer, category, params} per layer and category
    tied: list[tuple[str, str]] = field(default_factory=list)  # (alias, stored tensor)
    buffers: int = 0  # non-parameter tensors (masks, position ids), not in either count
    dtypes: dict[str, int] = field(default_factory=dict)  # unique parameters per dtype
    routed: int = 0  # unique parameters in a mixture of experts' routed experts
    # per stored type: {"params", "bytes" (on disk, scales included), "tensors"}, largest first
    by_storage: dict[str, dict[str, int]] = field(default_factory=dict)

    def active(self, n_experts: int | None, per_token: int | None) -> int:
        """Parameters one token uses: the routed experts count n_experts_per_token / n_experts of theirs. As
        model cards count it (Mixtral's 12.9B of 46.7B), the embedding counts whole, not one row."""
        if not self.routed or not n_experts or not per_token:
            return self.params_unique
        return self.params_unique - self.routed + round(self.routed * per_token / n_experts)


def summarize(tensors: Iterable[TensorRecord]) -> ArchitectureSummary:
    """Totals over a model's tensor list (see adapters.Model.tensors)."""
    stored = unique = nbytes = buffers = routed = 0
    by_category: dict[str, int] = defaultdict(int)
    by_layer: dict[tuple[int, str], int] = defaultdict(int)
    dtypes: dict[str, int] = defaultdict(int)
    storage: dict[str, dict[str, int]] = defaultdict(lambda: {"params": 0, "bytes": 0, "tensors": 0})
    tied = []
    for t in tensors:
        if t.category == "buffer":
            buffers += t.params
            continue
        stored += t.params
        if t.tied_to:
            tied.append((t.name, t.tied_to))
            continue
        unique += t.params
        routed += t.params if t.routed else 0
        nbytes += t.nbytes
        by_category[t.category] += t.params
        dtypes[t.dtype] += t.params
        kind = storage[t.stored or t.dtype]
        kind["params"] += t.params
        kind["bytes"] += t.nbytes
        kind["tensors"] += 1
        if t.layer is not None:
            by_layer[(t.layer, t.category)] += t.params
    layers = [{"layer": l, "category": c, "params": p} for (l, c), p in sorted(by_layer.items())]
    by_storage = dict(sorted(storage.items(), key=lambda kv: -kv[1]["bytes"]))
    return ArchitectureSummary(stored, unique, nbytes, dict(by_category), layers, tied, buffers, dict(dtypes),
                               routed, by_storage)
