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


def summarize(tensors: Iterable[TensorRecord]) -> ArchitectureSummary:
    """Totals over a model's tensor list (see adapters.Model.tensors)."""
    stored = unique = nbytes = buffers = 0
    by_category: dict[str, int] = defaultdict(int)
    by_layer: dict[tuple[int, str], int] = defaultdict(int)
    dtypes: dict[str, int] = defaultdict(int)
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
        nbytes += t.nbytes
        by_category[t.category] += t.params
        dtypes[t.dtype] += t.params
        if t.layer is not None:
            by_layer[(t.layer, t.category)] += t.params
    layers = [{"layer": l, "category": c, "params": p} for (l, c), p in sorted(by_layer.items())]
    return ArchitectureSummary(stored, unique, nbytes, dict(by_category), layers, tied, buffers, dict(dtypes))
