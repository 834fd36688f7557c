"""Positional embeddings: a learned W_pos in numbers, a rotary model's frequencies, or what the model uses instead.

    result = compute(model)     # result.learned (W_pos), result.rotary (frequencies), or neither
    print(reading(result))      # words for every case: learned, rotary, rotary without its config, ALiBi, none

Pages zoom into W_pos with `window` and `dimensions`, which return only what a chart draws.
A W_pos with NaN or Inf is read on its finite values (and says so); an all-zero or constant one carries
no position information, and its reading says only that.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analyses import positional as pos
from topics import relative_position, vision

W_POS = "pos_embed.W_pos"
CELLS = 5000  # cells of a grid sent to a chart: Altair's row limit, as charts.MAX_ROWS


@dataclass
class Learned:
    """A learned W_pos [n_ctx, d_model]: its numbers, and the samples of it the charts draw."""
    summary: pos.PositionalSummary
    heatmap: pos.Grid  # W_pos, strided to at most CELLS cells
    extremes: np.ndarray  # (n_ctx, 3): the highest-, median- and lowest-variance dimensions over position
    cosine: pos.Grid  # cosine similarity between about sqrt(CELLS) evenly strided positions

    @property
    def extreme_dims(self) -> list[int]:
        s = self.summary
        return [s.highest_variance_dim, s.median_variance_dim, s.lowest_variance_dim]


@dataclass
class Positional:
    scheme: str  # the config's positional scheme: learned | rotary | alibi | none | unknown
    learned: Learned | None = None  # when the model has a learned W_pos
    rotary: pos.RotaryFrequencies | None = None  # rotary models whose config gives the rotary dimension and base
    vision: vision.Vision | None = None  # a vision transformer's patch grid, filters and class token
    relative: list[relative_position.RelativeBias] | None = None  # T5's relative position bias, per stack or layer


def window(model, start: int, stop: int) -> pos.Grid:
    """Positions [start, stop) of W_pos, strided to at most CELLS cells (row indices relative to start)."""
    return pos.grid(model.weight(W_POS)[start:stop], CELLS)


def dimensions(model, dims: tuple[int, ...]) -> np.ndarray:
    """(n_ctx, len(dims)): column i is dimension dims[i] of W_pos over every position."""
    return np.ascontiguousarray(model.weight(W_POS)[:, list(dims)])


def _cosine(w_pos: np.ndarray) -> pos.Grid:
    # only the rows a chart shows are compared: the full n_ctx × n_ctx matrix is never built
    keep = pos.strided_indices(w_pos.shape[0], int(CELLS ** 0.5))
    n_ctx = w_pos.shape[0]
    return pos.Grid(pos.cosine_similarity(w_pos[keep]), keep, keep, (n_ctx, n_ctx))


def compute(model) -> Positional:
    """W_pos summarised when the model has one; otherwise the rotary frequencies when the config gives them."""
    c = model.cfg
    if model.has(W_POS):
        w_pos = model.weight(W_POS)  # (n_ctx, d_model)
        s = pos.summarize(w_pos)
        extremes = w_pos[:, [s.highest_variance_dim, s.median_variance_dim, s.lowest_variance_dim]]
        return Positional(c.positional, Learned(s, pos.grid(w_pos, CELLS), extremes, _cosine(w_pos)),
                          vision=vision.compute(model))
    if c.positional == "rotary" and c.rotary_dim and c.rotary_base:
        return Positional(c.positional, rotary=pos.rotary_frequencies(c.rotary_dim, c.rotary_base, c.n_ctx))
    return Positional(c.positional, vision=vision.compute(model), relative=relative_position.compute(model) or None)


def reading(result: Positional) -> str:
    """What the positions look like (learned, rotary, a relative bias), or why there is nothing to show."""
    if result.relative:
        return relative_position.reading(result.relative)
    if result.learned is not None:
        return _learned_reading(result.learned.summary)
    if result.rotary is not None:
        return _rotary_reading(result.rotary)
    if result.scheme == "rotary":
        return ("This model uses rotary position embeddings, but its config does not give the rotary "
                "dimension and base, so the frequencies cannot be shown.")
    if result.scheme == "alibi":
        return ("This model has no positional embedding matrix: ALiBi adds a fixed, per-head linear penalty "
                "on distance to the attention scores instead.")
    return f"This model has no learned positional embedding matrix (positional scheme: {result.scheme})."


def broken_words(s: pos.PositionalSummary) -> str:
    """The warning about W_pos's NaN/Inf or lack of spread; '' for a healthy W_pos."""
    bad = s.nonfinite
    # W_pos is [position, dimension]: its first bad value named by those axes, not 'row, col'
    bad_words = bad.words().replace(bad.where(), f"position {bad.first[0]}, dimension {bad.first[1]}") if bad else ""
    if s.degenerate:
        besides = f" besides {bad_words}" if bad else ""
        return (f"⚠️ `{W_POS}` is {s.degenerate}{besides}: every position gets the same vector, so it carries "
                "no position information.")
    if bad is None:
        return ""
    rows = int(np.isfinite(s.adjacent_correlation).sum())
    dims = int(np.isfinite(s.periods).sum())
    return (f"⚠️ `{W_POS}` holds {bad_words}: "
            f"the numbers below use its finite values only (variances over each dimension's finite values, "
            f"{rows} of {s.n_ctx - 1} neighbouring pairs correlated, periods of the {dims} of {s.d_model} "
            "dimensions with no NaN or Inf).")


def _one_position_words(s: pos.PositionalSummary) -> str:
    """When one position makes the highest variance: that value, the variance without it, and the dimension
    that varies most by a robust spread instead; else ''."""
    peak, high = s.peak, s.highest_variance_dim
    if peak is None or not peak.dominates(float(s.variances[high])):
        return ""
    text = (f"Most of dimension {high}'s variance is one value: **W_pos[{peak.position}, {high}] = {peak.value:.4g}** "
            f"(without position {peak.position} its variance is {peak.variance_without:.3g}). ")
    if s.highest_spread_dim is not None and s.robust_spread is not None:
        text += (f"By a spread one value cannot move (1.4826 x the median absolute deviation), dimension "
                 f"**{s.highest_spread_dim}** varies most ({s.robust_spread[s.highest_spread_dim]:.3g}). ")
    return text


def _learned_reading(s: pos.PositionalSummary) -> str:
    warning = broken_words(s)
    if s.degenerate:
        return warning
    v = s.variances
    r = s.adjacent_correlation
    if not np.isfinite(v).any() or not np.isfinite(r).any():
        return warning + " Too few finite values remain to describe the positions."
    worst = int(np.nanargmin(r))
    periodic = s.peak_power >= pos.STRONG_PEAK  # NaN (a dimension without a spectrum) compares False
    text = (warning + " " if warning else "") + (f"Dimension **{s.highest_variance_dim}** varies most over the {s.n_ctx} positions "
            f"(variance {v[s.highest_variance_dim]:.3g}), **{s.median_variance_dim}** is the median "
            f"({v[s.median_variance_dim]:.3g}) and **{s.lowest_variance_dim}** the least "
            f"({v[s.lowest_variance_dim]:.3g}). Neighbouring positions correlate at r = **{np.nanmedian(r):.2f}** "
            f"(median); the weakest link is position {worst} → {worst + 1} (r = {r[worst]:.2f}). ")
    text += _one_position_words(s)
    # one cycle over the whole context is a slow drift rather than a repeating wave: counted apart
    repeating = periodic & (s.periods <= s.n_ctx / 2)
    if periodic.any():
        text += (f"**{int(periodic.sum())}** of {s.d_model} dimensions put at least {pos.STRONG_PEAK:.0%} of "
                 f"their power at one frequency, i.e. look like a sine wave; {int(repeating.sum())} of them "
                 f"repeat at least twice within the context")
        if repeating.any():
            top = int(np.argmax(np.where(repeating, s.peak_power, -1)))
            text += (f", most cleanly dimension {top} (period {s.periods[top]:.1f} positions, "
                     f"{s.peak_power[top]:.0%} of its power)")
        text += "."
    elif np.isfinite(s.peak_power).any():
        text += (f"No dimension puts {pos.STRONG_PEAK:.0%} of its power at one frequency (the most is "
                 f"{np.nanmax(s.peak_power):.0%}), so none is sine-like.")
    else:
        text += "No dimension is free of NaN and Inf, so none has a spectrum to judge periods by."
    return text


def _rotary_reading(f: pos.RotaryFrequencies) -> str:
    text = (f"Positions enter through rotary embeddings: {len(f.theta)} pairs of each head's first "
            f"{f.rotary_dim} dimensions rotate by θᵢ = {f.base:g}^(−2i/{f.rotary_dim}) radians per position, "
            f"with wavelengths from **{f.wavelength.min():.1f}** to **{f.wavelength.max():,.0f}** positions.")
    if f.n_ctx:
        longer = int((f.wavelength > f.n_ctx).sum())
        text += (f" {longer} of the {len(f.theta)} pairs turn less than once across the {f.n_ctx:,}-position "
                 f"context, so they carry only coarse position.")
    return text
