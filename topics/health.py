"""Tensor health: every stored tensor's moments, extremes and NaN/Inf counts, from one streaming pass.

    result = compute(model)          # topics.scan reads each tensor once, in chunks
    print(reading(result))           # non-finite values, constant tensors, heavy tails, the largest weight
    print(broken_reading(result))    # the "broken checkpoint" view: which tensors, how many bad values, where

`compute` finds where the first NaN or Inf of a tensor is with a second pass over that tensor only
(the scan counts them but does not keep positions), so a healthy model costs one pass.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from analyses import finite
from analyses.tensor_stats import TensorStats
from topics.executor import LOCAL, Executor, Progress, opened, quiet
from topics.scan import COMPILED, scan, scan_path, tensor_scan

HEAVY_TAILS = 20.0  # excess kurtosis above this: a few huge weights dominate the tensor


BROKEN_SHOWN = 20  # broken tensors listed in the reading; the table on the page lists them all
_CHUNK = 1 << 20  # values per read of the first-position pass
_INTEGER = re.compile(r"(U?INT|I|U)\d+|BOOL", re.IGNORECASE)  # ids, counts and masks (not GGUF's IQ2_XXS)


@dataclass(frozen=True)
class Broken:
    """A stored tensor that is broken: NaN or Inf values, or a matrix that is all zero or constant."""
    name: str
    shape: tuple[int, ...]
    nan: int
    inf: int
    first: tuple[int, ...] | None  # index of the first NaN or Inf in the stored tensor; None when there is none
    problem: str  # '3 NaN (first at row 0, col 7)', 'all zero', 'constant (every value 0.5)'


@dataclass
class Health:
    stats: list[TensorStats]  # one per stored tensor, checkpoint order (tied aliases are not stored)
    broken: list[Broken] = field(default_factory=list)  # tensors with NaN or Inf, then all-zero or constant matrices
    where: dict[str, tuple[str, int | None]] = field(default_factory=dict)  # name -> (category, layer)


def compute(model, progress: Progress = quiet, executor: Executor = LOCAL) -> Health:
    """Every stored tensor's statistics; `progress(fraction, text)` after each tensor (it may raise to stop).
    A remote executor (Ray) scans one tensor per task, each worker reading that tensor's bytes itself."""
    if executor.remote:
        names, target = model.checkpoint.names(), executor.handle(model)
        stats = executor.map(((_remote_scan, (target, name)) for name in names), len(names), progress, "tensors")
    else:
        stats = scan(model, progress=lambda done, total, name: progress(done / total, f"{done}/{total}: {name}"))
    return Health(stats, find_broken(model, stats), {t.name: (t.category, t.layer) for t in model.tensors()})


def is_weight(result: Health, s: TensorStats) -> bool:
    """Whether a tensor holds learned weights: not a buffer (position ids, masks) and not of an integer type."""
    return result.where.get(s.name, ("", None))[0] != "buffer" and not _INTEGER.fullmatch(s.dtype)


def chart_rows(result: Health) -> list[dict]:
    """One row per weight tensor with finite values: {tensor, category, layer, max_abs, kurtosis} (layer None
    outside the layers); buffers left out, as in the reading."""
    return [{"tensor": s.name, "category": result.where.get(s.name, ("other", None))[0],
             "layer": result.where.get(s.name, ("other", None))[1], "max_abs": max(abs(s.min), abs(s.max)),
             "kurtosis": s.kurtosis} for s in result.stats if s.max is not None and is_weight(result, s)]


def _remote_scan(target, name: str):
    """One stored tensor's statistics in a worker that opens the model (a ModelRef), by the path `scan` takes."""
    checkpoint = opened(target).checkpoint
    return tensor_scan(checkpoint, name, compiled=scan_path(checkpoint) == COMPILED)


def find_broken(model, stats: list[TensorStats]) -> list[Broken]:
    """The broken tensors among a scan's `stats`: NaN or Inf (located by a pass over those tensors only),
    then matrices (2-D and up) with every value equal. Constant vectors are left out: norm weights of 1
    and zero biases are how untrained vectors look."""
    out = []
    for s in stats:
        if s.nan or s.inf:
            bad = first_nonfinite(model.checkpoint, s.name)
            first = bad.first if bad else None
            out.append(Broken(s.name, tuple(s.shape), s.nan, s.inf, first,
                              bad.words() if bad else f"{s.nan:,} NaN and {s.inf:,} Inf"))
    for s in stats:
        if len(s.shape) >= 2 and s.count > 1 and s.nan + s.inf == 0 and s.min == s.max:
            what = "all zero" if s.min == 0 else f"constant (every value {s.min:.4g})"
            out.append(Broken(s.name, tuple(s.shape), 0, 0, None, what))
    return out


def first_nonfinite(checkpoint, name: str) -> finite.NonFinite | None:
    """Counts and the first position of one stored tensor's NaN and Inf, read in chunks where the format allows."""
    shape = tuple(checkpoint.entries[name].shape)
    if not hasattr(checkpoint, "iter_chunks"):
        return finite.nonfinite(checkpoint.read(name).reshape(shape))
    parts, offset = [], 0
    for chunk in checkpoint.iter_chunks(name, _CHUNK):  # in order, so offsets are positions
        parts.append((offset, finite.nonfinite(chunk)))
        offset += chunk.size
    return finite.merge(parts, shape)


def broken_rows(result: Health) -> list[dict]:
    """One JSON-ready row per broken tensor: {tensor, shape, NaN, Inf, first bad value at, problem}."""
    return [{"tensor": b.name, "shape": " x ".join(map(str, b.shape)), "NaN": b.nan, "Inf": b.inf,
             "first bad value at": ", ".join(map(str, b.first)) if b.first is not None else "",
             "problem": b.problem} for b in result.broken]


def broken_reading(result: Health) -> str:
    """The "broken checkpoint" view in words: which tensors hold NaN or Inf and where, which matrices are
    all zero or constant; '' for a healthy checkpoint."""
    if not result.broken:
        return ""
    bad = [b for b in result.broken if b.nan or b.inf]
    flat = [b for b in result.broken if not (b.nan or b.inf)]
    parts = []
    if bad:
        values = sum(b.nan + b.inf for b in bad)
        parts.append(f"**{len(bad)} tensor{'s' * (len(bad) != 1)} hold{'s' * (len(bad) == 1)} {values:,} NaN or Inf "
                     f"values**: " + "; ".join(f"`{b.name}` {b.problem}" for b in bad[:BROKEN_SHOWN])
                     + ("; …" if len(bad) > BROKEN_SHOWN else "") + ".")
    if flat:
        parts.append(f"**{len(flat)} matri{'ces' if len(flat) != 1 else 'x'} with no spread**: "
                     + "; ".join(f"`{b.name}` is {b.problem}" for b in flat[:BROKEN_SHOWN])
                     + ("; …" if len(flat) > BROKEN_SHOWN else "") + ".")
    return ("⚠️ **This checkpoint looks broken.** " + " ".join(parts) + " Pages skip the matrices they cannot use "
            "and say so; statistics use the finite values only.")


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
    weights = [s for s in stats if is_weight(result, s)]
    constant = [s for s in weights if s.count > 1 and s.std == 0]
    if constant:
        text.append(f"{len(constant)} tensor{'s are' if len(constant) != 1 else ' is'} constant (std 0), "
                    f"e.g. `{constant[0].name}`: "
                    "untrained or default-initialised (norm weights of 1, zero biases).")
    heavy = sorted((s for s in weights if s.kurtosis is not None and s.kurtosis > HEAVY_TAILS),
                   key=lambda s: -s.kurtosis)
    if heavy:
        text.append(f"{len(heavy)} tensors have very heavy tails (excess kurtosis > {HEAVY_TAILS:g}); the "
                    f"heaviest is `{heavy[0].name}` ({heavy[0].kurtosis:.0f}).")
    finite = [s for s in weights if s.max is not None]
    if finite:
        peak = max(finite, key=lambda s: max(abs(s.min), abs(s.max)))
        text.append(f"The largest |weight| is {max(abs(peak.min), abs(peak.max)):.4g}, in `{peak.name}`.")
    buffers = [s.name for s in stats if not is_weight(result, s)]
    if buffers:
        text.append(f"Left out as not weights: {', '.join(f'`{b}`' for b in buffers[:5])}"
                    + (f" and {len(buffers) - 5} more" if len(buffers) > 5 else "") + " (buffers or integer tensors).")
    return " ".join(text)
