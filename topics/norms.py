"""Norm gains: every norm's elementwise scale over the residual stream, and the dimensions they single out.

    result = compute(model)          # gains of every d_model-wide norm, in depth order, and outlier dimensions
    print(reading(result))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import schema
from analyses.norms import OUTLIER_Z, OutlierDim, outlier_dimensions, robust_z, signed_robust_z  # noqa: F401 - robust_z: callers

# Norms over the residual stream, in the order they act within a layer (the schema's meaning of each).
LAYER_NORMS = ("ln1.w", "ln1_post.w", "ln2.w", "ln2_post.w")
BEFORE_LAYERS, AFTER_LAYERS = ("embed.ln.w",), ("ln_final.w",)


@dataclass
class NormGains:
    names: list[str]  # schema names of the norms, in depth order
    gains: np.ndarray  # (n_norms, d_model) float32: the real scales (Gemma's stored w is read as 1 + w)
    outliers: list[OutlierDim]  # dimensions that are outliers in at least one norm, the most norms first
    d_model: int | None


def norm_names(model) -> list[str]:
    """The model's d_model-wide norm weights in depth order: embedding norm, each layer's, the final norm."""
    names = [n for n in BEFORE_LAYERS if model.has(n)]
    for layer in range(model.cfg.n_layers or 0):
        names += [n for s in LAYER_NORMS if model.has(n := schema.name(s, layer))]
    return names + [n for n in AFTER_LAYERS if model.has(n)]


def compute(model) -> NormGains:
    names = norm_names(model)
    width = model.cfg.d_model
    rows = [model.weight(n) for n in names]
    names = [n for n, r in zip(names, rows) if r.ndim == 1 and (width is None or r.shape[0] == width)]
    rows = [r for r in rows if r.ndim == 1 and (width is None or r.shape[0] == width)]
    gains = np.stack(rows).astype(np.float32) if rows else np.zeros((0, width or 0), np.float32)
    return NormGains(names, gains, outlier_dimensions(gains), width)


def labels(result: NormGains) -> list[str]:
    """Short row labels for charts: 'embed.ln', 'L0 ln1', ..., 'ln_final'."""
    out = []
    for written in result.names:
        key = schema.parse(written)
        short = key.slot.removesuffix(".w")
        out.append(short if key.layer is None else f"L{key.layer} {short}")
    return out


def z_scores(result: NormGains) -> np.ndarray:
    """(n_norms, d_model) signed robust z-scores of the gains (sign: above or below the norm's median)."""
    return np.clip(signed_robust_z(result.gains), -1e6, 1e6)  # inf (a departure from a constant row) drawn large


def reading(result: NormGains) -> str:
    n = len(result.names)
    if n == 0:
        return "This model has no norm weights over the residual stream in the schema (or no adapter maps them)."
    g = result.gains
    finite = g[np.isfinite(g)]
    if finite.size == 0:
        return f"⚠️ Every gain of the {n} norms over the {g.shape[1]}-wide residual stream is NaN or Inf."
    text = (f"**{n}** norms over the {g.shape[1]}-wide residual stream; their gains average "
            f"**{finite.mean():.3g}** (from {finite.min():.3g} to {finite.max():.3g}).")
    if not finite.any():
        text += " ⚠️ Every finite gain is zero: these norms erase the residual stream."
    bad = int((~np.isfinite(g)).sum())
    if bad:
        text += f" ⚠️ {bad:,} gains are NaN or Inf and are left out of the numbers."
    if not result.outliers:
        return text + f" No dimension's gain stands out (robust z > {OUTLIER_Z:g}) in any norm."
    top = result.outliers[0]
    text += (f" Dimension **{top.dim}** stands out in **{top.count} of {n}** norms (up to {top.max_z:.1f} robust "
             f"standard deviations; its mean gain {top.mean_gain:.3g}, the typical dimension's {top.median_gain:.3g}).")
    others = [f"{o.dim} ({o.count})" for o in result.outliers[1:6]]
    if others:
        text += " Others that stand out, with the number of norms: " + ", ".join(others) + "."
    if top.count >= max(2, n // 2):
        text += (" A dimension singled out by most norms is a known trait of trained transformers (outlier "
                 "dimensions, massive activations): it matters for quantization and pruning.")
    return text
