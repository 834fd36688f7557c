"""Architecture: what the checkpoint holds and where its parameters go."""
from __future__ import annotations

from dataclasses import dataclass

from adapters import TensorInfo
from adapters.schema import CATEGORIES
from adapters.units import human_bytes, human_count
from analyses.architecture import ArchitectureSummary, summarize


@dataclass
class Architecture:
    summary: ArchitectureSummary
    tensors: list[TensorInfo]  # every stored tensor, then tied aliases (tied_to set)
    n_layers: int | None
    unmapped: list[str]  # raw names outside the schema, sorted into categories by name
    n_experts: int | None = None  # a mixture of experts: routed experts per MoE layer
    n_experts_per_token: int | None = None
    n_shared_experts: int = 0
    moe_layers: int = 0  # how many layers have experts

    @property
    def params_active(self) -> int:
        """Parameters one token uses (all of them unless the model routes tokens to experts)."""
        return self.summary.active(self.n_experts, self.n_experts_per_token)


def compute(model) -> Architecture:
    tensors = model.tensors()
    c = model.cfg
    return Architecture(summarize(tensors), tensors, c.n_layers, list(model.unmapped), c.n_experts,
                        c.n_experts_per_token, c.n_shared_experts, len(model.layers("mlp.W_router")))


def reading(result: Architecture) -> str:
    s = result.summary
    largest = max(s.by_category, key=s.by_category.get, default=None)
    text = f"**{s.params_unique:,}** unique parameters ({human_count(s.params_unique)})"
    text += f" in {result.n_layers} layers" if result.n_layers else ""
    text += f", **{s.params_stored:,}** as stored in the state dict."
    if largest is not None:
        text += (f" The largest share, **{s.by_category[largest] / max(s.params_unique, 1):.0%}**, sits in the "
                 f"{CATEGORIES[largest]} tensors.")
    if s.routed and result.n_experts:
        k = result.n_experts_per_token
        text += (f" A mixture of experts: {result.moe_layers} layers route each token to "
                 f"{k if k else 'an unknown number'} of {result.n_experts} experts"
                 + (f" (plus {result.n_shared_experts} shared expert{'s' * (result.n_shared_experts > 1)} every "
                    "token uses)" if result.n_shared_experts else "") + ". ")
        text += (f"**{result.params_active:,}** parameters ({human_count(result.params_active)}, "
                 f"{result.params_active / max(s.params_unique, 1):.0%}) are active per token; the routed experts "
                 f"hold {human_count(s.routed)}. (As model cards count it, the embeddings count whole.)"
                 if k else " The checkpoint does not say how many experts a token uses, so active parameters "
                           "are not given.")
    if s.tied:
        text += " " + "; ".join(f"`{a}` is tied to `{t}` (shown once, counted once in 'unique')"
                                for a, t in s.tied) + "."
    text += " " + storage_reading(s)
    if s.buffers:
        text += f" {s.buffers:,} values in buffers (masks, position ids) are not counted as parameters."
    if result.unmapped:
        shown = ", ".join(f"`{n}`" for n in result.unmapped[:10]) + ("…" if len(result.unmapped) > 10 else "")
        text += f" {len(result.unmapped)} tensors are outside the schema and were sorted by name: {shown}."
    return text


def storage_rows(summary: ArchitectureSummary) -> list[dict]:
    """One JSON-ready row per stored type: parameters, bytes on disk (scales included), bits a weight, tensors."""
    return [{"stored": kind, "params": v["params"], "bytes": v["bytes"], "tensors": v["tensors"],
             "bits_per_weight": round(8 * v["bytes"] / v["params"], 4) if v["params"] else None}
            for kind, v in summary.by_storage.items()]


def storage_reading(summary: ArchitectureSummary) -> str:
    """What the parameters take on disk, by stored type: 'On disk: 1.2 GB, F8_E4M3 for 93% of the parameters at
    8.03 bits a weight (its scales included), F32 for 7% at 32.'"""
    rows = [r for r in storage_rows(summary) if r["params"]]
    if not rows:
        return ""
    if len(rows) == 1:
        only = rows[0]
        return f"On disk: {human_bytes(summary.bytes)}, all {only['stored']} ({only['bits_per_weight']:.4g} bits a weight)."
    total = max(summary.params_unique, 1)
    parts = [f"{r['stored']} for {r['params'] / total:.0%} of the parameters at {r['bits_per_weight']:.4g} bits a "
             "weight" for r in rows]
    return f"On disk: {human_bytes(summary.bytes)}, " + ", ".join(parts) + " (scales included)."
