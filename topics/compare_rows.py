"""Rows of a comparison (topics/compare.py) for report.json and the Compare page's tables and maps: one per
tensor, head and expert; per head (or expert) for the layer x head maps; alpha and stable rank of A beside B."""
from __future__ import annotations

from adapters import schema
from adapters.views import RAW
from topics.compare import Comparison, snr_db, unit_kind


def records(result: Comparison) -> list[dict]:
    """One row per shared tensor, and per head (per-head slots) and per expert (stacked MoE slots): {tensor,
    layer, slot, head, expert (both None for the whole matrix), rel_change, cosine, max_abs, rank_99,
    effective_rank, top1_energy, snr_db, nonfinite}."""
    rows = []
    for d in [*result.diffs, *result.heads, *result.experts]:
        raw = d.name.startswith(RAW)
        key = None if raw else schema.parse(d.name)
        unit = unit_kind(d.name) if d.head is not None else None
        rows.append({"tensor": d.name, "layer": key.layer if key else None, "slot": key.slot if key else None,
                     "head": d.head if unit == "head" else None, "expert": d.head if unit == "expert" else None,
                     "rel_change": d.rel_change, "cosine": d.cosine, "max_abs": d.max_abs,
                     "rank_99": d.rank_99, "effective_rank": d.delta_effective_rank,
                     "top1_energy": d.delta_top1_energy, "snr_db": snr_db(d), "nonfinite": d.nonfinite})
    return rows


def head_grid(result: Comparison, experts: bool = False) -> list[dict]:
    """{layer, slot, head, rel_change, snr_db} per measured head (or expert, in `head`): the layer x head (or
    layer x expert) heatmaps' data."""
    return [{"layer": schema.parse(h.name).layer, "slot": schema.parse(h.name).slot, "head": h.head,
             "rel_change": h.rel_change, "snr_db": snr_db(h)}
            for h in (result.experts if experts else result.heads) if h.measured]


def spectral_pairs(spectra_a, spectra_b) -> list[dict]:
    """alpha and stable rank of A and B side by side, per matrix and per head matrix both spectral scans
    measured (topics.spectral results): {level, layer, slot, head, name, alpha_a, alpha_b, ...}."""
    def key(r):
        return r["level"], r["layer"], r["slot"], r["head"]

    b_rows = {key(r): r for r in [*spectra_b.slots, *spectra_b.heads]}
    pairs = []
    for r in [*spectra_a.slots, *spectra_a.heads]:
        other = b_rows.get(key(r))
        if other is None:
            continue
        pairs.append({"level": r["level"], "layer": r["layer"], "slot": r["slot"], "head": r["head"],
                      "name": r["name"], "alpha_a": r["alpha"], "alpha_b": other["alpha"],
                      "stable_rank_a": r["stable_rank"], "stable_rank_b": other["stable_rank"]})
    return pairs
