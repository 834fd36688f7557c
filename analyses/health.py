"""A reading over every tensor's statistics: non-finite values, outliers, dead tensors."""
from __future__ import annotations

from typing import Sequence

HEAVY_TAILS = 20.0  # excess kurtosis above this: a few huge weights dominate the tensor


def reading(stats: Sequence) -> str:
    """Markdown summary of `analyses.tensor_stats.TensorStats` for all tensors of a model."""
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
