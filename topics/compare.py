"""How two checkpoints differ, tensor by tensor: the size of each change, its direction and its rank.

    result = compute(model_a, model_b)     # every tensor both hold with the same shape
    print(reading(result, "base", "fine-tune"))
    one = change(model_a, model_b, result.diffs[0].name)    # B - A of one tensor and its singular values

A tensor holding NaN or Inf on either side is listed (`result.unmeasured()`) instead of measured, and
its change's SVD is skipped with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters.views import shared_names, tensor
from analyses import compare
from analyses.compare import TensorDiff
from topics.executor import Progress, quiet
from topics.skipped import Skipped, words

LOW_RANK = 0.5  # a change with more than this share of its energy in one direction is called low-rank


@dataclass
class Comparison:
    diffs: list[TensorDiff]  # one per shared tensor: schema names when both models share a family, else 'raw:' names

    def measured(self) -> list[TensorDiff]:
        return [d for d in self.diffs if d.measured]

    def unmeasured(self) -> list[Skipped]:
        """The tensors with NaN or Inf on a side, and which side holds what."""
        return [Skipped(d.name, d.nonfinite) for d in self.diffs if not d.measured]


def compute(model_a, model_b, progress: Progress = quiet) -> Comparison:
    """Every tensor A and B both hold with the same shape, compared (float64 norms)."""
    names = shared_names(model_a, model_b)
    diffs = []
    for i, name in enumerate(names):
        diffs.append(compare.tensor_diff(name, tensor(model_a, name), tensor(model_b, name)))
        progress((i + 1) / len(names), f"Comparing {name}")
    return Comparison(diffs)


def reading(result: Comparison, label_a: str = "A", label_b: str = "B") -> str:
    """How many tensors changed, the median and the largest change, and how many changed in one direction."""
    if not result.diffs:
        return "The two checkpoints share no tensor of the same name and shape, so there is nothing to compare."
    warning = words(result.unmeasured(), "tensor", "not compared (NaN or Inf)")
    warning = warning + " " if warning else ""
    diffs = result.measured()
    if not diffs:
        return warning + "No other shared tensor is left to compare."
    changed = [d for d in diffs if d.rel_change > 0]
    if not changed:
        return warning + f"**{label_a}** and **{label_b}** are identical in all {len(diffs)} shared tensors."
    top = max(changed, key=lambda d: d.rel_change)
    median = float(np.median([d.rel_change for d in diffs]))
    text = warning + (f"{len(changed)} of {len(diffs)} shared tensors differ. The median relative change is "
            f"**{median:.2%}**; the largest is `{top.name}` at **{top.rel_change:.2%}** "
            f"(cosine {top.cosine:.3f}).")
    low_rank = [d for d in changed if d.delta_top1_energy is not None and d.delta_top1_energy > LOW_RANK]
    if low_rank:
        text += (f" In {len(low_rank)} matrices more than half of the change lies in a single direction "
                 "(a low-rank update).")
    return text


@dataclass
class Change:
    delta: np.ndarray  # B - A, float64, the tensor's shape
    singular_values: np.ndarray | None  # of B - A as (rows, everything else), descending; None if not a matrix or zero
    skipped: str | None = None  # why the SVD was not taken: 'A holds 3 NaN (first at row 0, col 7)'


def change(model_a, model_b, name: str) -> Change:
    """One shared tensor's change (a name of `compute`'s diffs); no SVD when a side holds NaN or Inf."""
    a, b = tensor(model_a, name), tensor(model_b, name)
    with np.errstate(invalid="ignore", over="ignore"):  # Inf - Inf: the NaN the histogram leaves out
        delta = b.astype(np.float64) - a
    bad = compare.nonfinite_sides(a, b)
    matrix = delta.ndim >= 2 and bool(np.any(delta)) and bad is None
    return Change(delta, compare.singular_values(delta.reshape(delta.shape[0], -1)) if matrix else None, bad)
