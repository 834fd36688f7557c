"""Architecture: what the checkpoint holds and where its parameters go."""
from __future__ import annotations

from dataclasses import dataclass

from adapters import TensorInfo
from adapters.schema import CATEGORIES
from adapters.units import human_count
from analyses.architecture import ArchitectureSummary, summarize


@dataclass
class Architecture:
    summary: ArchitectureSummary
    tensors: list[TensorInfo]  # every stored tensor, then tied aliases (tied_to set)
    n_layers: int | None
    unmapped: list[str]  # raw names outside the schema, sorted into categories by name


def compute(model) -> Architecture:
    tensors = model.tensors()
    return Architecture(summarize(tensors), tensors, model.cfg.n_layers, list(model.unmapped))


def reading(result: Architecture) -> str:
    s = result.summary
    largest = max(s.by_category, key=s.by_category.get, default=None)
    text = f"**{s.params_unique:,}** unique parameters ({human_count(s.params_unique)})"
    text += f" in {result.n_layers} layers" if result.n_layers else ""
    text += f", **{s.params_stored:,}** as stored in the state dict."
    if largest is not None:
        text += (f" The largest share, **{s.by_category[largest] / max(s.params_unique, 1):.0%}**, sits in the "
                 f"{CATEGORIES[largest]} tensors.")
    if s.tied:
        text += " " + "; ".join(f"`{a}` is tied to `{t}` (shown once, counted once in 'unique')"
                                for a, t in s.tied) + "."
    if s.buffers:
        text += f" {s.buffers:,} values in buffers (masks, position ids) are not counted as parameters."
    if result.unmapped:
        shown = ", ".join(f"`{n}`" for n in result.unmapped[:10]) + ("…" if len(result.unmapped) > 10 else "")
        text += f" {len(result.unmapped)} tensors are outside the schema and were sorted by name: {shown}."
    return text
