"""What a topic left out and why: a matrix with NaN or Inf values that a decomposition cannot use,
an all-zero matrix with no spectrum, and the sentence a reading and a page say about them.

    skipped = [Skipped("blocks.3.attn.W_Q", "holds 5 NaN (first at row 0, col 7)")]
    words(skipped)     # '1 matrix skipped: `blocks.3.attn.W_Q` holds 5 NaN (first at row 0, col 7).'
"""
from __future__ import annotations

from dataclasses import dataclass

from analyses import finite

SHOWN = 5  # skipped matrices named in a sentence; the rest are counted


@dataclass(frozen=True)
class Skipped:
    name: str  # the matrix: a schema name, a layer's W_QKV, or 'blocks.3.attn (heads)'
    reason: str  # 'holds 5 NaN (first at row 0, col 7)', 'all zero'
    layer: int | None = None  # the layer it belongs to, for per-layer topics


def words(skipped: list[Skipped], what: str = "matrix", verb: str = "skipped") -> str:
    """One sentence naming the first SHOWN skipped items and why; '' when nothing was skipped."""
    if not skipped:
        return ""
    noun = what if len(skipped) == 1 else ("matrices" if what == "matrix" else what + "s")
    listed = "; ".join(f"`{s.name}` {s.reason}" for s in skipped[:SHOWN])
    more = f"; and {len(skipped) - SHOWN} more" if len(skipped) > SHOWN else ""
    return f"⚠️ {len(skipped)} {noun} {verb}: {listed}{more}."


def records(skipped: list[Skipped]) -> list[dict]:
    """JSON-ready: [{name, reason, layer}, ...]."""
    return [{"name": s.name, "reason": s.reason, "layer": s.layer} for s in skipped]


def check(name: str, values, layer: int | None = None, degenerate_too: bool = True) -> Skipped | None:
    """The Skipped for a matrix a decomposition cannot use (NaN or Inf; with `degenerate_too`, all zero or
    constant, which has no variance to decompose); None when it can be used."""
    reason = finite.skip_reason(values) or (finite.degenerate(values) if degenerate_too else None)
    return Skipped(name, reason, layer) if reason else None
