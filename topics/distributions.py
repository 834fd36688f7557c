"""Weight distributions: how far a matrix's values are from a normal, and how that changes by layer.

    one = describe(model, "embed.W_E")                 # moments, KS test and histogram of one matrix
    result = compute(model, slot="attn.W_QKV")         # the same for every layer that has the slot
    print(reading(result)); rows(result)               # words, and one JSON-ready row per layer
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from adapters import schema
from adapters.views import QKV, RAW, matrix, matrix_names
from analyses import distribution as dist
from topics.layers import matrix_slots, missing, slot_layers

BINS = 200  # histogram bins: counted here, so only the counts reach a chart


@dataclass
class Described:
    name: str  # the matrix: a schema name, a layer's derived W_QKV or a 'raw:' tensor
    stats: dist.DistributionStats
    histogram: dist.Histogram


def describe(model, name: str) -> Described:
    """Moments, the KS distance from the fitted normal, and a histogram of one matrix's values."""
    values = matrix(model, name).values
    return Described(name, dist.describe(values), dist.histogram(values, bins=BINS))


@dataclass
class Distributions:
    slot: str
    by_layer: dict[int, Described]  # every layer that has the slot, ascending; empty when none has it


def compute(model, slot: str = QKV) -> Distributions:
    """`describe` of the slot's matrix in every layer that has it."""
    return Distributions(slot, {l: describe(model, schema.name(slot, l)) for l in slot_layers(model, slot)})


def choices(model) -> list[str]:
    """What can be described: per-layer matrix slots (W_QKV first; pick a layer with compute's result),
    then the matrices outside the layers, then raw checkpoint tensors ('raw:' names)."""
    names = matrix_names(model)
    outside = [n for n in names if not n.startswith(RAW) and schema.parse(n).layer is None]
    return matrix_slots(model) + outside + [n for n in names if n.startswith(RAW)]


def rows(result: Distributions) -> list[dict]:
    """One JSON-ready row per layer: {layer, slot, mean, std, skew, kurtosis, ks_statistic, ks_pvalue, nan, inf}
    (the numbers describe the finite values; nan and inf count the others)."""
    keep = ("mean", "std", "skew", "kurtosis", "ks_statistic", "ks_pvalue", "nan", "inf")
    return [{"layer": int(l), "slot": result.slot, **{k: d.stats.as_dict()[k] for k in keep}}
            for l, d in sorted(result.by_layer.items())]


def p_value(p: float) -> str:
    """A p-value as a reader takes it in: 'p = 0.031', 'p = 1.29e-05', 'p < 1e-300' (it underflowed)."""
    if not np.isfinite(p):
        return "p undefined"
    if p == 0:
        return "p < 1e-300"
    return f"p = {p:.3f}" if p >= 1e-3 else f"p = {p:.2e}"


def where(at: tuple[int, ...]) -> str:
    """'row 3, column 7' for a matrix index; 'index 5' for a vector's."""
    return f"row {at[0]}, column {at[1]}" if len(at) == 2 else "index " + ", ".join(map(str, at))


def outlier_words(s: dist.DistributionStats) -> str:
    """'one outlier (excess kurtosis 0.02 without it, 9.7e+04 with it): **12.5 at row 3,
    column 7**, 623 robust stds from the median 0.0001' when one value does, '' otherwise."""
    if not s.one_value_dominates:
        return ""
    z = f"{s.robust_z:,.0f} robust stds" if np.isfinite(s.robust_z) else "infinitely many robust stds"
    return (f"one outlier (excess kurtosis {s.kurtosis_without_extreme:.2f} without it, "
            f"{s.kurtosis:.3g} with it): **{s.extreme:.4g} at {where(s.extreme_at)}**, {z} from the median "
            f"{s.median:.3g}")


def spread_words(s: dist.DistributionStats) -> str:
    """The robust spread beside the std when outliers inflate the std by more than half, else ''."""
    if not (np.isfinite(s.robust_std) and s.robust_std > 0 and s.std > 1.5 * s.robust_std):
        return ""
    return (f" The std ({s.std:.3g}) is inflated by the extremes: the robust spread, 1.4826 x the median "
            f"absolute deviation, is **{s.robust_std:.3g}**.")


def shape_words(s: dist.DistributionStats) -> str:
    """'near-normal with heavier tails (excess kurtosis 1.8)', from the KS distance, kurtosis and skew;
    when one value makes the tails, that value and the kurtosis without it instead."""
    if s.n == 0:
        return "without a single finite value"
    if not np.isfinite(s.kurtosis):
        return "constant (every value equal)"
    base = "near-normal" if s.ks_statistic < 0.05 else "clearly not normal"
    if s.one_value_dominates:  # the KS base is moot: the fitted normal's std carries the outlier too
        rest = ("normal-like" if abs(s.kurtosis_without_extreme) <= 0.5 else
                f"{'heavier' if s.kurtosis_without_extreme > 0 else 'lighter'}-tailed than a normal")
        return f"{rest} apart from {outlier_words(s)}"
    parts = []
    if s.kurtosis > 0.5:
        parts.append(f"heavier tails (excess kurtosis {s.kurtosis:.1f})")
    elif s.kurtosis < -0.5:
        parts.append(f"lighter tails (excess kurtosis {s.kurtosis:.1f})")
    if abs(s.skew) > 0.5:
        parts.append(f"a longer {'right' if s.skew > 0 else 'left'} tail (skewness {s.skew:.2f})")
    if not parts:
        return f"{base}, with normal-like tails (excess kurtosis {s.kurtosis:.2f}) and little skew ({s.skew:.2f})"
    return f"{base} with " + " and ".join(parts)


def nonfinite_words(one: Described) -> str:
    """'⚠️ `blocks.0.attn.W_QKV` holds 3 NaN and 2 Inf, left out of every number below. ' or ''."""
    s = one.stats
    if not (s.nan or s.inf):
        return ""
    return (f"⚠️ `{one.name}` holds {s.nan:,} NaN and {s.inf:,} Inf values, left out of every number here "
            "(the health page shows where they are). ")


def matrix_reading(one: Described) -> str:
    """A markdown paragraph reading one matrix's numbers."""
    s = one.stats
    if s.n == 0:
        return nonfinite_words(one) + f"`{one.name}` has no finite value to describe."
    test_on = "all values" if s.ks_n == s.n else f"a random subsample of {s.ks_n:,} of the {s.n:,} values"
    shape = shape_words(s)
    text = nonfinite_words(one) + (f"`{one.name}`: {s.n:,} values, mean {s.mean:.3g}, std {s.std:.3g}. "
            f"{shape[0].upper() + shape[1:]}.{spread_words(s)} "
            f"The largest gap between its cumulative distribution and the fitted normal's is "
            f"KS D = **{s.ks_statistic:.3f}** ({p_value(s.ks_pvalue)}, on {test_on}).")
    if not s.one_value_dominates and np.isfinite(s.robust_z) and s.robust_z > 10:
        text += (f" Its most extreme value is {s.extreme:.4g} at {where(s.extreme_at)} "
                 f"({s.robust_z:,.0f} robust stds from the median).")
    if s.ks_pvalue < 0.05 and s.ks_statistic < 0.05:
        text += " With this many values even a small gap is significant, so read D as the size of the difference."
    return text


def ks_note(s: dist.DistributionStats) -> str:
    """How far to trust the KS p-value, and which values the test ran on."""
    text = ("The KS p-value treats the fitted normal as given in advance; fitted to the same values it is "
            "conservative (the Lilliefors correction would make it smaller).")
    if s.ks_n != s.n:
        text += (f" The KS test ran on a random subsample of {s.ks_n:,} values (seed {dist.KS_SEED}); "
                 f"the moments use all {s.n:,}.")
    return text


def layers_reading(result: Distributions) -> str:
    """Which layer has the heaviest tails and the widest spread."""
    found = rows(result)
    if not found:
        return missing(result.slot)
    tails = max(found, key=lambda r: r["kurtosis"] if np.isfinite(r["kurtosis"]) else -np.inf)
    wide = max(found, key=lambda r: r["std"] if np.isfinite(r["std"]) else -np.inf)
    bad = [r for r in found if r["nan"] or r["inf"]]
    warning = (f"⚠️ {len(bad)} of {len(found)} layers hold NaN or Inf values (layers "
               f"{', '.join(str(r['layer']) for r in bad)}); their numbers use the finite values only. ") if bad else ""
    text = warning + (f"Across {len(found)} layers, the tails are heaviest in layer **{tails['layer']}** (excess kurtosis "
            f"{tails['kurtosis']:.2f}) and the spread is widest in layer **{wide['layer']}** (std {wide['std']:.3g}).")
    heaviest = result.by_layer[tails["layer"]].stats
    if heaviest.one_value_dominates:
        text += (f" Layer {tails['layer']}'s tails are one value's: {heaviest.extreme:.4g} at "
                 f"{where(heaviest.extreme_at)}; without it its excess kurtosis is "
                 f"{heaviest.kurtosis_without_extreme:.2f}.")
    return text


def reading(result: Distributions) -> str:
    """The first layer's matrix read in full, then how the layers compare."""
    if not result.by_layer:
        return missing(result.slot)
    return matrix_reading(result.by_layer[min(result.by_layer)]) + " " + layers_reading(result)
