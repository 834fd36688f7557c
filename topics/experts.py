"""Mixture of experts: every routed expert of every MoE layer compared, and the router's weight per expert.

    result = compute(model, slot="mlp.experts.W_in")   # metrics (n_moe_layers, n_experts), router norms
    print(reading(result))
    sim = similarity(model, layer=3, slot="mlp.experts.W_in")   # cosines between that layer's experts

Experts are read one at a time (`Model.weight(name, expert=e)`), so a layer whose experts do not fit in
memory together is still measured. Numerics are analyses.experts'.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from adapters import schema
from analyses.experts import METRICS, Similarity, matrix_metrics, off_diagonal, router_norms, similarity as _similarity
from topics.skipped import Skipped, check, words

__all__ = ["METRICS", "SLOTS", "Experts", "compute", "reading", "similarity", "similarity_reading", "slots"]

SLOTS = ("mlp.experts.W_in", "mlp.experts.W_gate", "mlp.experts.W_out")
SIMILARITY_BYTES = 512 * 2**20  # the rows of one layer's experts held at once to compare them
NOT_MOE = "This model has no mixture-of-experts layers: every token uses the same MLP."


def slots(model) -> list[str]:
    """The expert slots this model has, in schema order."""
    return [s for s in SLOTS if model.layers(s)]


@dataclass
class Experts:
    slot: str
    layers: list[int]  # the MoE layers, ascending
    n_experts: int
    n_experts_per_token: int | None
    n_shared_experts: int
    metrics: dict[str, np.ndarray]  # metric (analyses.experts.METRICS) -> (n_layers, n_experts)
    router_norms: np.ndarray | None  # (n_layers, n_experts); None without a router slot
    skipped: list[Skipped] = field(default_factory=list)  # experts with NaN/Inf: plain metrics on finite values


def compute(model, slot: str = "mlp.experts.W_in", spectral: bool = True, progress=lambda f, t: None) -> Experts:
    """METRICS of every expert of `slot` in every MoE layer (alpha and stable rank when `spectral`)."""
    layers = model.layers(slot)
    c = model.cfg
    n = model.n_experts(schema.name(slot, layers[0])) if layers else 0
    keys = [k for k in METRICS if spectral or k not in ("alpha", "stable_rank")]
    metrics = {k: np.full((len(layers), n), np.nan) for k in keys}
    skipped: list[Skipped] = []
    for i, layer in enumerate(layers):
        name = schema.name(slot, layer)
        for e in range(n):
            w = model.weight(name, expert=e)
            bad = check(schema.name(schema.expert_slot(slot, e), layer), w, layer, degenerate_too=False)
            if bad:
                skipped.append(bad)
            for k, v in matrix_metrics(w, spectral).items():
                metrics[k][i, e] = v
            progress((i * n + e + 1) / max(len(layers) * n, 1), f"layer {layer}, expert {e}")
    routers = [model.weight(schema.name("mlp.W_router", l)) for l in layers if model.has(schema.name("mlp.W_router", l))]
    norms = np.stack([router_norms(w) for w in routers]) if len(routers) == len(layers) and layers else None
    return Experts(slot, layers, n, c.n_experts_per_token, c.n_shared_experts, metrics, norms, skipped)


def _extreme(values: np.ndarray, layers: list[int]) -> tuple[int, int, float] | None:
    """(layer, expert, ratio to its layer's median) of the expert furthest from its layer's median, in log ratio."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = values / np.nanmedian(values, axis=1, keepdims=True)
        score = np.abs(np.log(ratio))  # an all-zero expert (ratio 0) scores inf: the most extreme of all
    score = np.where(np.isnan(score) | (score == np.inf) & (ratio != 0), np.nan, score)
    if np.isnan(score).all():
        return None
    i, e = np.unravel_index(np.nanargmax(score), score.shape)
    return layers[i], int(e), float(ratio[i, e])


def reading(result: Experts) -> str:
    if not result.layers:
        return NOT_MOE
    k = result.n_experts_per_token
    text = (f"**{len(result.layers)}** MoE layers of **{result.n_experts}** routed experts"
            + (f", **{k}** chosen per token" if k else "")
            + (f", plus {result.n_shared_experts} shared" if result.n_shared_experts else "") + ". ")
    text += words(result.skipped, "expert matrix", "hold non-finite values (their statistics use the finite "
                                                    "values; no spectrum)") + (" " if result.skipped else "")
    if result.router_norms is not None:
        found = _extreme(result.router_norms, result.layers)
        if found and abs(np.log(found[2])) > np.log(1.5):
            layer, e, ratio = found
            text += (f"Router: expert **{e}** of layer {layer} has a router column **{ratio:.2f}×** its layer's "
                     f"median norm, so it gets {'smaller' if ratio < 1 else 'larger'} logits on every input: a "
                     f"candidate {'rarely chosen (dead)' if ratio < 1 else 'over-used (hot)'} expert. ")
        elif found:
            text += "Router columns have similar norms in every layer (all within 1.5× of their layer's median). "
    std = result.metrics["std"]
    found = _extreme(std, result.layers)
    if found:
        layer, e, ratio = found
        text += (f"Weights: the std of `{result.slot}` departs most from its layer's median in expert **{e}** of "
                 f"layer {layer} ({ratio:.2f}×). ")
    alpha = result.metrics.get("alpha")
    if alpha is not None and np.isfinite(alpha).any():
        finite = alpha[np.isfinite(alpha)]
        high = int((finite > 6).sum())
        text += (f"Spectra: median alpha **{np.median(finite):.2f}**; {high} of {finite.size} expert matrices "
                 f"above 6 (under-trained by WeightWatcher's rule)" + ("." if high else ", none under-trained."))
    return text.strip()


def similarity(model, layer: int, slot: str = "mlp.experts.W_in") -> Similarity:
    """Cosines between one layer's experts (flattened `slot` matrices). Experts too large to hold together
    within SIMILARITY_BYTES are compared on evenly spaced input rows, and the result says how many."""
    name = schema.name(slot, layer)
    n = model.n_experts(name)
    first = model.weight(name, expert=0)
    rows, cols = first.shape
    keep = max(1, min(rows, SIMILARITY_BYTES // max(n * cols * 4, 1)))
    picked = np.linspace(0, rows - 1, keep).round().astype(int) if keep < rows else slice(None)
    flat = np.empty((n, keep * cols), np.float32)
    for e in range(n):
        w = first if e == 0 else model.weight(name, expert=e)
        flat[e] = np.nan_to_num(w[picked], nan=0.0, posinf=0.0, neginf=0.0).ravel()
    gram = flat.astype(np.float64) @ flat.T.astype(np.float64)
    return _similarity(gram, keep, rows)


def similarity_reading(sim: Similarity, layer: int, slot: str) -> str:
    pairs = off_diagonal(sim.cosine)
    if pairs.size == 0:
        return f"Layer {layer}'s experts cannot be compared (fewer than two with non-zero finite weights)."
    iu = np.triu_indices_from(sim.cosine, 1)
    values = np.where(np.isfinite(sim.cosine[iu]), sim.cosine[iu], -np.inf)
    best = int(np.argmax(values))
    a, b = iu[0][best], iu[1][best]
    median = float(np.median(pairs))
    text = (f"Across layer {layer}'s `{slot}`, the median cosine between two experts is **{median:.3f}**; the most "
            f"alike are experts **{a}** and **{b}** ({sim.cosine[a, b]:.3f}). ")
    if median > 0.5:
        text += ("The experts are close copies of one another, as when a MoE is upcycled from one dense MLP and "
                 "trained briefly: they have not yet specialised.")
    elif abs(median) < 0.05:
        text += "The experts are nearly orthogonal: each learned (or started from) its own weights."
    else:
        text += "The experts share part of their weights (a common starting point they have moved away from)."
    if sim.rows_used < sim.rows_total:
        text += f" Compared on {sim.rows_used:,} evenly spaced of {sim.rows_total:,} input rows (memory bound)."
    return text
