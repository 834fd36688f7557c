"""Tensor health: every stored tensor's moments, extremes and NaN/Inf counts, from one streaming pass.

    result = compute(model)          # topics.scan reads each tensor once, in chunks
    print(reading(result))           # non-finite values, constant tensors, heavy tails, the largest weight
"""
from __future__ import annotations

from dataclasses import dataclass

from analyses.tensor_stats import TensorStats
from topics.executor import Progress, quiet
from topics.scan import scan

HEAVY_TAILS = 20.0  # excess kurtosis above this: a few huge weights dominate the tensor


@dataclass
class Health:
    stats: list[TensorStats]  # one per stored tensor, checkpoint order (tied aliases are not stored)


def compute(model, progress: Progress = quiet) -> Health:
    """Every stored tensor's statistics; `progress(fraction, text)` after each tensor (it may raise to stop)."""
    return Health(scan(model, progress=lambda done, total, name: progress(done / total, f"{done}/{total}: {name}")))


def reading(result: Health) -> str:
    """Markdown: NaN or Inf, constant tensors, the heaviest tails and the largest |weight|."""
    stats = result.stats
    if not stats:
        return "The checkpoint holds no tensors."
    bad = [s for s in stats if s.nan or s.inf]
    text = []
    if bad:
        worst = max(bad, key=lambda s: s.nan + s.inf)
        text.append(f"⚠️ **{len(bad)} tensors hold NaN or Inf values** (the worst, `{worst.name}`, has "
                    f"{worst.nan:,} NaN and {worst.inf:,} Inf); statistics below use the finite values only.")
    else:
        text.append(f"All {len(stats)} tensors are finite (no NaN or Inf).")
    constant = [s for s in stats if s.count > 1 and s.std == 0]
    if constant:
        text.append(f"{len(constant)} tensors are constant (std 0), e.g. `{constant[0].name}`: "
                    "untrained or default-initialised (norm weights of 1, zero biases).")
    heavy = sorted((s for s in stats if s.kurtosis is not None and s.kurtosis > HEAVY_TAILS),
                   key=lambda s: -s.kurtosis)
    if heavy:
        text.append(f"{len(heavy)} tensors have very heavy tails (excess kurtosis > {HEAVY_TAILS:g}); the "
                    f"heaviest is `{heavy[0].name}` ({heavy[0].kurtosis:.0f}).")
    finite = [s for s in stats if s.max is not None]
    if finite:
        peak = max(finite, key=lambda s: max(abs(s.min), abs(s.max)))
        text.append(f"The largest |weight| is {max(abs(peak.min), abs(peak.max)):.4g}, in `{peak.name}`.")
    return " ".join(text)
